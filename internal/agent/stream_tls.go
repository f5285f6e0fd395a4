package agent

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Streams between hosts are TLS 1.3. Who is at the other end is proven by
// the pairing (stream_pair.go: both ends prove the stream's key over keying
// material exported from this very TLS session), not by certificates: the
// acceptor presents a certificate made when its agent started, which the
// dialer does not check, and nothing else would be gained by checking it:
// a stranger could present one as well, but could not then prove the key
// bound to the session it made. This needs nothing from the server beyond
// the key each stream already carries (no certificate to issue per stream
// or per agent, no hash to carry), and a stream's secret lives as long as
// its stage.
//
// The kernel has no kTLS here, so the agent relays: the stage's process
// gets an OS pipe, and one goroutine per stream moves its bytes through
// TLS (AES-GCM, which Go prefers where the CPU has AES instructions), with
// large reads and no allocation per record.

const relayBuf = 256 << 10 // one read of the relay, either side

// A relay's keepalives: a dead idle peer ends its stream after about
// keepIdle + keepCount*keepIntvl. Variables so that a test can shorten
// them (TestRelayPauseOutlastsKeepalive).
var (
	keepIdle  = 15 * time.Second
	keepIntvl = 5 * time.Second
	keepCount = 3
)

var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certErr  error
)

// agentCert is the certificate this agent presents as a TLS server: made
// once, in memory (ECDSA P-256), never written anywhere.
func agentCert() (tls.Certificate, error) {
	certOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "burst stream"},
			NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			certErr = err
			return
		}
		certTLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	})
	return certTLS, certErr
}

func tlsConfig(server bool) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Full records from the first byte: a stream is bulk data.
		DynamicRecordSizingDisabled: true,
	}
	if server {
		c, err := agentCert()
		if err != nil {
			return nil, fmt.Errorf("make the stream certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
		return cfg, nil
	}
	// The peer is authenticated by the key proof bound to this session
	// (see above), not by its certificate.
	cfg.InsecureSkipVerify = true
	return cfg, nil
}

// binding is the keying material both proofs of a TLS stream cover.
func binding(c *tls.Conn) ([]byte, error) {
	st := c.ConnectionState()
	return st.ExportKeyingMaterial(exportLabel, nil, 32)
}

// rawConn is the TCP connection under a TLS session: reads are buffered
// (large reads, whatever the size of a record), and it remembers whether
// the TCP stream itself ended. Go's TLS takes an end of the TCP stream at
// a record boundary for a clean end; a clean end of a burst stream is a
// close_notify alert, after which TLS reads no more: so an end seen here
// is a peer gone mid-stream.
//
// Writes, once batch is set (after the handshake), gather in wbuf until
// flush: the records of one relay read (a TLS record holds 16 KiB at most)
// go out in one system call, not one each.
type rawConn struct {
	*net.TCPConn
	r      *bufio.Reader
	tcpEOF bool
	batch  bool
	wbuf   []byte
}

func newRawConn(c *net.TCPConn) *rawConn {
	return &rawConn{TCPConn: c, r: bufio.NewReaderSize(c, relayBuf)}
}

func (c *rawConn) Write(b []byte) (int, error) {
	if !c.batch {
		return c.TCPConn.Write(b)
	}
	if len(c.wbuf)+len(b) > cap(c.wbuf) {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	c.wbuf = append(c.wbuf, b...)
	return len(b), nil
}

func (c *rawConn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.TCPConn.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

func (c *rawConn) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if err == io.EOF {
		c.tcpEOF = true
	}
	return n, err
}

// tuneRelay makes a dead idle peer (a host gone, a network cut) end the
// stream within about a minute: keepalives. It sets no TCP_USER_TIMEOUT:
// on Linux 5.11 and later that also ends a connection whose live peer
// stopped reading (its zero-window probes count), so a consumer that
// pauses past it would kill the pipe; a host lost while data waits is the
// lease's business (its machine is declared lost, the pipe runs again).
func tuneRelay(c *net.TCPConn) {
	c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: keepIdle, Interval: keepIntvl, Count: keepCount})
}

// relays are the relay goroutines of one stage: the stage is over when they
// are, and a stream that broke makes it fail.
type relays struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
	conns []net.Conn
	ins   []net.Conn // the streams into the stage
	done  bool       // its processes have ended: nothing reads the streams in
}

