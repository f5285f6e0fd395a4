// Package discover finds the burst server a command or program talks to,
// and starts the local one when none runs: BURST_SERVER and BURST_TOKEN,
// else the server `burst login` stored (logins.go), else $BURST_HOME's unix
// socket and token file. The CLI and sdk.Connect use it; the client package
// itself only speaks HTTP.
package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/backoff"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/sysuser"
)

// SetupError is a problem with the user's setup (no token, an unwritable
// $BURST_HOME, a server that cannot start); its message says what to fix.
type SetupError struct{ Msg string }

func (e *SetupError) Error() string { return e.Msg }

func setup(format string, a ...any) error { return &SetupError{fmt.Sprintf(format, a...)} }

// Connect returns a client for the configured server (as Find says) that
// finds it again (Find again, so a local server that went away is started
// anew) when it stops answering, before it asks again as its Retry says.
//
// It starts the local server at most MaxStarts times in all, and never again
// once a start failed (the server exited before it answered, or did not
// answer in time): a server that cannot start (a full disk, a damaged store)
// is started once, and the client's call ends with why (the server log's
// last line), as an error that wraps client.ErrNoServer.
func Connect(ctx context.Context, serverExe string, stderr io.Writer, opts ...client.Option) (*client.Client, error) {
	st := &starts{}
	addr, token, lg, err := find(ctx, serverExe, stderr, st)
	if err != nil {
		return nil, err
	}
	reconnect := func(ctx context.Context) (string, string, error) {
		addr, token, _, err := find(ctx, serverExe, stderr, st)
		var se *SetupError
		if errors.As(err, &se) {
			// The server it had went away and none can be had: the call
			// ends now, saying why.
			err = &NoServerError{Msg: se.Msg}
		}
		return addr, token, err
	}
	pre := []client.Option{client.WithReconnect(reconnect)}
	if lg != nil && lg.CA != "" {
		pre = append(pre, client.WithCA([]byte(lg.CA)))
	}
	c, err := client.New(addr, token, append(pre, opts...)...)
	if err != nil {
		return nil, setup("BURST_SERVER: %v", err)
	}
	return c, nil
}

// MaxStarts is how many times one Connect's client starts the local server:
// once when none runs, then again only after a server that had answered
// went away (a kill -9, a crash, the OOM killer), which an attached run or
// wait rides out: at most two restarts over a command's life, and none
// after a start that failed. A server that answers and dies each time is
// so given up on after three starts, with how the last one ended and its
// log's last line.
const MaxStarts = 3

// starts is what one Connect's client has started: how many servers, the
// failure that ends its starting, and the end of the last one it started.
type starts struct {
	mu     sync.Mutex // one start at a time
	n      int
	failed error
	last   <-chan error // the last server's exit (cmd.Wait's error), once it exits
	before int64        // where the server log ended before the last start
	how    string       // how the last server ended, once read from last
}

// NoServerError is why a client cannot start the local server again: the
// last start failed, or it started MaxStarts already. It wraps
// client.ErrNoServer.
type NoServerError struct{ Msg string }

func (e *NoServerError) Error() string { return e.Msg }
func (e *NoServerError) Unwrap() error { return client.ErrNoServer }

// Find says where the configured burst server listens and its token:
// BURST_SERVER (with BURST_TOKEN, else the credential `burst login` stored
// for that URL, else the token file of $BURST_HOME) if set; else the server
// of the last `burst login` (with its credential); else the local server of $BURST_HOME (default ~/.burst) through its unix
// socket. If no local server listens, it runs `serverExe server` detached
// (its log in $BURST_HOME, a line saying so on stderr) and waits for it to
// answer; with serverExe "" it returns a SetupError instead. It sends no
// request: the first real one finds out whether the token is right.
func Find(ctx context.Context, serverExe string, stderr io.Writer) (addr, token string, err error) {
	addr, token, _, err = find(ctx, serverExe, stderr, nil)
	return addr, token, err
}

