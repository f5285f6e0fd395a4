package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every API request needs the token, on TCP and on the unix socket alike;
// the token file is private to its owner.
func TestAPIRequiresToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs")
	info := h.serverInfo()
	tokFile := filepath.Join(h.home, "token")
	st, err := os.Stat(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 32 {
		t.Errorf("token %q looks too short to be a secret", token)
	}
	if !strings.HasPrefix(info.Addr, "http://127.0.0.1:") {
		t.Errorf("server.json addr %q, want http://127.0.0.1:PORT", info.Addr)
	}

	unixClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", info.Socket)
		},
	}}
	tcpClient := &http.Client{Timeout: 10 * time.Second}
	for _, ep := range []struct {
		name string
		c    *http.Client
		base string
	}{{"tcp", tcpClient, info.Addr}, {"unix", unixClient, "http://unix"}} {
		for _, auth := range []struct {
			name   string
			header string
			want   int
		}{
			{"no token", "", 401},
			{"wrong token", "Bearer " + strings.Repeat("0", len(token)), 401},
			{"token without Bearer", token, 401},
			{"right token", "Bearer " + token, 200},
		} {
			for _, path := range []string{"/v1/health", "/v1/jobs"} {
				req, _ := http.NewRequest("GET", ep.base+path, nil)
				if auth.header != "" {
					req.Header.Set("Authorization", auth.header)
				}
				resp, err := ep.c.Do(req)
				if err != nil {
					t.Errorf("%s GET %s with %s: %v", ep.name, path, auth.name, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != auth.want {
					t.Errorf("%s GET %s with %s: status %d, want %d (body %q)", ep.name, path, auth.name, resp.StatusCode, auth.want, body)
				}
				if auth.want == 200 && path == "/v1/health" {
					var hl struct {
						PID int `json:"pid"`
					}
					if err := json.Unmarshal(body, &hl); err != nil || hl.PID != info.PID {
						t.Errorf("%s health: %q, want the server's pid %d", ep.name, body, info.PID)
					}
				}
				if auth.want == 401 && strings.Contains(string(body), token) {
					t.Errorf("%s: a refused request got the token back", ep.name)
				}
			}
		}
	}
	// Submitting without the token is refused too, and accepts nothing.
	resp, err := tcpClient.Post(info.Addr+"/v1/jobs", "application/json", strings.NewReader(`{"argv":["true"],"resources":{"cpus":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("POST /v1/jobs without token: status %d, want 401", resp.StatusCode)
	}
	if n := len(h.jobsJSON()); n != 0 {
		t.Errorf("%d jobs exist after an unauthenticated submit, want 0", n)
	}
}

// A server that cannot start says why, naming what to change, and exits 2.
func TestServerCannotStart(t *testing.T) {
	t.Parallel()

	t.Run("port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		h := newHarness(t)
		r := h.run("server", "--port", port)
		if r.code != 2 {
			t.Errorf("burst server --port %s (taken): want exit 2:\n%s", port, r)
		}
		if !strings.Contains(r.stderr, port) {
			t.Errorf("message should name port %s:\n%s", port, r)
		}

		// The same through auto-start with BURST_PORT, a few times over in
		// fresh homes: the CLI must report the server's reason whatever
		// moment it looks at the half-started server.
		for i := range 20 {
			h2 := newHarness(t)
			h2.setEnv("BURST_PORT", port)
			r = h2.run("run", "--", "true")
			if r.code != 2 || !strings.Contains(r.stderr, "port "+port) {
				t.Errorf("try %d: burst run with BURST_PORT=%s (taken): want exit 2 and a message naming the port:\n%s", i, port, r)
				break
			}
		}
	})

	t.Run("BURST_HOME unwritable", func(t *testing.T) {
		h := newHarness(t)
		file := filepath.Join(h.dir, "regular-file")
		writeFile(t, file, "not a directory\n", 0o644)
		h.setEnv("BURST_HOME", filepath.Join(file, "home"))
		for _, args := range [][]string{{"server"}, {"run", "--", "true"}, {"jobs"}} {
			r := h.run(args...)
			if r.code != 2 {
				t.Errorf("want exit 2:\n%s", r)
			}
			msg := oneLine(t, r)
			if !strings.Contains(msg, "BURST_HOME") || !strings.Contains(msg, file) {
				t.Errorf("message should name BURST_HOME and the path:\n%s", r)
			}
		}
	})
}

// Reading a 300 MiB log does not grow the server: it streams.
func TestBigOutputDoesNotGrowServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const size = 300 << 20
	id := h.submit("--", "head", "-c", "300M", "/dev/zero")
	if r := h.run("wait", idArg(id)); r.code != 0 {
		t.Fatalf("wait: want exit 0:\n%s", r)
	}
	server := h.serverPID()
	var n countingWriter
	c := h.command("logs", idArg(id))
	c.Stdout = &n
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("logs: want exit 0:\n%s", r)
	}
	if n != size {
		t.Errorf("logs returned %d bytes, want %d", n, size)
	}
	if h.serverPID() != server {
		t.Fatalf("the server changed while serving the log")
	}
	if rss := vmRSS(t, server); rss >= 150<<20 {
		t.Errorf("server VmRSS %d MiB after serving a 300 MiB log, want < 150 MiB", rss>>20)
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
