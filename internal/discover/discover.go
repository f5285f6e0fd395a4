// Package discover finds the burst server a command or program talks to,
// and starts the local one when none runs: BURST_SERVER and BURST_TOKEN,
// else $BURST_HOME's unix socket and token file. The CLI and sdk.Connect
// use it; the client package itself only speaks HTTP.
package discover

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
	"github.com/burst-sh/burst/internal/backoff"
	"github.com/burst-sh/burst/internal/home"
)

// SetupError is a problem with the user's setup (no token, an unwritable
// $BURST_HOME, a server that cannot start); its message says what to fix.
type SetupError struct{ Msg string }

func (e *SetupError) Error() string { return e.Msg }

func setup(format string, a ...any) error { return &SetupError{fmt.Sprintf(format, a...)} }

// Connect returns a client for the configured server (as Find says) that
// finds it again (Find again, so a local server that went away is started
// anew) when it stops answering, before it asks again as its Retry says.
func Connect(ctx context.Context, serverExe string, stderr io.Writer, opts ...client.Option) (*client.Client, error) {
	addr, token, err := Find(ctx, serverExe, stderr)
	if err != nil {
		return nil, err
	}
	reconnect := func(ctx context.Context) (string, string, error) { return Find(ctx, serverExe, stderr) }
	c, err := client.New(addr, token, append([]client.Option{client.WithReconnect(reconnect)}, opts...)...)
	if err != nil {
		return nil, setup("BURST_SERVER: %v", err)
	}
	return c, nil
}

// Find says where the configured burst server listens and its token:
// BURST_SERVER (with BURST_TOKEN, or the token file of $BURST_HOME) if set;
// else the local server of $BURST_HOME (default ~/.burst) through its unix
// socket. If no local server listens, it runs `serverExe server` detached
// (its log in $BURST_HOME, a line saying so on stderr) and waits for it to
// answer; with serverExe "" it returns a SetupError instead. It sends no
// request: the first real one finds out whether the token is right.
func Find(ctx context.Context, serverExe string, stderr io.Writer) (addr, token string, err error) {
	if addr := os.Getenv("BURST_SERVER"); addr != "" {
		token := os.Getenv("BURST_TOKEN")
		if token == "" {
			if h, err := home.Resolve(); err == nil {
				token, _ = h.ReadToken()
			}
		}
		if token == "" {
			return "", "", setup("BURST_SERVER is set but no token: set BURST_TOKEN to the server's token")
		}
		return addr, token, nil
	}
	h, err := home.Resolve()
	if err != nil {
		return "", "", setup("%v", err)
	}
	if token, ok := tryLocal(ctx, h); ok {
		return "unix://" + h.Socket(), token, nil
	}
	if serverExe == "" {
		return "", "", setup("no burst server answers on %s and there is no `burst` to start one: run `burst server` (or set BURST_SERVER and BURST_TOKEN)", h.Socket())
	}
	token, err = autostart(ctx, h, serverExe, stderr)
	if err != nil {
		return "", "", err
	}
	return "unix://" + h.Socket(), token, nil
}

// tryLocal is the token of the server of h if one listens on its socket: a
// connect says so without a request.
func tryLocal(ctx context.Context, h home.Home) (token string, ok bool) {
	token = os.Getenv("BURST_TOKEN")
	if token == "" {
		token, _ = h.ReadToken()
	}
	if token == "" {
		return "", false
	}
	conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "unix", h.Socket())
	if err != nil {
		return "", false
	}
	conn.Close()
	return token, true
}

// ExitServerRunning is the exit status of `burst server` when another
// server already serves its home.
const ExitServerRunning = 10

// autostart runs `exe server` in its own session, with its log in h, and
// waits until it answers; it returns the server's token.
func autostart(ctx context.Context, h home.Home, exe string, stderr io.Writer) (string, error) {
	if err := h.Ensure(); err != nil {
		return "", setup("cannot start a server: %v", err)
	}
	logf, err := os.OpenFile(h.ServerLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", setup("cannot start a server: %v: set BURST_HOME to a writable directory", err)
	}
	defer logf.Close()
	before, _ := logf.Seek(0, io.SeekEnd)
	start := func() (<-chan error, error) {
		cmd := exec.Command(exe, "server")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Env = append(os.Environ(), "BURST_HOME="+string(h))
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start `%s server`: %w", exe, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return exited, nil
	}
	exited, err := start()
	if err != nil {
		return "", err
	}
	started := true // a server of ours ran (for the "started" line)
	// Said once it answers, or while it is slow to: a server that cannot
	// start (a bad prices file) gets one line, not "started" and then
	// "could not start".
	said := false
	slow := time.NewTimer(time.Second)
	defer slow.Stop()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	poll := backoff.New(5*time.Millisecond, 50*time.Millisecond) // a server answers in tens of ms, or takes seconds
	// again is when to start a server once more after ours found the home
	// locked and nobody answers: the lock's holder may be a server that is
	// still starting, or one just killed whose threads have not all exited
	// (it holds the lock until the last does), which will never answer.
	var again <-chan time.Time
	retry := backoff.New(100*time.Millisecond, 2*time.Second)
	for {
		if token, ok := tryLocal(ctx, h); ok {
			if !said && started {
				fmt.Fprintf(stderr, "burst: started a local server (log: %s)\n", h.ServerLog())
			}
			return token, nil
		}
		select {
		case err := <-exited:
			exited = nil
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == ExitServerRunning {
				started = false
				again = time.After(retry.Next())
				continue
			}
			if token, ok := tryLocal(ctx, h); ok {
				return token, nil
			}
			return "", setup("cannot start a local server: %s", logTail(h.ServerLog(), before))
		case <-again:
			if LockHeld(h.Lock()) {
				// Still held: its server may yet answer (the poll sees it);
				// start ours only once the lock is free.
				again = time.After(retry.Next())
				continue
			}
			again = nil
			if exited, err = start(); err != nil {
				return "", err
			}
			started = true
		case <-slow.C:
			fmt.Fprintf(stderr, "burst: starting a local server (log: %s)\n", h.ServerLog())
			said = true
		case <-deadline.C:
			return "", errors.New("the server did not answer within 20 s: see " + h.ServerLog())
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(poll.Next()):
		}
	}
}

// LockHeld reports whether some process holds the lock file at path (a
// server, starting, serving or just killed; an agent of this host).
func LockHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
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
		l = strings.TrimPrefix(l, "cannot start the server: ")
		if j := strings.Index(l, "msg="); j >= 0 {
			l = l[j+4:]
		}
		return l + " (log: " + path + ")"
	}
	return "see " + path
}