// wait is called once the stage's process (and its junctions) ended: the
// streams into it are closed (nothing reads them any more, and a producer
// on a host gone silent must not keep the stage's end waiting), those out
// of it finish sending what was written. It returns the first stream in
// that broke before.
func (rs *relays) wait() error {
	if rs == nil {
		return nil
	}
	rs.mu.Lock()
	rs.done = true
	ins := rs.ins
	rs.mu.Unlock()
	for _, c := range ins {
		c.Close()
	}
	rs.wg.Wait()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.err
}

// abort ends every relay (their stage never started).
func (rs *relays) abort() {
	if rs == nil {
		return
	}
	rs.mu.Lock()
	for _, c := range rs.conns {
		c.Close()
	}
	rs.mu.Unlock()
}

func (rs *relays) fail(err error) {
	rs.mu.Lock()
	// A stream broken before its reader ended was seen by it as an end:
	// that is the failure (recorded before the reader's pipe is closed).
	if rs.err == nil && !rs.done {
		rs.err = err
	}
	rs.mu.Unlock()
}

// relay starts moving a TLS stream's bytes: for a producer (write), from
// the pipe its process writes into to c; else from c into the pipe its
// process reads. It returns the process's end of the pipe.
func (rs *relays) relay(c *tls.Conn, raw *rawConn, stream string, write bool) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		c.Close()
		return nil, err
	}
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeBuf)
	rs.mu.Lock()
	rs.conns = append(rs.conns, c)
	if !write {
		rs.ins = append(rs.ins, c)
	}
	rs.mu.Unlock()
	rs.wg.Add(1)
	if write {
		raw.wbuf = make([]byte, 0, relayBuf+relayBuf/8) // a read's records and their overhead
		raw.batch = true
		go func() {
			defer rs.wg.Done()
			sendStream(c, raw, r)
		}()
		return w, nil
	}
	go func() {
		defer rs.wg.Done()
		err := recvStream(c, raw, w)
		if err != nil {
			rs.fail(fmt.Errorf("stream %s from the previous stage broke: %v", stream, err))
		}
		// Only now does the consumer see its input end: a stage that ends
		// on it finds the break already recorded (wait).
		w.Close()
	}()
	return r, nil
}

// sendStream copies what the producer writes into c until it closes its
// end, then ends the stream cleanly (close_notify). When the stream fails
// (the consumer stopped reading, its host went away), it closes the pipe:
// the producer gets EPIPE, as with a socket of its own.
func sendStream(c *tls.Conn, raw *rawConn, from *os.File) {
	defer from.Close()
	defer c.Close()
	buf := make([]byte, relayBuf)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			if raw.flush() != nil {
				return
			}
		}
		if err != nil {
			// The producer closed its end: the stream is whole, and its
			// end is TLS's close_notify, written at once (TLS sets a
			// deadline around it).
			raw.batch = false
			c.CloseWrite()
			return
		}
	}
}

// recvStream copies the stream from c into the consumer's pipe. It returns
// an error when the stream ended without its producer's close_notify (the
// producer's agent or host went away): the consumer then sees its input
// end, and its stage fails rather than passing a truncated stream for
// whole. A consumer that stops reading ends the stream (its producer gets
// EPIPE) and is no error.
//
// It leaves to open: its caller closes it once it has recorded the error.
func recvStream(c *tls.Conn, raw *rawConn, to *os.File) error {
	defer c.Close()
	buf := make([]byte, relayBuf)
	for {
		n, err := c.Read(buf)
		// A read gives one record (16 KiB at most): while more have come
		// already, gather them, so that the pipe gets large writes.
		for err == nil && raw.r.Buffered() > 0 && n < len(buf)-(16<<10) {
			var m int
			m, err = c.Read(buf[n:])
			n += m
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				if errors.Is(werr, syscall.EPIPE) {
					return nil
				}
				return werr
			}
		}
		switch {
		case err == nil:
		case err == io.EOF && !raw.tcpEOF:
			return nil // close_notify: the whole stream came
		case err == io.EOF:
			return errors.New("the connection ended before the stream did")
		default:
			return err
		}
	}
}
