package cli

import (
	"bytes"
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

// connect returns a client for the configured server. Without BURST_SERVER
// it uses the local server of $BURST_HOME, starting one in the background if
// none runs.
func connect(ctx context.Context, stderr io.Writer) (*client.Client, error) {
	if addr := os.Getenv("BURST_SERVER"); addr != "" {
		token := os.Getenv("BURST_TOKEN")
		if token == "" {
			if h, err := home.Resolve(); err == nil {
				token, _ = h.ReadToken()
			}
		}
		if token == "" {
			return nil, usage("BURST_SERVER is set but no token: set BURST_TOKEN to the server's token")
		}
		c, err := client.New(addr, token)
		if err != nil {
			return nil, usage("%v", err)
		}
		return c, nil
	}
	h, err := home.Resolve()
	if err != nil {
		return nil, usage("%v", err)
	}
	if c := tryLocal(ctx, h); c != nil {
		return c, nil
	}
	return autostart(ctx, h, stderr)
}

func tryLocal(ctx context.Context, h home.Home) *client.Client {
	token := os.Getenv("BURST_TOKEN")
	if token == "" {
		token, _ = h.ReadToken()
	}
	if token == "" {
		return nil
	}
	// A connect on the socket says whether a server listens, without a
	// request: a CLI command is one process start plus its own requests.
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

// autostart runs `burst server` detached, with its log in $BURST_HOME, and
// waits until it answers.
func autostart(ctx context.Context, h home.Home, stderr io.Writer) (*client.Client, error) {
	if err := h.Ensure(); err != nil {
		return nil, usage("cannot start a server: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(h.ServerLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, usage("cannot start a server: %v: set BURST_HOME to a writable directory", err)
	}
	defer logf.Close()
	before, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(exe, "server")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = append(os.Environ(), "BURST_HOME="+string(h))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	fmt.Fprintf(stderr, "burst: started a local server (log: %s)\n", h.ServerLog())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for {
		if c := tryLocal(ctx, h); c != nil {
			return c, nil
		}
		select {
		case <-exited:
			exited = nil
			// Another CLI may have won the race to start one: it holds the
			// lock and will answer soon. Anything else is a real failure.
			tail := logTail(h.ServerLog(), before)
			if !strings.Contains(tail, "already running") {
				if c := tryLocal(ctx, h); c != nil {
					return c, nil
				}
				return nil, usage("the server could not start: %s", tail)
			}
		case <-deadline:
			return nil, errors.New("the server did not answer within 20 s: see " + h.ServerLog())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logTail is the last meaningful line the server wrote after offset.
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
		if i := bytes.Index([]byte(l), []byte("msg=")); i >= 0 {
			l = l[i+4:]
		}
		return l + " (log: " + path + ")"
	}
	return "see " + path
}
