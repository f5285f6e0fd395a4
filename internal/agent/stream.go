package agent

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/netlimit"
)

// Streams between the stages of a pipe (see internal/plumb): OS pipes
// between processes on this machine, TCP connections between agents. In
// both cases the processes get the pipe or the socket itself as stdin or
// stdout: no byte passes through the agent, except through a junction
// (the line dealer of --parallel stages).

const (
	streamMagic   = "burst-stream/1"
	streamWait    = 2 * time.Minute // how long an end waits for the other side
	sockBuf       = 4 << 20         // SO_SNDBUF / SO_RCVBUF of a stream
	pipeBuf       = 1 << 20         // F_SETPIPE_SZ of an OS pipe between stages
	junctionBlock = 256 << 10       // a junction deals lines in blocks up to this size
)

// hub owns this agent's stream listener and the OS pipes of the pipes it
// runs stages of.
type hub struct {
	secret string
	log    *slog.Logger
	ln     *netlimit.Listener
	addr   string // advertised HOST:PORT

	mu     sync.Mutex
	pipes  map[string]*osPipe           // local streams, until both ends are taken
	wait   map[string]chan *net.TCPConn // Accept ends waiting for their producer
	parked map[string]*net.TCPConn      // connections that came before their consumer asked
}

type osPipe struct{ r, w *os.File }

