package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/atomicfile"
	"github.com/burst-sh/burst/internal/discover"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/pki"
)

// A joined agent keeps what it got for its join token in the file
// joinedFile of its own BURST_HOME (default ~/.burst/joined.json, 0600):
// per server, the machine name, cluster, credential and the CA it pinned.
// Run again with the same (now used) join URL, after a reboot, it finds
// its credential there and needs no token. --join-state names another
// file: a Slurm pilot's own, in the server's pilots directory.

// joinedFile is where an agent's home keeps its joins.
const joinedFile = "joined.json"

// joined is one server an agent joined.
type joined struct {
	Server     string `json:"server"` // https://HOST:PORT (http:// on loopback)
	Machine    string `json:"machine"`
	Cluster    string `json:"cluster"`
	Credential string `json:"credential"`
	CA         string `json:"ca,omitempty"` // PEM; "" for http://
	// TokenHash is the SHA-256 (hex) of the join token the credential
	// came for: a URL with another token joins anew ("" in files of
	// earlier versions: the saved credential serves).
	TokenHash string `json:"token_hash,omitempty"`
}

// joinURLFrom is the join URL of --join, or read from --join-file (a
// file, or - for stdin), or from $BURST_JOIN_URL (client.JoinURLEnv) when
// neither flag is given: the last two keep the token off the agent's
// command line, which ps shows every user of the machine. from names
// where it came from, for messages. The variable is dropped once read, so
// that no task of the agent inherits it.
func joinURLFrom(flag, file string, stdin io.Reader) (u, from string, err error) {
	env := os.Getenv(client.JoinURLEnv)
	os.Unsetenv(client.JoinURLEnv)
	switch {
	case flag != "" && file != "":
		return "", "", usage("--join and --join-file: give the join URL one way")
	case flag != "":
		return flag, "--join", nil
	case file == "":
		return strings.TrimSpace(env), client.JoinURLEnv, nil
	}
	var b []byte
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 64<<10))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", "", usage("--join-file: %v", err)
	}
	if u = strings.TrimSpace(string(b)); u == "" {
		return "", "", usage("--join-file %s is empty: it should hold the join URL that `burst join-token create` prints", file)
	}
	return u, "--join-file", nil
}

// joinStatePath is where the agent keeps its joins: --join-state, else
// joinedFile in its home. Pilots that share one BURST_HOME (a Slurm
// cluster's shared filesystem) each get their own, from the server.
func joinStatePath(h home.Home, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(string(h), joinedFile)
}

type joinedState struct {
	Servers []joined `json:"servers"`
}