// find is Find, counting the servers it starts in st (nil: no bound), and
// returning the login it used (nil when none), whose CA the client trusts.
func find(ctx context.Context, serverExe string, stderr io.Writer, st *starts) (addr, token string, lg *Login, err error) {
	if err := CheckToken(os.Getenv("BURST_TOKEN")); err != nil {
		return "", "", nil, setup("BURST_TOKEN: %v", err)
	}
	if addr := os.Getenv("BURST_SERVER"); addr != "" {
		token := os.Getenv("BURST_TOKEN")
		base, _, perr := client.SplitPin(addr)
		if perr != nil {
			return "", "", nil, setup("BURST_SERVER: %v", perr)
		}
		logins, err := ReadLogins()
		if err != nil {
			return "", "", nil, setup("%v", err)
		}
		lg := logins.For(base)
		if token == "" && lg != nil {
			token = lg.Credential
		}
		if token == "" && thisHost(base) {
			// This home's own token goes only to a server of this host:
			// sent elsewhere it would hand that server this home's admin.
			if h, err := home.Resolve(); err == nil {
				token, _ = h.ReadToken()
			}
		}
		if token == "" {
			return "", "", nil, setup("BURST_SERVER=%s is set but there is no credential for it: run `burst login %s` (or set BURST_TOKEN)", addr, addr)
		}
		return addr, token, lg, nil
	}
	logins, err := ReadLogins()
	if err != nil {
		return "", "", nil, setup("%v", err)
	}
	if lg := logins.Current(); lg != nil {
		return lg.URL, lg.Credential, lg, nil
	}
	h, err := home.Resolve()
	if err != nil {
		return "", "", nil, setup("%v", err)
	}
	if token, ok := tryLocal(ctx, h); ok {
		return "unix://" + h.Socket(), token, nil, nil
	}
	if serverExe == "" {
		return "", "", nil, setup("no burst server answers on %s and there is no `burst` to start one: run `burst server` (or set BURST_SERVER and BURST_TOKEN)", h.Socket())
	}
	if job := os.Getenv("BURST_JOB_ID"); job != "" && os.Getenv("BURST_AGENT") != "" {
		// A task starts no server of its own (a stray one, in a home
		// nobody looks at, on a machine that may go away).
		return "", "", nil, setup("no burst server answers on %s, and this is a task of burst job %s: a task does not start a server. On the server's own host its batch jobs find it by themselves; elsewhere set BURST_SERVER and BURST_TOKEN (or `burst login`) for the task", h.Socket(), job)
	}
	if st == nil {
		token, _, _, err = autostart(ctx, h, serverExe, stderr)
	} else {
		token, err = st.start(ctx, h, serverExe, stderr)
	}
	if err != nil {
		return "", "", nil, err
	}
	return "unix://" + h.Socket(), token, nil, nil
}

// start runs autostart unless this client may start no more servers; a
// start that fails is the last.
func (st *starts) start(ctx context.Context, h home.Home, exe string, stderr io.Writer) (string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if token, ok := tryLocal(ctx, h); ok { // another call's start won meanwhile
		return token, nil
	}
	if st.failed != nil {
		return "", &NoServerError{Msg: st.failed.Error()}
	}
	if st.n >= MaxStarts {
		if st.how == "" {
			// It went away a moment ago: its exit, if it is gone, is known
			// within that moment (a few seconds on a loaded machine). Read
			// once: the client's other calls (a follow's streams, its wait)
			// come here too, and say the same.
			st.how = "went away"
			t := time.NewTimer(5 * time.Second)
			select {
			case err := <-st.last:
				st.how = "exited (status 0)"
				if err != nil {
					st.how = "ended (" + err.Error() + ")"
				}
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		return "", &NoServerError{Msg: fmt.Sprintf("the local server this command started %d times %s again; not starting it again: %s", st.n, st.how, logTail(h.ServerLog(), st.before))}
	}
	st.n++
	token, exited, before, err := autostart(ctx, h, exe, stderr)
	if err != nil && ctx.Err() == nil {
		st.failed = err
	}
	st.last, st.before = exited, before
	return token, err
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

// lastServerArgs are the options the home's last server was started with
// (home.ServerArgs: --listen, --tls-san, ...), none when it kept none or
// they are not a list of options.
func lastServerArgs(h home.Home) []string {
	b, err := os.ReadFile(h.ServerArgs())
	if err != nil {
		return nil
	}
	var args []string
	if json.Unmarshal(b, &args) != nil {
		return nil
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "--") || !strings.Contains(a, "=") {
			return nil
		}
	}
	return args
}

// autostart runs `exe server` in its own session, with its log in h, and
// waits until it answers; it returns the server's token, its exit (nil if
// another server answered), and where the log ended before the start.
func autostart(ctx context.Context, h home.Home, exe string, stderr io.Writer) (token string, _ <-chan error, before int64, _ error) {
	// A Go test binary (pkg.test) runs its tests, not a server, when it is
	// started as one: a test that reached here would start the tests again,
	// each of which starts them again.
	if strings.HasSuffix(filepath.Base(exe), ".test") {
		return "", nil, 0, setup("cannot start a server: %s is a Go test binary, not burst: a test that needs a server starts one itself (or sets BURST_SERVER)", exe)
	}
	// Only the directory: the server makes the home private (one walk of
	// it, home.Private) and refuses one it cannot, which the log shows.
	if err := os.MkdirAll(string(h), 0o700); err != nil {
		return "", nil, 0, setup("cannot start a server: cannot create %s (%v): set BURST_HOME to a writable directory", h, err)
	}
	logf, err := os.OpenFile(h.ServerLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", nil, 0, setup("cannot start a server: %v: set BURST_HOME to a writable directory", err)
	}
	defer logf.Close()
	before, _ = logf.Seek(0, io.SeekEnd)
	last := lastServerArgs(h)
	pid := 0 // our server's
	start := func() (<-chan error, error) {
		cmd := exec.Command(exe, append([]string{"server"}, last...)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Env = append(os.Environ(), "BURST_HOME="+string(h))
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start `%s server`: %w", exe, err)
		}
		pid = cmd.Process.Pid
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return exited, nil
	}
	exited, err := start()
	if err != nil {
		return "", nil, before, err
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
			// Ours, or one that another command started at the same
			// time (ours then finds the home taken and exits).
			started = started && serverInfo(h).PID == pid
			if !said && started {
				if len(last) > 0 {
					fmt.Fprintf(stderr, "burst: started the server again with its last options, %s (log: %s)\n", strings.Join(last, " "), h.ServerLog())
				} else {
					fmt.Fprintf(stderr, "burst: started a local server (log: %s)\n", h.ServerLog())
				}
			}
			if started {
				sayCopy(h, stderr)
				sayNice(stderr)
			}
			return token, exited, before, nil
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
				return token, nil, before, nil
			}
			how := "exited"
			if err != nil {
				how = "ended (" + err.Error() + ")" // its exit status, or the signal that killed it
			}
			if len(last) > 0 { // options that held once may not now (a moved --tls-cert, a taken --listen)
				return "", nil, before, setup("cannot start the server again with its last options (%s, kept in %s): it %s before it answered: %s; "+
					"start it yourself with the options it needs now (burst server --listen ...), or remove %s for a plain local one",
					strings.Join(last, " "), h.ServerArgs(), how, logTail(h.ServerLog(), before), h.ServerArgs())
			}
			return "", nil, before, setup("cannot start a local server: it %s before it answered: %s", how, logTail(h.ServerLog(), before))
		case <-again:
			if LockHeld(h.Lock()) {
				// Still held: its server may yet answer (the poll sees it);
				// start ours only once the lock is free.
				again = time.After(retry.Next())
				continue
			}
			again = nil
			if exited, err = start(); err != nil {
				return "", nil, before, err
			}
			started = true
		case <-slow.C:
			fmt.Fprintf(stderr, "burst: starting a local server (log: %s)\n", h.ServerLog())
			said = true
		case <-deadline.C:
			return "", nil, before, setup("the local server did not answer within 20 s: see %s", h.ServerLog())
		case <-ctx.Done():
			return "", nil, before, ctx.Err()
		case <-time.After(poll.Next()):
		}
	}
}

