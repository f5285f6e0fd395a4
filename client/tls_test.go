package client

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/pki"
)

// An https:// server is verified by the pin, else WithCA; a failure is one
// line naming the fix, and is not asked again (DefaultRetry would ask for
// 30 s: a wrong CA does not go away by waiting).
func TestTLSVerification(t *testing.T) {
	m, err := pki.Ensure(pki.In(t.TempDir()), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name":"ada","kind":"admin","admin":true}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{m.Cert}}
	srv.StartTLS()
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.CA.Raw})
	t.Setenv(CAEnv, "")

	whoami := func(addr string, opts ...Option) error {
		c, err := New(addr, "tok", opts...)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = c.Whoami(ctx)
		return err
	}
	if err := whoami(srv.URL + "#" + pki.Hash(m.CA)); err != nil {
		t.Errorf("pinned: %v", err)
	}
	if err := whoami(srv.URL, WithCA(caPEM)); err != nil {
		t.Errorf("WithCA: %v", err)
	}
	start := time.Now()
	err = whoami(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "not signed by a CA this machine trusts") || !strings.Contains(err.Error(), "burst login "+srv.URL+"#sha256:") {
		t.Errorf("no CA: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("no CA: asked again for %s", d)
	}
	// The certificate holds 127.0.0.1, not localhost.
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if err := whoami(other, WithCA(caPEM)); err == nil || !strings.Contains(err.Error(), "--tls-san localhost") {
		t.Errorf("wrong name: %v", err)
	}
	if _, _, err := SplitPin("http://h:1#" + pki.Hash(m.CA)); err == nil {
		t.Error("a pin on http:// was accepted")
	}
	if _, _, err := SplitPin("https://h:1#sha256:abc"); err == nil {
		t.Error("a short pin was accepted")
	}
}