// joinServer is this agent's credential for the server of join URL raw:
// the saved one, else one it joins for now (asking for the name machine)
// and saves in path.
//
// saved says the credential is the saved one. A URL with another token
// than the saved credential's (a machine stopped, revoked or moved to
// another cluster joins anew) replaces that server's entry.
func joinServer(ctx context.Context, path, raw, machine string, stderr io.Writer) (*joined, bool, error) {
	ju, err := client.ParseJoinURL(raw)
	if err != nil {
		return nil, false, usage("--join: %v", err)
	}
	st, err := readJoined(path)
	if err != nil {
		return nil, false, err
	}
	hash := tokenHash(ju.Token)
	for i := range st.Servers {
		if s := st.Servers[i]; s.Server == ju.Server && (s.TokenHash == "" || s.TokenHash == hash) {
			return &st.Servers[i], true, nil
		}
	}
	// The pin rides on the URL: the client trusts exactly that CA.
	base := ju.Server
	if ju.Pin != "" {
		base += "#" + ju.Pin
	}
	cl, err := client.New(base, "", client.WithRetry(client.Retry{}))
	if err != nil {
		return nil, false, usage("--join: %v", err)
	}
	got, err := cl.Join(ctx, &client.JoinRequest{Token: ju.Token, Machine: machine})
	if err != nil && neverConnected(err) {
		// Said at once: the tries below are silent for 2 minutes.
		fmt.Fprintf(stderr, "burst: %s does not answer (%v)%s; trying again for 2 minutes\n", ju.Server, dialCause(err), loopbackHint(ju.Server, err))
	}
	// A machine just started may not reach the server yet (its network
	// coming up): a connection that was never made sent nothing, so the
	// one-time token is unused and the join is tried again, for 2 minutes.
	for wait, until := time.Second, time.Now().Add(2*time.Minute); err != nil && neverConnected(err) && time.Now().Before(until); wait = min(2*wait, 10*time.Second) {
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(wait):
		}
		got, err = cl.Join(ctx, &client.JoinRequest{Token: ju.Token, Machine: machine})
	}
	if err != nil {
		var ae *client.Error
		switch {
		case errors.Is(err, pki.ErrPinMismatch):
			return nil, false, &ExitError{Code: 1, Msg: "--join refused the server " + ju.Server + ": " + pinMessage(err)}
		case errors.As(err, &ae):
			return nil, false, &ExitError{Code: 1, Msg: "the server refused the join token: " + ae.Message}
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, ju.Server) { // the HTTP client's errors name it already
			msg = ju.Server + ": " + msg
		}
		return nil, false, &ExitError{Code: 1, Msg: "join " + msg + loopbackHint(ju.Server, err)}
	}
	j := joined{Server: ju.Server, Machine: got.Machine, Cluster: got.Cluster, Credential: got.Credential}
	if ju.Pin != "" {
		// Keep the CA the handshake verified by its hash: what the server
		// sends in the body must be that one.
		ca, err := pki.ParseCert([]byte(got.CA))
		if err != nil || pki.Hash(ca) != ju.Pin {
			return nil, false, &ExitError{Code: 1, Msg: fmt.Sprintf("join %s: the CA the server sent is not the one pinned (%s)", ju.Server, ju.Pin)}
		}
		j.CA = got.CA
	}
	j.TokenHash = hash
	kept := st.Servers[:0]
	for _, s := range st.Servers {
		if s.Server != ju.Server {
			kept = append(kept, s)
		}
	}
	st.Servers = append(kept, j)
	if err := writeJoined(path, st); err != nil {
		return nil, false, fmt.Errorf("joined %s as machine %s, but could not save its credential: %w", ju.Server, j.Machine, err)
	}
	return &j, false, nil
}

// pinMessage is the pin mismatch's own message (it names both hashes),
// without what the HTTP client wrapped around it.
func pinMessage(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if u := errors.Unwrap(e); u == pki.ErrPinMismatch {
			return e.Error()
		}
	}
	return err.Error()
}

// clientFor is a client of the joined server: its machine credential,
// trusting exactly the CA it pinned.
func clientFor(j *joined) (*client.Client, error) {
	if j.CA == "" {
		return client.New(j.Server, j.Credential)
	}
	if _, err := pki.ParseCert([]byte(j.CA)); err != nil {
		return nil, fmt.Errorf("the CA saved for %s: %w", j.Server, err)
	}
	return client.New(j.Server, j.Credential, client.WithCA([]byte(j.CA)))
}

// tokenHash is how joined.json names the token a credential came for.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func readJoined(path string) (*joinedState, error) {
	var st joinedState
	b, err := discover.ReadPrivate(path)
	if errors.Is(err, os.ErrNotExist) {
		return &st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %v: remove it and join again with a new token", path, err)
	}
	return &st, nil
}

// writeJoined replaces path whole (0600), never half-written.
func writeJoined(path string, st *joinedState) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// dialCause is the dial error inside err, without the request line the
// HTTP client wraps around it.
func dialCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return err
}

// loopbackHint explains a join URL whose host name is not a loopback one
// but that resolved to a loopback address here, where a dial reaches this
// machine itself, not the server: a server listening on all addresses
// names itself by its host name, which the joining machine's /etc/hosts
// may give to itself.
func loopbackHint(server string, err error) string {
	var op *net.OpError
	u, perr := url.Parse(server)
	if !errors.As(err, &op) || op.Addr == nil || perr != nil {
		return ""
	}
	host := u.Hostname()
	if host == "localhost" || net.ParseIP(host) != nil {
		return ""
	}
	ap, aerr := netip.ParseAddrPort(op.Addr.String())
	if aerr != nil || !ap.Addr().IsLoopback() {
		return ""
	}
	return fmt.Sprintf(" (%s is %s here, this machine itself: write the server's address in the URL in place of %s, or start the server with --listen ADDRESS:PORT: the lines it prints for other machines then name that address)",
		host, ap.Addr(), host)
}

// neverConnected says err is a failure to open the connection (a dial
// error): the request was never sent.
func neverConnected(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