// sayCopy tells the person whose command started the server of h that
// its store is a copy of another home's, or lost jobs it had recorded
// (server.json says so only when that server found it so: once each).
func sayCopy(h home.Home, stderr io.Writer) {
	info := serverInfo(h)
	if info.CopyOf != "" {
		fmt.Fprintf(stderr, "burst: this home's store is a copy of %s: its jobs queued or running there were not rerun here (`burst events` lists them; `burst map --resume ID` runs a map here)\n", info.CopyOf)
	}
	if info.StoreBehind != "" {
		fmt.Fprintf(stderr, "burst: %s\n", info.StoreBehind)
	}
}

// serverInfo is what server.json says of h's server (zero if unreadable):
// its pid, whether its store is a copy, and what it lost. A server writes it before its
// socket answers.
func serverInfo(h home.Home) (info struct {
	PID         int    `json:"pid"`
	CopyOf      string `json:"copy_of"`
	StoreBehind string `json:"store_behind"`
}) {
	if b, err := os.ReadFile(h.ServerInfo()); err == nil {
		json.Unmarshal(b, &info)
	}
	return info
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

// thisHost says whether the server at base is this host's: a unix socket
// or a loopback address.
func thisHost(base string) bool {
	if strings.HasPrefix(base, "unix://") {
		return true
	}
	u, err := url.Parse(base)
	return err == nil && client.Loopback(u.Hostname())
}

// CheckToken refuses a credential that cannot go in an HTTP header: one
// with a space or a control character (a newline pasted with it, a
// quote's stray byte). Sent as it is, Go's HTTP client fails the request
// with "invalid header field value", which names neither the variable nor
// the fix.
func CheckToken(tok string) error {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("the token holds a space or control character (byte %d of %d, 0x%02x): set it to the token alone, as `burst user token NAME` printed it", i+1, len(tok), c)
		}
	}
	return nil
}

// sayNice warns that a server started from a process run at a nice above
// 0 (nice -n 19 burst map ...) keeps that nice, and so do its agent and
// every task it runs from then on, long after the command that started it
// (a process may not lower its own nice again): how to start it afresh.
func sayNice(stderr io.Writer) {
	if nice := sysuser.Nice(); nice > 0 {
		fmt.Fprintf(stderr, "burst: the server was started at nice %d, which it, its agents and every task they run keep: to run later work at nice 0, `burst server stop --all` once this host's tasks may stop, then run burst from a shell at nice 0\n", nice)
	}
}
