package client

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/pki"
)

// A credential never goes over plain http:// to a host beyond loopback;
// loopback (and a request with no credential) may use it.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"http://10.0.0.5:7780", "http://lab.example.org:7780/", "http://[2001:db8::1]:7780"} {
		_, err := New(addr, "burst_u_secret")
		if err == nil || !strings.Contains(err.Error(), "use https://") {
			t.Errorf("New(%s) with a credential: %v, want a refusal naming https://", addr, err)
		}
	}
	for _, addr := range []string{"http://127.0.0.1:7780", "http://localhost:7780", "http://[::1]:7780"} {
		if _, err := New(addr, "tok"); err != nil {
			t.Errorf("New(%s): %v", addr, err)
		}
	}
}

// An https:// address that answers plain HTTP: on loopback the hint is
// http://; beyond it, never (that would send the credential in clear to
// whoever answered), but that the server does not speak TLS.
func TestPlainAnswerToTLS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, err := New("https://"+host, "tok", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Whoami(t.Context())
	if err == nil || !strings.Contains(err.Error(), "use http://"+host) {
		t.Errorf("loopback: %v, want the http:// hint", err)
	}
	// The same failure from a host beyond loopback (the error as the
	// transport gives it; no test may reach such a host).
	rec := &url.Error{Op: "Get", URL: "https://lab.example.org:7780/v1/whoami", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}
	err = tlsFailure(rec, "https://lab.example.org:7780")
	if err == nil || strings.Contains(err.Error(), "http://") || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("beyond loopback: %v, want no http:// hint and that it does not speak TLS", err)
	}
}

// A chain that holds the pinned CA but whose leaf another CA signed: the
// error says the leaf does not verify against the pinned CA, not to log in
// with a pin (the user did).
func TestPinnedLeafNotSigned(t *testing.T) {
	pinned, err := pki.Ensure(pki.In(t.TempDir()), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.Ensure(pki.In(t.TempDir()), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	chain := other.Cert
	chain.Certificate = [][]byte{other.Leaf.Raw, pinned.CA.Raw}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{chain}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	c, err := New(srv.URL+"#"+pki.Hash(pinned.CA), "tok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Whoami(t.Context())
	if err == nil || !strings.Contains(err.Error(), "does not verify against the pinned CA") || strings.Contains(err.Error(), "sha256:HASH") {
		t.Errorf("leaf not signed by the pinned CA: %v", err)
	}
}

// The dashboard's sign-in link names the address the client reached the
// server at: a server on all addresses names itself by its host name,
// which a laptop that logged in by the server's address may not resolve.
func TestUICodeNamesTheAddressUsed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"code":"c0de","url":"https://lab-ws:7780/ui/login?code=c0de"}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, "tok", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.UICode(t.Context())
	if err != nil || u.URL != srv.URL+"/ui/login?code=c0de" {
		t.Fatalf("UICode: %+v, %v; want the link at %s", u, err, srv.URL)
	}
}
