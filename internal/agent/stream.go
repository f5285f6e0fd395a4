package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/netlimit"
)

// Streams between the stages of a pipe (see internal/plumb): OS pipes
// between processes on this machine, TCP connections between agents, each
// proven to be the one the server paired (stream_pair.go). On one host the
// processes get the pipe or the socket itself as stdin or stdout: no byte
// passes through the agent, except through a junction (the line dealer of
// --parallel stages). Between hosts the stream is TLS, relayed by the
// agents (stream_tls.go).

const (
	streamWait    = 2 * time.Minute // how long an end waits for the other side
	sockBuf       = 4 << 20         // SO_SNDBUF / SO_RCVBUF of a stream
	pipeBuf       = 1 << 20         // F_SETPIPE_SZ of an OS pipe between stages
	junctionBlock = 256 << 10       // a junction deals lines in blocks up to this size
	parkMax       = 8               // unchecked connections kept for one stream
)

// errUnexpected is a dialer's hello for a stream this agent was not told
// to expect (no stage of its assignments accepts it): closed right after
// that line, before any nonce, so that no stranger holds a place under an
// id of its choice. A producer that came before its consumer's
// assignment reconnects (dial) until the consumer expects it.
var errUnexpected = errors.New("a stream this agent does not expect")

// hub owns this agent's stream listener and the OS pipes of the pipes it
// runs stages of.
type hub struct {
	log  *slog.Logger
	ln   *netlimit.Listener
	addr string // advertised HOST:PORT

	mu     sync.Mutex
	pipes  map[string]*osPipe    // local streams, until both ends are taken
	wait   map[string]*waiting   // Accept ends waiting for their producer
	parked map[string][]*parking // connections that came before their consumer asked
	// expected counts, per stream id, the stages here whose assignment
	// accepts it and that have not yet opened it (expect): only those ids
	// are parked.
	expected map[string]int
	// unexpected counts the connections closed for an id not expected.
	unexpected atomic.Int64
}

// expect tells the hub that a stage whose assignment arrived accepts the
// streams ids: their producers are parked until it asks. The returned
// func ends that (the stage started or failed).
func (h *hub) expect(ids []string) (done func()) {
	h.mu.Lock()
	for _, id := range ids {
		h.expected[id]++
	}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, id := range ids {
			if h.expected[id]--; h.expected[id] <= 0 {
				delete(h.expected, id)
			}
		}
	}
}

type osPipe struct{ r, w *os.File }

// waiting is an Accept end that knows its stream's key and waits for a
// producer that proves it.
type waiting struct {
	key []byte
	ch  chan *peer // buffered (1): the one peer that proved the key
}

type parking struct {
	p     *peer
	timer *time.Timer
}

