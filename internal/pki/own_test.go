package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func mkCert(t *testing.T, name string, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, IsCA: isCA,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, DNSNames: []string{"lab.example.org"}}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// An admin's chain a public CA issued (its root among the roots, an
// intermediate that changes at renewal, as Let's Encrypt's fullchain.pem)
// publishes no pin; one that ends in a self-signed root of the admin's
// own pins that root, never the intermediate.
func TestLoadOwnPinsOnlyOwnRoot(t *testing.T) {
	root, rootKey := mkCert(t, "root", true, nil, nil)
	inter, interKey := mkCert(t, "intermediate", true, root, rootKey)
	leaf, leafKey := mkCert(t, "lab", false, inter, interKey)
	dir := t.TempDir()
	write := func(certs ...*x509.Certificate) (string, string) {
		cf, kf := filepath.Join(dir, "chain.pem"), filepath.Join(dir, "key.pem")
		var b []byte
		for _, c := range certs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		kd, _ := x509.MarshalPKCS8PrivateKey(leafKey)
		os.WriteFile(cf, b, 0o600)
		os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
		return cf, kf
	}
	public := x509.NewCertPool()
	public.AddCert(root)
	cf, kf := write(leaf, inter)
	if _, ca, err := LoadOwn(cf, kf, public); err != nil || ca != nil {
		t.Errorf("fullchain of a trusted root: ca %v err %v, want no pin", ca, err)
	}
	if _, ca, err := LoadOwn(cf, kf, x509.NewCertPool()); err != nil || ca != nil {
		t.Errorf("chain ending in an intermediate: ca %v err %v, want no pin", ca, err)
	}
	cf, kf = write(leaf, inter, root)
	if _, ca, err := LoadOwn(cf, kf, x509.NewCertPool()); err != nil || ca == nil || Hash(ca) != Hash(root) {
		t.Errorf("chain ending in its own root: ca %v err %v, want the root pinned", ca, err)
	}
}
