package cli

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/pki"
)

// The join client pins the server's CA by hash, as kubeadm join's
// --discovery-token-ca-cert-hash does: a server whose chain holds no
// certificate of that hash is refused before the token is sent, naming
// both hashes; the right one gets a credential, saved 0600, that a second
// run finds without the server's help.
func TestJoinServerPin(t *testing.T) {
	var joins atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/join" || r.Method != "POST" {
			http.Error(w, "no", 404)
			return
		}
		var req client.JoinRequest
		json.NewDecoder(r.Body).Decode(&req)
		joins.Add(1)
		json.NewEncoder(w).Encode(client.Joined{Machine: req.Machine + "-2", Cluster: "lab", Credential: client.MachineCredentialPrefix + "c1",
			CA: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))})
	}))
	defer srv.Close()
	right := pki.Hash(srv.Certificate())
	wrong := pki.HashPrefix + strings.Repeat("ab", 32)
	tok := client.JoinTokenPrefix + "t1"
	state := filepath.Join(t.TempDir(), "home", joinedFile)
	ctx := context.Background()

	_, _, err := joinServer(ctx, state, srv.URL+"/"+tok+"#"+wrong, "box", io.Discard)
	if err == nil || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), right) || strings.Count(err.Error(), srv.URL) != 1 {
		t.Fatalf("a wrong pin: %v, want both hashes named, and the server once", err)
	}
	if joins.Load() != 0 {
		t.Fatal("the token was sent to a server whose CA does not match the pin")
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("a refused join saved state: %v", err)
	}

	j, saved, err := joinServer(ctx, state, srv.URL+"/"+tok+"#"+right, "box", io.Discard)
	if err != nil || saved || j.Machine != "box-2" || j.Cluster != "lab" || j.Credential != client.MachineCredentialPrefix+"c1" {
		t.Fatalf("the right pin: %+v, %v", j, err)
	}
	fi, err := os.Stat(state)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved state: %v, %v; want mode 0600", fi, err)
	}
	cl, err := clientFor(j)
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in answers 404: TLS with the saved CA works.
	var ae *client.Error
	if _, err := cl.WithRetry(client.Retry{}).Health(ctx); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("a request with the saved CA: %v, want the server's 404", err)
	}

	srv.Close()
	again, saved, err := joinServer(ctx, state, srv.URL+"/"+tok+"#"+right, "box", io.Discard)
	if err != nil || !saved || again.Credential != j.Credential || joins.Load() != 1 {
		t.Fatalf("a second run with the used URL: %+v, %v (joins %d), want the saved credential", again, err, joins.Load())
	}
}

// A URL with another token than the saved credential came for joins anew
// with it (a stopped or revoked machine's agent given a new token), and
// replaces that server's entry: the new token is not left unused.
func TestJoinServerNewToken(t *testing.T) {
	var joins atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req client.JoinRequest
		json.NewDecoder(r.Body).Decode(&req)
		n := joins.Add(1)
		json.NewEncoder(w).Encode(client.Joined{Machine: fmt.Sprintf("box-%d", n), Cluster: "lab", Credential: fmt.Sprintf("%sc%d", client.MachineCredentialPrefix, n),
			CA: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))})
	}))
	defer srv.Close()
	pin := pki.Hash(srv.Certificate())
	state := filepath.Join(t.TempDir(), joinedFile)
	ctx := context.Background()
	first, _, err := joinServer(ctx, state, srv.URL+"/"+client.JoinTokenPrefix+"t1#"+pin, "box", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	second, saved, err := joinServer(ctx, state, srv.URL+"/"+client.JoinTokenPrefix+"t2#"+pin, "box", io.Discard)
	if err != nil || saved || joins.Load() != 2 || second.Credential == first.Credential {
		t.Fatalf("a new token: %+v saved=%v, %v (joins %d), want a new join", second, saved, err, joins.Load())
	}
	st, err := readJoined(state)
	if err != nil || len(st.Servers) != 1 || st.Servers[0].Credential != second.Credential {
		t.Fatalf("joined.json after a new token: %+v, %v, want only the new credential", st, err)
	}
}

