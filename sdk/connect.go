package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
)

// startTimeout bounds how long Connect waits for a server it started.
const startTimeout = 20 * time.Second

// Connect returns a client for the burst server, found as the burst CLI
// finds it: BURST_SERVER (with BURST_TOKEN, or the token file of
// $BURST_HOME) if set; else the local server of $BURST_HOME (default
// ~/.burst), through its unix socket and token file. If no local server
// answers, Connect starts `burst server` (the burst found on PATH) in the
// background, as the CLI does, and says so on stderr; the server outlives
// the program. It checks that the server answers before it returns.
func Connect(ctx context.Context) (*client.Client, error) {
	if addr := os.Getenv("BURST_SERVER"); addr != "" {
		token := os.Getenv("BURST_TOKEN")
		if token == "" {
			if h, err := home.Resolve(); err == nil {
				token, _ = h.ReadToken()
			}
		}
		if token == "" {
			return nil, errors.New("burst: BURST_SERVER is set but no token: set BURST_TOKEN to the server's token")
		}
		c, err := client.New(addr, token)
		if err != nil {
			return nil, fmt.Errorf("burst: BURST_SERVER: %w", err)
		}
		if _, err := c.Health(ctx); err != nil {
			return nil, fmt.Errorf("burst: the server at BURST_SERVER=%s does not answer: %w", addr, err)
		}
		return c, nil
	}
	h, err := home.Resolve()
	if err != nil {
		return nil, fmt.Errorf("burst: %w", err)
	}
	c := tryLocal(ctx, h)
	if c == nil {
		if c, err = autostart(ctx, h); err != nil {
			return nil, err
		}
	}
	if _, err := c.Health(ctx); err != nil {
		return nil, fmt.Errorf("burst: the server of %s does not answer: %w", h, err)
	}
	return c, nil
}

// tryLocal is a client for the server of h if one listens on its socket.
func tryLocal(ctx context.Context, h home.Home) *client.Client {
	token := os.Getenv("BURST_TOKEN")
	if token == "" {
		token, _ = h.ReadToken()
	}
	if token == "" {
		return nil
	}
	conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "unix", h.Socket())
	if err != nil {
		return nil
	}
	conn.Close()
	c, err := client.New("unix://"+h.Socket(), token)
	if err != nil {
		return nil
	}
	return c
}

// autostart runs `burst server` detached, with its log in h, and waits until
// it answers.
func autostart(ctx context.Context, h home.Home) (*client.Client, error) {
	exe, err := exec.LookPath("burst")
	if err != nil {
		return nil, fmt.Errorf("burst: no burst server answers on %s and there is no `burst` on PATH to start one: "+
			"run `burst server` (or set BURST_SERVER and BURST_TOKEN)", h.Socket())
	}
	if err := h.Ensure(); err != nil {
		return nil, fmt.Errorf("burst: cannot start a server: %w", err)
	}
	logf, err := os.OpenFile(h.ServerLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("burst: cannot start a server: %w: set BURST_HOME to a writable directory", err)
	}
	defer logf.Close()
	before, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(exe, "server")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = append(os.Environ(), "BURST_HOME="+string(h))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("burst: start `%s server`: %w; run `burst server` yourself", exe, err)
	}
	fmt.Fprintf(os.Stderr, "burst: started a local server (log: %s)\n", h.ServerLog())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		if c := tryLocal(ctx, h); c != nil {
			return c, nil
		}
		select {
		case <-exited:
			exited = nil
			// Another process may have won the race to start one: it holds
			// the lock and will answer soon. Anything else is a failure.
			tail := logTail(h.ServerLog(), before)
			if !strings.Contains(tail, "already running") {
				if c := tryLocal(ctx, h); c != nil {
					return c, nil
				}
				return nil, fmt.Errorf("burst: the server could not start: %s; run `burst server` to see why", tail)
			}
		case <-deadline.C:
			return nil, fmt.Errorf("burst: the server did not answer within %v: see %s, or run `burst server`", startTimeout, h.ServerLog())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logTail is the last line the server wrote after offset.
func logTail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return "see " + path
	}
	lines := strings.Split(strings.TrimSpace(string(b[offset:])), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		l = strings.TrimPrefix(l, "burst: ")
		if j := strings.Index(l, "msg="); j >= 0 {
			l = l[j+4:]
		}
		return l + " (log: " + path + ")"
	}
	return "see " + path
}