// newHub listens for streams on listen (HOST:PORT; port 0: any) and
// advertises advertise's host with the port it got. Without a secret it
// listens nowhere: it joins only stages on this machine.
func newHub(secret, listen, advertise string, log *slog.Logger) (*hub, error) {
	if secret == "" {
		return &hub{log: log, pipes: map[string]*osPipe{}, wait: map[string]chan *net.TCPConn{}, parked: map[string]*net.TCPConn{}}, nil
	}
	ln, err := netlimit.Listen("tcp", listen, netlimit.Limits{})
	if err != nil {
		return nil, fmt.Errorf("listen for pipe streams on %s: %w", listen, err)
	}
	// A flood is a line a minute in the agent's log, not one a connection.
	ln.Report(time.Minute, func(refused, failed int64) {
		log.Warn("stream port: connections turned away", "over_caps", refused, "failed_handshake", failed, "addr", ln.Addr().String())
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	h := &hub{secret: secret, log: log, ln: ln, addr: net.JoinHostPort(advertise, port),
		pipes: map[string]*osPipe{}, wait: map[string]chan *net.TCPConn{}, parked: map[string]*net.TCPConn{}}
	go h.serve()
	return h, nil
}

func (h *hub) close() {
	if h.ln != nil {
		h.ln.Close()
	}
}

func (h *hub) mac(key string) string {
	m := hmac.New(sha256.New, []byte(h.secret))
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

func (h *hub) serve() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		go h.handshake(c.(*net.TCPConn))
	}
}

// handshake reads "burst-stream/1 KEY MAC\n" and hands the connection to
// the end that waits for KEY, or parks it until that end asks.
func (h *hub) handshake(c *net.TCPConn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(c)
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != streamMagic || !hmac.Equal([]byte(f[2]), []byte(h.mac(f[1]))) {
		h.ln.Failed(c) // counted, and reported a line a minute
		return
	}
	// It showed the secret: no longer a stranger, never evicted for one
	// (parked, it would be its address's oldest pending connection).
	h.ln.Authenticated(c)
	c.SetReadDeadline(time.Time{})
	tune(c)
	key := f[1]
	h.mu.Lock()
	if ch := h.wait[key]; ch != nil {
		delete(h.wait, key)
		ch <- c // buffered, and only this sender: it never blocks
		h.mu.Unlock()
		return
	}
	if old := h.parked[key]; old != nil {
		old.Close() // a second producer for one stream: the last one wins
	}
	h.parked[key] = c
	h.mu.Unlock()
	time.AfterFunc(streamWait, func() {
		h.mu.Lock()
		if h.parked[key] == c {
			delete(h.parked, key)
			c.Close()
		}
		h.mu.Unlock()
	})
}

// readLine reads up to a newline one byte at a time, so that nothing after
// it is consumed: the rest belongs to the process.
func readLine(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 256 {
		if _, err := c.Read(one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
	return "", errors.New("stream handshake too long")
}

func tune(c *net.TCPConn) {
	c.SetReadBuffer(sockBuf)
	c.SetWriteBuffer(sockBuf)
	c.SetNoDelay(true)
}

// open returns the file for one end: write is true for a producer (stdout,
// a junction's output). It blocks until the other side is there (Accept),
// at most streamWait or until ctx ends.
func (h *hub) open(ctx context.Context, e client.End, write bool, logPath string) (*os.File, error) {
	switch {
	case e.File != "" || e.Log:
		path := e.File
		if e.Log {
			path = logPath
		}
		if !write {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("cannot read the pipe's input: %w", err)
			}
			return f, nil
		}
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if e.Append {
			flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		mode := os.FileMode(0o644)
		if e.Log { // burst's own log of the task, in $BURST_HOME/logs: private
			os.MkdirAll(dirOf(path), 0o700)
			mode = 0o600
		}
		f, err := os.OpenFile(path, flags, mode)
		if err != nil {
			return nil, fmt.Errorf("cannot write the pipe's output: %w", err)
		}
		return f, nil
	case e.Stream == "":
		if write {
			return nil, errors.New("no stdout end given")
		}
		return os.Open(os.DevNull)
	case e.Dial != "":
		return h.dial(ctx, e)
	case e.Accept:
		return h.accept(ctx, e.Stream)
	}
	h.mu.Lock()
	p := h.pipes[e.Stream]
	if p == nil {
		r, w, err := os.Pipe()
		if err != nil {
			h.mu.Unlock()
			return nil, err
		}
		unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeBuf)
		p = &osPipe{r, w}
		h.pipes[e.Stream] = p
		key := e.Stream
		time.AfterFunc(streamWait, func() {
			// The other stage never took its end (it failed or was
			// cancelled first): close what is left, so that the stage
			// that did take one gets EOF or EPIPE.
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.pipes[key] == p {
				delete(h.pipes, key)
				if p.r != nil {
					p.r.Close()
				}
				if p.w != nil {
					p.w.Close()
				}
			}
		})
	}
	var f *os.File
	if write {
		f, p.w = p.w, nil
	} else {
		f, p.r = p.r, nil
	}
	if p.r == nil && p.w == nil {
		delete(h.pipes, e.Stream)
	}
	h.mu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("stream %s: that end was taken twice", e.Stream)
	}
	return f, nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}

// dial connects to the consuming agent, retrying while it is not there yet.
func (h *hub) dial(ctx context.Context, e client.End) (*os.File, error) {
	deadline := time.Now().Add(streamWait)
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", e.Dial)
		if err == nil {
			tc := c.(*net.TCPConn)
			tune(tc)
			if _, err = fmt.Fprintf(tc, "%s %s %s\n", streamMagic, e.Stream, h.mac(e.Stream)); err == nil {
				tc.CloseRead() // a producer reads nothing: a peer that goes away gives it EPIPE
				return connFile(tc)
			}
			tc.Close()
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot reach the next stage's machine at %s: %v", e.Dial, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (h *hub) accept(ctx context.Context, key string) (*os.File, error) {
	h.mu.Lock()
	if c := h.parked[key]; c != nil {
		delete(h.parked, key)
		h.mu.Unlock()
		c.CloseWrite() // a consumer writes nothing
		return connFile(c)
	}
	ch := make(chan *net.TCPConn, 1)
	h.wait[key] = ch
	h.mu.Unlock()
	t := time.NewTimer(streamWait)
	defer t.Stop()
	select {
	case c := <-ch:
		c.CloseWrite()
		return connFile(c)
	case <-ctx.Done():
	case <-t.C:
	}
	h.mu.Lock()
	delete(h.wait, key)
	select {
	case c := <-ch: // it came just now (sent under h.mu, so not after this)
		c.Close()
	default:
	}
	h.mu.Unlock()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("the previous stage never connected (waited %s)", streamWait)
}

// connFile turns a connection into a file for a child process (a blocking
// descriptor of its own) and closes the connection's. The process reads or
// writes the socket itself: on this kind of machine (2 cores) that beat
// relaying through an OS pipe with splice(2) in the agent, which costs a
// thread on each side (2 GiB of 128 KiB writes: 1.2 s direct, 1.9 s
// spliced; of head's 8 KiB writes: 3.6 s direct, 4.8 s spliced).
func connFile(c *net.TCPConn) (*os.File, error) {
	f, err := c.File()
	c.Close()
	if err != nil {
		return nil, err
	}
	syscall.SetNonblock(int(f.Fd()), false)
	return f, nil
}

// junction deals blocks of whole lines from its inputs to whichever output
// is free; it closes everything once the inputs end, or once no output
// takes data any more (so that the producers get EPIPE, as in a shell).
//
// It passes every byte on as it came, and adds none: a record is a line
// with its newline, as GNU parallel's --pipe cuts them (--recend '\n'). An
// input that ends without a newline keeps that last piece as it is, and
// the junction writes it after every whole line of every input, so that it
// never runs into another input's line; should several inputs end so, their
// pieces are written one after another (input order), as a shell pipeline
// or GNU parallel joins the outputs of commands that do not end a line.
type junction struct {
	in, out []*os.File
}

func (j *junction) run() {
	blocks := make(chan []byte, 2*len(j.out))
	stop := make(chan struct{})
	var once sync.Once
	halt := func() {
		once.Do(func() {
			close(stop)
			for _, f := range j.in {
				f.Close() // unblocks their readers; producers see EPIPE
			}
		})
	}
	var readers sync.WaitGroup
	tails := make([][]byte, len(j.in))
	for k, f := range j.in {
		readers.Add(1)
		go func() {
			defer readers.Done()
			tails[k] = readLines(f, blocks, stop)
		}()
	}
	go func() {
		readers.Wait()
		if tail := bytes.Join(tails, nil); len(tail) > 0 {
			select {
			case blocks <- tail:
			case <-stop:
			}
		}
		close(blocks)
	}()
	var writers sync.WaitGroup
	alive := len(j.out)
	var mu sync.Mutex
	for _, f := range j.out {
		writers.Add(1)
		go func() {
			defer writers.Done()
			defer f.Close()
			for b := range blocks {
				if _, err := f.Write(b); err != nil {
					mu.Lock()
					alive--
					dead := alive == 0
					mu.Unlock()
					if dead {
						halt()
						for range blocks {
						}
					}
					return
				}
			}
		}()
	}
	writers.Wait()
	halt()
}

// readLines sends what f gives in blocks of whole lines, as soon as a read
// completes one or more; a line longer than a read is gathered whole
// first. It returns what follows the last newline when f ends (a last line
// without its newline, or nothing), for the junction to write last.
func readLines(f *os.File, blocks chan<- []byte, stop <-chan struct{}) (tail []byte) {
	buf := make([]byte, junctionBlock)
	var pending []byte
	for {
		n, err := f.Read(buf)
		// Only the bytes just read can hold a new line end: searching the
		// whole of a long line at each read would cost its length squared.
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			out := append(pending, buf[:i+1]...) // a copy: buf is read into again
			pending = append([]byte(nil), buf[i+1:n]...)
			select {
			case blocks <- out:
			case <-stop:
				return nil
			}
		} else {
			pending = append(pending, buf[:n]...)
		}
		if err != nil {
			return pending
		}
	}
}
