package server

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/home"
)

// The served certificate is made again by renew (run once a day), with no
// restart: a server up past its certificate's end serves a new one. The
// listener's GetCertificate reads no file.
func TestTLSRenewWithoutRestart(t *testing.T) {
	s := &Server{home: home.Home(t.TempDir()), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	st, err := s.setupTLS(TLS{}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	get := func() *tls.Certificate {
		c, err := st.cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := get().Leaf
	later := first.NotAfter.Add(-time.Hour) // within RenewBefore of its end
	if err := st.renew(later); err != nil {
		t.Fatal(err)
	}
	next := get().Leaf
	if !next.NotAfter.After(first.NotAfter) {
		t.Errorf("after renew at %s: serves a certificate ending %s, want one after %s", later, next.NotAfter, first.NotAfter)
	}
}

// Failed handshakes are counted, not written one line each, and reported
// once per period.
func TestHandshakeLogCounts(t *testing.T) {
	var mu sync.Mutex
	var out strings.Builder
	w := writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(b) })
	hl := &handshakeLog{log: slog.New(slog.NewTextHandler(w, nil))}
	l := log.New(hl, "", 0)
	for i := 0; i < 200; i++ {
		l.Printf("http: TLS handshake error from 10.0.0.9:%d: remote error: tls: bad certificate", 1000+i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hl.report(ctx, 10*time.Millisecond, "127.0.0.1:7780") }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if strings.Contains(s, "count=200") {
			if n := strings.Count(s, "\n"); n != 1 {
				t.Errorf("200 failed handshakes wrote %d lines, want 1: %s", n, s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report of 200 failed handshakes: %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
