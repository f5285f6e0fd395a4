package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/pki"
	"github.com/burst-sh/burst/internal/server"
)

func newServerInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Print the local server's URL, its CA file and the CA's hash (what others log in with)",
		Long: `Print where the server of $BURST_HOME can be reached and how others trust
it: its URL, the file of the CA that signed its TLS certificate, the CA's
hash, and the 'burst login' command a person runs on another machine. Run it
on the server's host. Without a running server it prints the CA of
$BURST_HOME/tls, if there is one.`,
		Example: `  burst server info
  BURST_HOME=/srv/burst burst server info`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return serverInfo(c) },
	}
}

// serverInfo prints the local server's URL and CA (burst server info).
func serverInfo(c *cobra.Command) error {
	if os.Getenv("BURST_SERVER") != "" {
		return usage("BURST_SERVER is set: burst server info describes the local server of $BURST_HOME; run it on the server's host, or unset BURST_SERVER")
	}
	h, err := home.Resolve()
	if err != nil {
		return usage("%v", err)
	}
	w := c.OutOrStdout()
	token, _ := h.ReadToken()
	var info *client.Health
	if token != "" {
		cl, err := client.New("unix://"+h.Socket(), token, client.WithRetry(client.Retry{}))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(c.Context(), 5*time.Second)
		info, err = cl.Health(ctx)
		cancel()
		if err != nil {
			info = nil
		}
	}
	if info == nil {
		ca := pki.In(h.TLS()).CA
		cert, err := pki.ReadCert(ca)
		if err != nil {
			fmt.Fprintf(w, "no burst server runs for %s, and it has no CA yet: start one with `burst server --listen HOST:PORT`\n", h)
			return nil
		}
		fmt.Fprintf(w, "url      (no burst server runs for %s)\nca       %s\nca hash  %s\n", h, ca, pki.Hash(cert))
		return nil
	}
	if info.CAHash == "" && info.CA == "" {
		what := "plain HTTP: only this host reaches it"
		if !strings.HasPrefix(info.Addr, "https://") {
			fmt.Fprintf(w, "url      %s (%s; start the server with --listen HOST:PORT to serve TLS to other machines)\n", info.Addr, what)
			return nil
		}
		fmt.Fprintf(w, "url      %s\nca       (your own certificate, verified by the system's roots)\nlogin    burst login %s\n", info.Addr, info.Addr)
		return nil
	}
	fmt.Fprintf(w, "url      %s\nca       %s\nca hash  %s\nlogin    burst login %s#%s\n", info.Addr, info.CA, info.CAHash, info.Addr, info.CAHash)
	return nil
}

// checkTLSFlags checks the TLS flags of `burst server` against --listen.
func checkTLSFlags(listen string, t server.TLS) error {
	switch {
	case listen == "" && (t.Force || t.Cert != "" || t.Key != "" || len(t.SANs) > 0):
		return usage("--tls, --tls-cert, --tls-key and --tls-san apply to --listen: add --listen HOST:PORT (e.g. --listen 0.0.0.0:7780)")
	case (t.Cert == "") != (t.Key == ""):
		return usage("--tls-cert and --tls-key go together: give both (the certificate chain and its key, PEM)")
	case t.Cert != "" && len(t.SANs) > 0:
		return usage("--tls-san names what the server's own CA puts in its certificate: with --tls-cert, the names are your certificate's")
	}
	for _, s := range t.SANs {
		if err := pki.CheckSAN(s); err != nil {
			return usage("%v", err)
		}
	}
	return nil
}
