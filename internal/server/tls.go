package server

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/atomicfile"
	"github.com/burst-sh/burst/internal/pki"
)

// TLS is how the --listen listener serves TLS (docs/security-tls.md). The
// unix socket and the default 127.0.0.1 listener never do: only this
// host's users reach them, and they hold the token file anyway.
type TLS struct {
	// Force serves TLS on a loopback --listen too (behind a port forward).
	// A listen address that is not loopback (127.0.0.0/8, ::1) always does.
	Force bool
	// Cert and Key are the admin's own certificate chain and key; when
	// empty, the home's own CA ($BURST_HOME/tls) issues one.
	Cert, Key string
	// SANs are more names and addresses the issued certificate holds.
	SANs []string
}

// Loopback says whether host (of a listen address) is a loopback address:
// 127.0.0.0/8 or ::1. A name is not: it may resolve to anything.
func Loopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsState is what the TLS listener serves, for health and server info.
type tlsState struct {
	cfg    *tls.Config
	caFile string // the CA clients may trust ("" for an admin's chain without one)
	caHash string // its pin; "" when clients verify by their system roots
	// load makes the certificate served from now on: pki.Ensure (which
	// issues one anew when it nears its end), or the admin's files read
	// again. The listener serves cert, which renew replaces.
	load func(now time.Time) (*tls.Certificate, error)
	cert atomic.Pointer[tls.Certificate]
}

// RenewEvery is how often a server that serves TLS makes its certificate
// again (see renewTLS): a server up for more than a year never serves an
// expired one.
const RenewEvery = 24 * time.Hour

// setupTLS makes (or reuses) the certificate the --listen listener serves
// on listenHost, or loads the admin's own.
func (s *Server) setupTLS(t TLS, listenHost string) (*tlsState, error) {
	st := &tlsState{}
	if t.Cert != "" {
		_, ca, err := pki.LoadOwn(t.Cert, t.Key, nil)
		if err != nil {
			return nil, err
		}
		if ca != nil {
			// The CA alone, for clients to trust: the chain's file holds
			// the leaf too.
			st.caFile, st.caHash = filepath.Join(s.home.TLS(), "own-ca.pem"), pki.Hash(ca)
			if err := os.MkdirAll(s.home.TLS(), 0o700); err != nil {
				return nil, err
			}
			if err := atomicfile.Write(st.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})); err != nil {
				return nil, err
			}
		}
		st.load = func(time.Time) (*tls.Certificate, error) {
			c, _, err := pki.LoadOwn(t.Cert, t.Key, nil)
			return &c, err
		}
	} else {
		host, _ := os.Hostname()
		sans := pki.SANs(listenHost, host, hostAddrs(), t.SANs)
		p := pki.In(s.home.TLS())
		st.load = func(now time.Time) (*tls.Certificate, error) {
			m, err := pki.Ensure(p, sans, now)
			if err != nil {
				return nil, err
			}
			if m.Made {
				s.log.Info("created this server's CA", "ca", p.CA, "ca_hash", pki.Hash(m.CA))
			}
			if m.Fresh {
				s.log.Info("issued the server's TLS certificate", "cert", p.Cert, "sans", sans, "expires", m.Leaf.NotAfter)
			}
			return &m.Cert, nil
		}
	}
	c, err := st.load(time.Now())
	if err != nil {
		return nil, err
	}
	st.cert.Store(c)
	if t.Cert == "" {
		p := pki.In(s.home.TLS())
		ca, err := pki.ReadCert(p.CA)
		if err != nil {
			return nil, err
		}
		st.caFile, st.caHash = p.CA, pki.Hash(ca)
	}
	st.cfg = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return st.cert.Load(), nil // no file read per handshake
	}}
	return st, nil
}

// renew makes the certificate served from now on; on failure the one
// served stays (it may be valid for weeks yet) and the error says why.
func (st *tlsState) renew(now time.Time) error {
	c, err := st.load(now)
	if err != nil {
		return err
	}
	st.cert.Store(c)
	return nil
}

// renewTLS renews the served certificate every RenewEvery until ctx ends.
func (s *Server) renewTLS(ctx context.Context) {
	every(ctx, RenewEvery, false, nil, func() {
		if err := s.tls.renew(time.Now()); err != nil {
			s.log.Error("renew the server's TLS certificate (the one served stays until it expires)", "err", err)
		}
	})
}

// handshakeLog is the TLS listener's http.Server.ErrorLog: a failed
// handshake (any stranger can cause one) is counted, not written, and the
// count is reported once a minute (report); anything else goes to the
// server's log.
type handshakeLog struct {
	failed atomic.Int64
	log    *slog.Logger
}

func (h *handshakeLog) Write(b []byte) (int, error) {
	line := strings.TrimSpace(string(b))
	if strings.Contains(line, "TLS handshake error") {
		h.failed.Add(1)
	} else {
		h.log.Warn("API server", "err", strings.TrimPrefix(line, "http: "))
	}
	return len(b), nil
}

// report logs, at most once every d, how many handshakes failed since
// the last report, until ctx ends.
func (h *handshakeLog) report(ctx context.Context, d time.Duration, addr string) {
	var told int64
	every(ctx, d, false, nil, func() {
		if n := h.failed.Load(); n > told {
			h.log.Warn("API port: TLS handshakes failed (a client that does not trust this server's CA, or a stranger)", "count", n-told, "addr", addr)
			told = n
		}
	})
}

// hostAddrs are this host's addresses (the certificate of a server that
// listens on all of them names each).
func hostAddrs() []net.IP {
	as, _ := net.InterfaceAddrs()
	var out []net.IP
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP)
		}
	}
	return out
}

// agentAddr is the address agents elsewhere (Slurm pilots) are given: the
// server's URL, with the CA's pin when it serves TLS, so that they verify
// it whatever their own trust store holds.
func (s *Server) agentAddr() string {
	if s.tls != nil && s.tls.caHash != "" {
		return s.addr + "#" + s.tls.caHash
	}
	return s.addr
}

// plainConns makes srv's connection hooks (netlimit's, set by
// Listener.HTTP) see the TCP connection under a TLS one (and under its
// api.BatchConn): netlimit knows connections by what it accepted. A
// request's context carries the BatchConn (api.WithBatchConn).
func plainConns(srv *http.Server) {
	connCtx, connState := srv.ConnContext, srv.ConnState
	under := func(c net.Conn) net.Conn {
		if tc, ok := c.(*tls.Conn); ok {
			c = tc.NetConn()
		}
		if bc, ok := c.(*api.BatchConn); ok {
			c = bc.Conn
		}
		return c
	}
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if tc, ok := c.(*tls.Conn); ok {
			ctx = api.WithBatchConn(ctx, tc.NetConn()) // writeBlob's batches
		}
		if connCtx != nil {
			ctx = connCtx(ctx, under(c))
		}
		return ctx
	}
	if connState != nil {
		srv.ConnState = func(c net.Conn, st http.ConnState) { connState(under(c), st) }
	}
}