// Join URLs that cannot serve say what is wrong with them.
func TestParseJoinURL(t *testing.T) {
	pin := pki.HashPrefix + strings.Repeat("0f", 32)
	for _, tc := range []struct{ url, want string }{
		{"https://h:7780/#" + pin, "has no join token"},
		{"https://h:7780/burst_j_x", "has no CA hash"},
		{"https://h:7780/burst_j_x#sha256:12", "is malformed"},
		{"https://h:7780/burst_m_x#" + pin, "holds a credential, not a join token"},
		{"https://h:7780/abc#" + pin, "is not a join token"},
		{"http://10.1.2.3:7780/burst_j_x", "plain http beyond loopback"},
		{"h:7780/burst_j_x", "want https://HOST:PORT/TOKEN#sha256:CAHASH"},
		{"https://h:7780/burst_j_x#" + pin, ""},
		{"http://127.0.0.1:7780/burst_j_x", ""},
		// A secret pasted in place of the URL is named by its kind only.
		{"burst_u_0123456789abcdef", `join URL "burst_u_...": want https://`},
		{"https://h:7780/burst_u_0123456789abcdef#" + pin, `"https://h:7780/burst_u_...#sha256:`},
		{"https://h:7780/burst_j_0123456789abcdef", `join URL "https://h:7780/burst_j_..." has no CA hash`},
	} {
		_, err := client.ParseJoinURL(tc.url)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "0123456789abcdef")) {
			t.Errorf("%s: %v, want %q and no secret", tc.url, err, tc.want)
		}
	}
}

// Only a connection never opened is tried again: the one-time token was
// not sent.
func TestNeverConnected(t *testing.T) {
	_, dialErr := net.DialTimeout("tcp", "127.0.0.1:1", time.Second)
	if dialErr == nil || !neverConnected(fmt.Errorf("join: %w", dialErr)) {
		t.Fatalf("a refused dial (%v) is not taken for one never connected", dialErr)
	}
	if neverConnected(errors.New("the server refused the join token")) {
		t.Fatal("a refusal is taken for a connection never made")
	}
}

// A server that does not answer the join is said at once, on stderr, not
// after the 2 minutes the join keeps trying; a URL whose host name is this
// machine itself here (a server on all addresses names itself by its host
// name, which the joining machine may resolve to 127.0.0.1) says so and
// how to name the server instead.
func TestJoinServerUnreachableSaysSoAtOnce(t *testing.T) {
	addr := closedAddr(t)
	pin := pki.HashPrefix + strings.Repeat("0f", 32)
	said := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := joinServer(ctx, filepath.Join(t.TempDir(), joinedFile), "https://"+addr+"/"+client.JoinTokenPrefix+"t1#"+pin, "box", writerFunc(func(p []byte) (int, error) {
			select {
			case said <- string(p):
			default:
			}
			return len(p), nil
		}))
		done <- err
	}()
	select {
	case line := <-said:
		if !strings.HasPrefix(line, "burst: https://"+addr+" does not answer (dial tcp "+addr+": ") || !strings.HasSuffix(line, "); trying again for 2 minutes\n") {
			t.Errorf("said %q", line)
		}
	case err := <-done:
		t.Fatalf("the join ended (%v) without a word on stderr", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("join after its context ended: %v", err)
	}

	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, 1), Port: 7780}, Err: errors.New("connection refused")}
	want := " (lab-ws is 127.0.1.1 here, this machine itself: write the server's address in the URL in place of lab-ws, or start the server with --listen ADDRESS:PORT: the lines it prints for other machines then name that address)"
	if got := loopbackHint("https://lab-ws:7780", fmt.Errorf("post: %w", refused)); got != want {
		t.Errorf("a host name that is this machine: %q, want %q", got, want)
	}
	for _, server := range []string{"https://127.0.0.1:7780", "http://localhost:7780", "https://[::1]:7780"} {
		if got := loopbackHint(server, refused); got != "" {
			t.Errorf("%s, a loopback address as given: %q, want nothing", server, got)
		}
	}
	elsewhere := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 7780}, Err: errors.New("connection refused")}
	if got := loopbackHint("https://lab-ws:7780", elsewhere); got != "" {
		t.Errorf("a host name that is another machine: %q, want nothing", got)
	}
}
