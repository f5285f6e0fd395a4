package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustEnsure(t *testing.T, p Paths, sans []string, now time.Time) *Material {
	t.Helper()
	m, err := Ensure(p, sans, now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// verifyAt checks that m's leaf verifies against m's CA for name at t.
func verifyAt(m *Material, name string, at time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(m.CA)
	_, err := m.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: at})
	return err
}

func TestEnsureCreatesThenReuses(t *testing.T) {
	p := In(t.TempDir() + "/tls")
	now := time.Now()
	sans := []string{"localhost", "127.0.0.1", "lab.example.org"}
	m := mustEnsure(t, p, sans, now)
	if !m.Made || !m.Fresh {
		t.Fatalf("first Ensure: made %v fresh %v, want both", m.Made, m.Fresh)
	}
	if !m.CA.IsCA || m.CA.NotAfter.Sub(now) < CALifetime-time.Minute {
		t.Errorf("CA: IsCA %v, expires %s: want a CA of 10 years", m.CA.IsCA, m.CA.NotAfter)
	}
	if len(m.Cert.Certificate) != 2 {
		t.Errorf("served chain has %d certificates, want leaf and CA", len(m.Cert.Certificate))
	}
	for _, f := range []string{p.CA, p.CAKey, p.Cert, p.Key} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if err := verifyAt(m, "lab.example.org", now); err != nil {
		t.Errorf("leaf does not verify: %v", err)
	}
	again := mustEnsure(t, p, []string{"lab.example.org", "127.0.0.1", "localhost"}, now.Add(time.Hour))
	if again.Made || again.Fresh {
		t.Errorf("second Ensure with the same SANs: made %v fresh %v, want neither", again.Made, again.Fresh)
	}
	if !again.Leaf.Equal(m.Leaf) || Hash(again.CA) != Hash(m.CA) {
		t.Error("second Ensure changed the certificates")
	}
}

func TestEnsureReissuesForNewSANsAndExpiry(t *testing.T) {
	p := In(t.TempDir())
	now := time.Now()
	m := mustEnsure(t, p, []string{"localhost"}, now)
	// Another SAN: same CA, a new leaf that holds it.
	m2 := mustEnsure(t, p, []string{"localhost", "10.252.0.1"}, now)
	if m2.Made || !m2.Fresh {
		t.Fatalf("new SAN: made %v fresh %v, want a fresh leaf from the same CA", m2.Made, m2.Fresh)
	}
	if Hash(m2.CA) != Hash(m.CA) {
		t.Error("new SAN changed the CA")
	}
	if !slices.ContainsFunc(m2.Leaf.IPAddresses, func(ip net.IP) bool { return ip.String() == "10.252.0.1" }) {
		t.Errorf("new leaf's addresses %v lack 10.252.0.1", m2.Leaf.IPAddresses)
	}
	// 31 days before it ends: kept; 29 days before: issued anew.
	end := m2.Leaf.NotAfter
	if m3 := mustEnsure(t, p, []string{"localhost", "10.252.0.1"}, end.Add(-31*24*time.Hour)); m3.Fresh {
		t.Error("leaf 31 days from its end was issued anew")
	}
	m4 := mustEnsure(t, p, []string{"localhost", "10.252.0.1"}, end.Add(-29*24*time.Hour))
	if !m4.Fresh || !m4.Leaf.NotAfter.After(end) {
		t.Errorf("leaf 29 days from its end: fresh %v, ends %s (was %s)", m4.Fresh, m4.Leaf.NotAfter, end)
	}
	if Hash(m4.CA) != Hash(m.CA) {
		t.Error("renewal changed the CA")
	}
}

// A certificate made on a host whose clock is 10 minutes ahead or behind
// verifies on a host with the right time (issue #15: clock skew of minutes
// between hosts).
func TestEnsureToleratesClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		p := In(t.TempDir())
		now := time.Now()
		m := mustEnsure(t, p, []string{"localhost"}, now.Add(skew))
		if err := verifyAt(m, "localhost", now); err != nil {
			t.Errorf("made with the clock %s off, verified now: %v", skew, err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(m.CA)
		if _, err := m.CA.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now}); err != nil {
			t.Errorf("CA made with the clock %s off: %v", skew, err)
		}
	}
}

func TestSANs(t *testing.T) {
	addrs := []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("127.0.0.1"), net.ParseIP("fe80::1"), net.ParseIP("2001:db8::7")}
	got := SANs("0.0.0.0", "node7", addrs, []string{"Lab.Example.org", "10.9.9.9"})
	want := []string{"10.0.0.5", "10.9.9.9", "127.0.0.1", "2001:db8::7", "::1", "lab.example.org", "localhost", "node7"}
	if !slices.Equal(got, want) {
		t.Errorf("SANs(0.0.0.0) = %v, want %v", got, want)
	}
	got = SANs("10.252.0.1", "node7", addrs, nil)
	want = []string{"10.252.0.1", "127.0.0.1", "::1", "localhost", "node7"}
	if !slices.Equal(got, want) {
		t.Errorf("SANs(10.252.0.1) = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "a b", "https://x", "x:80"} {
		if CheckSAN(bad) == nil {
			t.Errorf("CheckSAN(%q) accepted it", bad)
		}
	}
}

// The served chain (leaf + CA) is what Pinned needs: a client pinning the
// CA's hash talks to a server that serves it, and one pinning another
// hash is refused naming both.
func TestPinnedAgainstEnsured(t *testing.T) {
	m := mustEnsure(t, In(t.TempDir()), []string{"127.0.0.1", "localhost"}, time.Now())
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{m.Cert}}
	srv.StartTLS()
	defer srv.Close()
	get := func(pin string) error {
		cfg, err := Pinned(pin, "127.0.0.1", nil)
		if err != nil {
			return err
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := hc.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(Hash(m.CA)); err != nil {
		t.Errorf("right pin: %v", err)
	}
	other := mustEnsure(t, In(t.TempDir()), []string{"localhost"}, time.Now())
	err := get(Hash(other.CA))
	if err == nil {
		t.Fatal("wrong pin accepted")
	}
	for _, h := range []string{Hash(other.CA), Hash(m.CA)} {
		if !strings.Contains(err.Error(), h) {
			t.Errorf("wrong pin's error %q does not name %s", err, h)
		}
	}
}
