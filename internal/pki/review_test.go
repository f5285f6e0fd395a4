package pki

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With only ca-key.pem missing (an admin keeping it offline), Ensure makes
// no new CA: ca.pem stays as it was, a current server certificate is
// served, and one due anew is an error that names the missing key.
func TestEnsureCAKeyMissing(t *testing.T) {
	p := In(t.TempDir() + "/tls")
	now := time.Now()
	sans := []string{"localhost", "lab.example.org"}
	first := mustEnsure(t, p, sans, now)
	caBefore, _ := os.ReadFile(p.CA)
	if err := os.Rename(p.CAKey, p.CAKey+".offline"); err != nil {
		t.Fatal(err)
	}
	m, err := Ensure(p, sans, now.Add(time.Hour))
	if err != nil {
		t.Fatalf("a current certificate without the CA key: %v", err)
	}
	if m.Made || m.Fresh || Hash(m.CA) != Hash(first.CA) {
		t.Errorf("made %v fresh %v, CA %s (was %s): want the same CA and certificate", m.Made, m.Fresh, Hash(m.CA), Hash(first.CA))
	}
	// A new SAN needs a new certificate, which needs the key.
	_, err = Ensure(p, append(sans, "other.example.org"), now.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), p.CAKey) || !strings.Contains(err.Error(), "put the CA key back") {
		t.Fatalf("re-issue without the CA key: %v, want an error naming %s and how to supply it", err, p.CAKey)
	}
	if _, serr := os.Stat(p.CAKey); serr == nil {
		t.Error("Ensure wrote a CA key")
	}
	if after, _ := os.ReadFile(p.CA); !bytes.Equal(after, caBefore) {
		t.Error("ca.pem was overwritten")
	}
	// Put back, it issues again under the same CA.
	os.Rename(p.CAKey+".offline", p.CAKey)
	m = mustEnsure(t, p, append(sans, "other.example.org"), now.Add(time.Hour))
	if m.Made || !m.Fresh || Hash(m.CA) != Hash(first.CA) {
		t.Errorf("with the key back: made %v fresh %v", m.Made, m.Fresh)
	}
}

// With only ca.pem missing, Ensure fails naming it and writes nothing.
func TestEnsureCACertMissing(t *testing.T) {
	p := In(t.TempDir() + "/tls")
	now := time.Now()
	mustEnsure(t, p, []string{"localhost"}, now)
	keyBefore, _ := os.ReadFile(p.CAKey)
	os.Remove(p.CA)
	_, err := Ensure(p, []string{"localhost"}, now)
	if err == nil || !strings.Contains(err.Error(), p.CA+" is missing") {
		t.Fatalf("Ensure without ca.pem: %v, want an error naming %s", err, p.CA)
	}
	if _, serr := os.Stat(p.CA); serr == nil {
		t.Error("Ensure made a new ca.pem")
	}
	if after, _ := os.ReadFile(p.CAKey); !bytes.Equal(after, keyBefore) {
		t.Error("ca-key.pem was overwritten")
	}
}

// A leftover server-key.pem.tmp (0644, or a symlink elsewhere) of an
// interrupted write neither widens the key's mode nor is followed.
func TestEnsureIgnoresLeftoverTemp(t *testing.T) {
	dir := t.TempDir() + "/tls"
	p := In(dir)
	os.MkdirAll(dir, 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	if err := os.Symlink(victim, p.CAKey+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.Key+".tmp", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustEnsure(t, p, []string{"localhost"}, time.Now())
	for _, f := range []string{p.CAKey, p.Key} {
		fi, err := os.Lstat(f)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want a regular file 0600", f, fi.Mode())
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the planted symlink was followed: %q", b)
	}
}
