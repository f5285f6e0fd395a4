package agent

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// How two agents prove to each other that the server paired them for one
// stream. The server gives each stream its own random key (client.End.Key),
// carried only in the assignments of its two ends. The producer's agent
// dials the consumer's stream port and:
//
//	dialer   -> "burst-stream/2 STREAM MODE NONCE_D\n"   (MODE: plain | tls)
//	            [MODE tls: a TLS 1.3 handshake, the dialer as its client]
//	acceptor -> NONCE_A                 (32 fresh random bytes)
//	dialer   -> HMAC(key, "dial"   | STREAM | MODE | NONCE_D | NONCE_A | BINDING)
//	acceptor -> HMAC(key, "accept" | STREAM | MODE | NONCE_D | NONCE_A | BINDING)
//
// BINDING is empty for plain and, for tls, 32 bytes exported from the TLS
// session (RFC 5705 keying material): a proof is valid on the one
// connection it was made on, so a relay in the middle cannot pass one on.
// The acceptor's fresh nonce makes a recorded exchange worthless; the
// dialer's makes the acceptor's proof so. Proofs are compared in constant
// time (hmac.Equal). The acceptor may learn the key only after the proof
// came (its own assignment arrives later): the proof then waits, with its
// connection, until the key is known (park), and counts as a stranger's
// until it is checked.

const (
	streamMagic = "burst-stream/2"
	modePlain   = "plain"
	modeTLS     = "tls"
	nonceLen    = 32
	proofLen    = sha256.Size
	keyLen      = 32
	shakeWait   = 10 * time.Second // for a peer to say its part of a handshake
	exportLabel = "EXPORTER-burst-stream"
)

// errUnpaired is a peer that could not prove the stream's key.
var errUnpaired = errors.New("the peer did not prove the stream's key (not paired with this stage by the server)")

// streamKey decodes an end's key: 32 bytes, hex.
func streamKey(s string) ([]byte, error) {
	k, err := hex.DecodeString(s)
	if err != nil || len(k) != keyLen {
		return nil, errors.New("the stream's key is missing or malformed (a server older than this agent?): upgrade the server")
	}
	return k, nil
}

// transcript is what both proofs of one handshake cover.
type transcript struct {
	stream, mode   string
	nonceD, nonceA []byte
	binding        []byte
}

func (t *transcript) proof(key []byte, role string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range [][]byte{[]byte(streamMagic), []byte(role), []byte(t.stream), []byte(t.mode), t.nonceD, t.nonceA, t.binding} {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(part)>>24), byte(len(part)>>16), byte(len(part)>>8), byte(len(part))
		m.Write(n[:]) // length-prefixed: no two transcripts read alike
		m.Write(part)
	}
	return m.Sum(nil)
}

func nonce() []byte {
	b := make([]byte, nonceLen)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return b
}

// hello parses the dialer's first line.
func parseHello(line string) (stream, mode string, nonceD []byte, err error) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != streamMagic || (f[2] != modePlain && f[2] != modeTLS) || f[1] == "" {
		return "", "", nil, errors.New("not a stream handshake")
	}
	nonceD, err = hex.DecodeString(f[3])
	if err != nil || len(nonceD) != nonceLen {
		return "", "", nil, errors.New("not a stream handshake")
	}
	return f[1], f[2], nonceD, nil
}

// local reports whether ip is this machine's: loopback, or an address of
// one of its interfaces (those of its network namespace). A stream to or
// from such an address never leaves the host and is not encrypted.
func local(ip net.IP) bool {
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false // unknown: encrypt
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// dialMode is the mode a dialer asks for to reach addr (HOST:PORT): plain
// when every address of HOST is this machine's, else tls.
func dialMode(ctx context.Context, addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return modeTLS
	}
	if ip := net.ParseIP(host); ip != nil && local(ip) {
		return modePlain
	}
	if ips, err := net.DefaultResolver.LookupIPAddr(ctx, host); err == nil && len(ips) > 0 {
		for _, ip := range ips {
			if !local(ip.IP) {
				return modeTLS
			}
		}
		return modePlain
	}
	return modeTLS
}

// peer is a connection whose dialer has said its part of the handshake
// and waits for the acceptor's proof: the acceptor checks it once it knows
// the stream's key.
type peer struct {
	raw  *net.TCPConn // what the listener counts
	conn net.Conn     // raw, or the TLS session over it
	// rawConn is what TLS reads through (mode tls), else nil.
	rawConn *rawConn
	t       transcript
	proof   []byte
	once    sync.Once
}

// verify checks the dialer's proof with key: one HMAC, no system call (it
// runs under the hub's lock).
func (p *peer) verify(key []byte) bool {
	return hmac.Equal(p.proof, p.t.proof(key, "dial"))
}

// confirm sends the acceptor's proof, once the dialer's has held.
func (p *peer) confirm(key []byte) error {
	p.conn.SetWriteDeadline(time.Now().Add(shakeWait))
	if _, err := p.conn.Write(p.t.proof(key, "accept")); err != nil {
		return fmt.Errorf("stream handshake: %w", err)
	}
	p.conn.SetWriteDeadline(time.Time{})
	return nil
}

func (p *peer) close() { p.once.Do(func() { p.conn.Close() }) }

// shakeDialer says the dialer's part over c (after the hello): it reads the
// acceptor's nonce, proves the key and checks the acceptor's proof. It
// waits for that proof as long as ctx and wait allow: the consuming
// agent may not have the stage's assignment yet.
func shakeDialer(c net.Conn, t *transcript, key []byte, wait time.Time) error {
	c.SetReadDeadline(time.Now().Add(shakeWait))
	t.nonceA = make([]byte, nonceLen)
	if _, err := io.ReadFull(c, t.nonceA); err != nil {
		return fmt.Errorf("stream handshake: %w", closedEarly(err))
	}
	if _, err := c.Write(t.proof(key, "dial")); err != nil {
		return fmt.Errorf("stream handshake: %w", err)
	}
	c.SetReadDeadline(wait)
	got := make([]byte, proofLen)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("the next stage's machine refused the stream or never answered: %w", err)
	}
	c.SetReadDeadline(time.Time{})
	if !hmac.Equal(got, t.proof(key, "accept")) {
		return errors.New("the next stage's machine did not prove the stream's key: it is not the machine the server paired")
	}
	return nil
}
