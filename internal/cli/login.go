package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/discover"
	"github.com/burst-sh/burst/internal/pki"
)

func newLoginCmd() *cobra.Command {
	var tokenFile string
	c := &cobra.Command{
		Use:   "login URL[#sha256:HASH]",
		Short: "Use a burst server on another machine: check a credential and keep it (0600)",
		Long: `Log in to a burst server that runs on another machine (one started with
'burst server --listen HOST:PORT'). The credential is read from --token-file,
else BURST_TOKEN, else asked for (without echo on a terminal; one line of
stdin otherwise). It is checked with the server (GET /v1/whoami), then kept
with the server's URL and CA in $XDG_CONFIG_HOME/burst/credentials.json
(default ~/.config/burst; the file 0600, its directory 0700).

#sha256:HASH pins the server's CA by the hash 'burst server info' prints on
the server's host: the CA the server presents must have that hash, and is
kept, so that later commands trust it and nothing else. Without a pin the
server must have a certificate this machine trusts already (BURST_CA=FILE,
or the system's roots).

From then on every burst command uses that server, unless BURST_SERVER is
set: BURST_SERVER (with BURST_TOKEN) comes first, then the last login, then
the local server of $BURST_HOME. 'burst logout' forgets a login.`,
		Example: `  burst login https://lab.example.org:7780#sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  burst login https://10.0.0.5:7780#sha256:... --token-file ~/alice.token
  BURST_TOKEN=burst_u_... burst login https://lab.example.org:7780`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usage("burst login: give the server's URL, e.g. burst login https://HOST:7780#sha256:HASH (the line `burst server info` prints on the server)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			base, pin, err := client.SplitPin(args[0])
			if err != nil {
				return usage("%v", err)
			}
			u, err := url.Parse(base)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "" {
				return usage("%s: give the server's URL, https://HOST:PORT (as `burst server info` prints it)", args[0])
			}
			if u.Scheme == "http" && !client.Loopback(u.Hostname()) {
				return usage("%s: plain http:// would send the credential in clear: use https:// (a server listening beyond loopback serves TLS)", base)
			}
			cred, err := readCredential(c, tokenFile, base)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 30*time.Second)
			defer cancel()
			var ca []byte
			if pin != "" {
				if ca, err = pinnedCA(ctx, u.Host, u.Hostname(), pin); err != nil {
					return &ExitError{Code: 1, Msg: fmt.Sprintf("%s: %v%s", base, err, loopbackHint(base, err))}
				}
			} else if f := os.Getenv(client.CAEnv); f != "" && u.Scheme == "https" {
				if ca, err = os.ReadFile(f); err != nil {
					return usage("%s=%s: %v", client.CAEnv, f, errors.Unwrap(err))
				}
			}
			opts := []client.Option{client.WithRetry(client.Retry{})}
			if ca != nil {
				opts = append(opts, client.WithCA(ca))
			}
			cl, err := client.New(base, cred, opts...)
			if err != nil {
				return usage("%v", err)
			}
			who, err := cl.Whoami(ctx)
			var ae *client.Error
			if errors.As(err, &ae) && ae.Status == 401 {
				return &ExitError{Code: 1, Msg: fmt.Sprintf("%s refused this credential: ask the server's admin for yours (`burst user token NAME` on the server)", base)}
			}
			if err != nil {
				return err
			}
			logins, err := discover.ReadLogins()
			if err != nil {
				return usage("%v", err)
			}
			logins.Put(discover.Login{URL: base, CA: string(ca), Credential: cred, User: who.Name, At: time.Now().UTC()})
			if err := logins.Save(); err != nil {
				return err
			}
			path, _ := discover.LoginsFile()
			fmt.Fprintf(c.OutOrStdout(), "logged in to %s as %s (%s); kept in %s\n", base, who.Name, who.Kind, path)
			if os.Getenv("BURST_SERVER") != "" {
				fmt.Fprintf(c.ErrOrStderr(), "burst: BURST_SERVER is set, and commands use it first: unset it to use %s\n", base)
			}
			return nil
		},
	}
	c.Flags().StringVar(&tokenFile, "token-file", "", "read the credential from this file (else BURST_TOKEN, else it is asked for)")
	return c
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [URL]",
		Short: "Forget a login (the last one without URL)",
		Long: `Forget the credential and CA 'burst login' kept for URL (without URL, the
login commands use now). Commands then use the login before it, if any,
else the local server. The server is not told: the credential stays valid
there until its admin revokes it.`,
		Example: `  burst logout
  burst logout https://lab.example.org:7780`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			logins, err := discover.ReadLogins()
			if err != nil {
				return usage("%v", err)
			}
			var target string
			if len(args) == 1 {
				base, _, err := client.SplitPin(args[0])
				if err != nil {
					return usage("%v", err)
				}
				target = base
			} else if cur := logins.Current(); cur != nil {
				target = cur.URL
			} else {
				fmt.Fprintln(c.OutOrStdout(), "not logged in to any server")
				return nil
			}
			if !logins.Remove(target) {
				var known []string
				for _, s := range logins.Servers {
					known = append(known, s.URL)
				}
				if len(known) == 0 {
					return usage("not logged in to %s (nor to any server)", target)
				}
				return usage("not logged in to %s: logged in to %s", target, strings.Join(known, ", "))
			}
			if err := logins.Save(); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "logged out of %s\n", target)
			return nil
		},
	}
}

func newWhoamiCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "whoami",
		Short: "Show who the server takes you for, and your roles",
		Long: `Ask the server the CLI uses (BURST_SERVER, else the last 'burst login',
else the local server) who its credential stands for: a name, its kind
(admin: the home's own token; user; machine) and the roles it holds in each
project.`,
		Example: `  burst whoami
  burst whoami -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.Whoami, error) {
				return cl.Whoami(ctx)
			}, func(w io.Writer, who *client.Whoami) error {
				what := who.Kind
				if who.Admin && who.Kind != "admin" {
					what += ", admin"
				}
				fmt.Fprintf(w, "%s (%s)\n", who.Name, what)
				for _, g := range who.Grants {
					fmt.Fprintf(w, "  %-8s %s\n", g.Role, g.Project)
				}
				return nil
			})
		},
	}
	outFlag(c, &out)
	return c
}

// readCredential reads the credential to log in with: from file, else
// BURST_TOKEN, else asked for on the terminal (no echo) or read as one
// line of stdin.
func readCredential(c *cobra.Command, file, base string) (string, error) {
	var cred string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usage("--token-file: %v", errors.Unwrap(err))
		}
		cred = string(b)
	case os.Getenv("BURST_TOKEN") != "":
		cred = os.Getenv("BURST_TOKEN")
	case term.IsTerminal(int(os.Stdin.Fd())):
		fmt.Fprintf(c.ErrOrStderr(), "credential for %s: ", base)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.ErrOrStderr())
		if err != nil {
			return "", err
		}
		cred = string(b)
	default:
		line, err := bufio.NewReader(c.InOrStdin()).ReadString('\n')
		if err != nil && line == "" {
			return "", usage("no credential: pass --token-file F, set BURST_TOKEN, or give it on stdin")
		}
		cred = line
	}
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return "", usage("the credential is empty: pass --token-file F, set BURST_TOKEN, or type it when asked")
	}
	return cred, nil
}

// pinnedCA connects to hostport, checks that the server's chain holds the
// CA of hash pin and that its certificate verifies against it, and
// returns that CA (PEM).
func pinnedCA(ctx context.Context, hostport, serverName, pin string) ([]byte, error) {
	var found *x509.Certificate
	cfg, err := pki.Pinned(pin, serverName, &found)
	if err != nil {
		return nil, err
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) {
			return nil, errors.New("the server answers plain HTTP, not TLS: log in with http:// and no pin (on loopback only), or start it with --listen (beyond loopback) or --tls")
		}
		return nil, err
	}
	conn.Close()
	if found == nil {
		return nil, errors.New("the server's CA was not found in its chain")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: found.Raw}), nil
}

// serverIsLocal says whether the CLI talks to the local server of
// $BURST_HOME (whose files it may read directly): no BURST_SERVER and no
// login.
func serverIsLocal() bool {
	if os.Getenv("BURST_SERVER") != "" {
		return false
	}
	l, err := discover.ReadLogins()
	return err == nil && l.Current() == nil
}