// newHub listens for streams on listen (HOST:PORT; port 0: any) and
// advertises advertise's host with the port it got. Without listen it
// listens nowhere: it joins only stages on this machine.
func newHub(listen, advertise string, log *slog.Logger) (*hub, error) {
	h := &hub{log: log, pipes: map[string]*osPipe{}, wait: map[string]*waiting{}, parked: map[string][]*parking{},
		expected: map[string]int{}}
	if listen == "" {
		return h, nil
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
	h.ln, h.addr = ln, net.JoinHostPort(advertise, port)
	log.Info("listening for pipe streams", "addr", ln.Addr().String(), "advertised", h.addr)
	go h.serve()
	return h, nil
}

func (h *hub) close() {
	if h.ln != nil {
		h.ln.Close()
	}
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

// handshake takes the dialer's part of a stream handshake (stream_pair.go)
// and hands the connection to the end that waits for its stream, once its
// proof holds; or parks it until that end asks, unchecked (a stranger's,
// for the listener's caps) until then.
func (h *hub) handshake(c *net.TCPConn) {
	p, err := h.greet(c)
	if errors.Is(err, errUnexpected) {
		h.ln.Forget(c) // closed: a producer that is early retries, a stranger's is gone
		h.unexpected.Add(1)
		return
	}
	if err != nil {
		h.ln.Failed(c) // counted, and reported a line a minute
		return
	}
	id := p.t.stream
	h.mu.Lock()
	if w := h.wait[id]; w != nil {
		if !p.verify(w.key) {
			h.mu.Unlock()
			h.ln.Failed(c)
			return
		}
		delete(h.wait, id)
		w.ch <- p // buffered, and only this sender: it never blocks
		h.mu.Unlock()
		return
	}
	var evicted *peer
	if q := h.parked[id]; len(q) >= parkMax {
		// More unchecked connections for one stream than a pipe makes:
		// the oldest goes (a producer that retried, or a stranger's).
		q[0].timer.Stop()
		evicted = q[0].p
		h.parked[id] = q[1:]
	}
	pk := &parking{p: p}
	pk.timer = time.AfterFunc(streamWait, func() {
		h.mu.Lock()
		h.parked[id] = slices.DeleteFunc(h.parked[id], func(x *parking) bool { return x == pk })
		if len(h.parked[id]) == 0 {
			delete(h.parked, id)
		}
		h.mu.Unlock()
		p.close()
	})
	h.parked[id] = append(h.parked[id], pk)
	h.mu.Unlock()
	if evicted != nil {
		h.ln.Failed(evicted.raw)
	}
}

// greet reads the dialer's hello, sets up TLS when it asks for it (it
// must, from another host), sends this side's nonce and reads the proof.
func (h *hub) greet(c *net.TCPConn) (*peer, error) {
	c.SetDeadline(time.Now().Add(shakeWait))
	line, err := readLine(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	stream, mode, nonceD, err := parseHello(line)
	if err != nil {
		c.Close()
		return nil, err
	}
	h.mu.Lock()
	known := h.expected[stream] > 0 || h.wait[stream] != nil
	h.mu.Unlock()
	if !known {
		c.Close()
		return nil, errUnexpected
	}
	p := &peer{raw: c, conn: c, t: transcript{stream: stream, mode: mode, nonceD: nonceD, nonceA: nonce()}}
	remote, _ := c.RemoteAddr().(*net.TCPAddr)
	if mode == modePlain && (remote == nil || !local(remote.IP)) {
		c.Close()
		return nil, errors.New("a plain stream from another host")
	}
	if mode == modeTLS {
		cfg, err := tlsConfig(true)
		if err != nil {
			c.Close()
			return nil, err
		}
		raw := newRawConn(c)
		tc := tls.Server(raw, cfg)
		if err := tc.Handshake(); err != nil {
			tc.Close()
			return nil, err
		}
		if p.t.binding, err = binding(tc); err != nil {
			tc.Close()
			return nil, err
		}
		p.conn, p.rawConn = tc, raw
	}
	if _, err := p.conn.Write(p.t.nonceA); err != nil {
		p.close()
		return nil, err
	}
	p.proof = make([]byte, proofLen)
	if _, err := io.ReadFull(p.conn, p.proof); err != nil {
		p.close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return p, nil
}

// readLine reads up to a newline one byte at a time, so that nothing after
// it is consumed: the rest belongs to the process or to TLS.
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
// at most streamWait or until ctx ends. An encrypted stream's relay joins
// rs, which its stage waits for.
func (h *hub) open(ctx context.Context, e client.End, write bool, logPath string, rs *relays) (*os.File, error) {
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
		return h.dial(ctx, e, rs)
	case e.Accept:
		return h.accept(ctx, e, rs)
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

// dial connects to the consuming agent, retrying while it is not there
// yet, and proves the stream's key; to another host, over TLS.
func (h *hub) dial(ctx context.Context, e client.End, rs *relays) (*os.File, error) {
	return h.dialIn(ctx, e, dialMode(ctx, e.Dial), rs)
}

// dialIn is dial in mode (plain or TLS).
func (h *hub) dialIn(ctx context.Context, e client.End, mode string, rs *relays) (*os.File, error) {
	key, err := streamKey(e.Key)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(streamWait)
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", e.Dial)
		if err == nil {
			tc := c.(*net.TCPConn)
			tune(tc)
			f, err := h.shake(ctx, tc, e, key, mode, deadline, rs)
			if err == nil {
				return f, nil
			}
			if !errors.Is(err, errClosedEarly) || ctx.Err() != nil || time.Now().After(deadline) {
				return nil, fmt.Errorf("stream to the next stage's machine at %s: %v", e.Dial, err)
			}
			// The consumer's assignment has not reached its agent yet:
			// it closed before its nonce. Again, until the deadline.
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

// shake is the dialer's handshake on c; it returns the producer's end.
func (h *hub) shake(ctx context.Context, c *net.TCPConn, e client.End, key []byte, mode string, deadline time.Time, rs *relays) (*os.File, error) {
	stop := context.AfterFunc(ctx, func() { c.Close() }) // a cancel ends the wait for the proof
	defer stop()
	t := &transcript{stream: e.Stream, mode: mode, nonceD: nonce()}
	c.SetWriteDeadline(time.Now().Add(shakeWait))
	if _, err := fmt.Fprintf(c, "%s %s %s %x\n", streamMagic, e.Stream, mode, t.nonceD); err != nil {
		c.Close()
		return nil, err
	}
	var conn net.Conn = c
	var tc *tls.Conn
	var raw *rawConn
	if mode == modeTLS {
		cfg, err := tlsConfig(false)
		if err != nil {
			c.Close()
			return nil, err
		}
		raw = newRawConn(c)
		tc = tls.Client(raw, cfg)
		c.SetReadDeadline(time.Now().Add(shakeWait))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, closedEarly(err)
		}
		if t.binding, err = binding(tc); err != nil {
			c.Close()
			return nil, err
		}
		conn = tc
	}
	if err := shakeDialer(conn, t, key, deadline); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	h.log.Info("stream connected", "stream", e.Stream, "to", e.Dial, "mode", mode)
	if tc != nil {
		tuneRelay(c)
		return rs.relay(tc, raw, e.Stream, true)
	}
	c.CloseRead() // a producer reads nothing: a peer that goes away gives it EPIPE
	return connFile(c)
}

// junctionIns are the input ends of a stage's junctions.
func junctionIns(js []client.Junction) []client.End {
	var ins []client.End
	for _, j := range js {
		ins = append(ins, j.In...)
	}
	return ins
}

// errClosedEarly: the listener closed the connection before its nonce
// (or, over TLS, before its handshake): it does not expect the stream yet.
var errClosedEarly = errors.New("the next stage's machine does not expect the stream yet")

// closedEarly marks err as errClosedEarly when it is the peer's close
// before it sent anything (EOF, a reset).
func closedEarly(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w: %v", errClosedEarly, err)
	}
	return err
}

// accept waits for the producer of stream e, checks its proof, and returns
// the consumer's end.
func (h *hub) accept(ctx context.Context, e client.End, rs *relays) (*os.File, error) {
	key, err := streamKey(e.Key)
	if err != nil {
		return nil, err
	}
	var found *peer
	var strangers []*peer
	h.mu.Lock()
	for _, pk := range h.parked[e.Stream] {
		pk.timer.Stop()
		if found == nil && pk.p.verify(key) {
			found = pk.p
		} else {
			strangers = append(strangers, pk.p)
		}
	}
	delete(h.parked, e.Stream)
	w := &waiting{key: key, ch: make(chan *peer, 1)}
	if found == nil {
		h.wait[e.Stream] = w
	}
	h.mu.Unlock()
	for _, p := range strangers {
		h.ln.Failed(p.raw) // counted, and closed
	}
	if found != nil {
		return h.consumer(found, key, rs)
	}
	t := time.NewTimer(streamWait)
	defer t.Stop()
	select {
	case p := <-w.ch:
		return h.consumer(p, key, rs)
	case <-ctx.Done():
	case <-t.C:
	}
	h.mu.Lock()
	if h.wait[e.Stream] == w {
		delete(h.wait, e.Stream)
	}
	var late *peer
	select {
	case late = <-w.ch: // it came just now (sent under h.mu, so not after this)
	default:
	}
	h.mu.Unlock()
	if late != nil {
		late.close()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("the previous stage never connected (waited %s)", streamWait)
}

// consumer is the consumer's end of a checked connection.
func (h *hub) consumer(p *peer, key []byte, rs *relays) (*os.File, error) {
	h.ln.Authenticated(p.raw) // no stranger's: never evicted for one
	if err := p.confirm(key); err != nil {
		p.close()
		return nil, fmt.Errorf("the previous stage's machine went away during the stream handshake: %v", err)
	}
	tune(p.raw)
	h.log.Info("stream connected", "stream", p.t.stream, "from", p.raw.RemoteAddr().String(), "mode", p.t.mode)
	if tc, ok := p.conn.(*tls.Conn); ok {
		tuneRelay(p.raw)
		return rs.relay(tc, p.rawConn, p.t.stream, false)
	}
	p.raw.CloseWrite() // a consumer writes nothing
	return connFile(p.raw)
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
