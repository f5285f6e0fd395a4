package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

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
}

// setupTLS makes (or reuses) the certificate the --listen listener serves
// on listenHost, or loads the admin's own.
func (s *Server) setupTLS(t TLS, listenHost string) (*tlsState, error) {
	st := &tlsState{}
	var cert tls.Certificate
	if t.Cert != "" {
		c, ca, err := pki.LoadOwn(t.Cert, t.Key)
		if err != nil {
			return nil, err
		}
		cert = c
		if ca != nil {
			st.caFile, st.caHash = t.Cert, pki.Hash(ca)
		}
	} else {
		host, _ := os.Hostname()
		sans := pki.SANs(listenHost, host, hostAddrs(), t.SANs)
		p := pki.In(filepath.Join(string(s.home), "tls"))
		m, err := pki.Ensure(p, sans, time.Now())
		if err != nil {
			return nil, err
		}
		if m.Made {
			s.log.Info("created this server's CA", "ca", p.CA, "ca_hash", pki.Hash(m.CA))
		}
		if m.Fresh {
			s.log.Info("issued the server's TLS certificate", "cert", p.Cert, "sans", sans, "expires", m.Leaf.NotAfter)
		}
		cert = m.Cert
		st.caFile, st.caHash = p.CA, pki.Hash(m.CA)
	}
	st.cfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	return st, nil
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
// Listener.HTTP) see the TCP connection under a TLS one: netlimit knows
// connections by what it accepted.
func plainConns(srv *http.Server) {
	connCtx, connState := srv.ConnContext, srv.ConnState
	under := func(c net.Conn) net.Conn {
		if tc, ok := c.(*tls.Conn); ok {
			return tc.NetConn()
		}
		return c
	}
	if connCtx != nil {
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context { return connCtx(ctx, under(c)) }
	}
	if connState != nil {
		srv.ConnState = func(c net.Conn, st http.ConnState) { connState(under(c), st) }
	}
}
