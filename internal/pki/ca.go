package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/atomicfile"
)

// Lifetimes of what Ensure issues, and when it issues a server certificate
// anew.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 397 * 24 * time.Hour // what browsers accept for a leaf
	RenewBefore    = 30 * 24 * time.Hour
	// Backdate is how far before its making a certificate becomes valid: a
	// host whose clock runs minutes behind the server's still accepts a
	// certificate made a moment ago.
	Backdate = time.Hour
)

// Material is a home's TLS material as Ensure left it.
type Material struct {
	CA    *x509.Certificate
	Cert  tls.Certificate // leaf then CA: what the server presents
	Leaf  *x509.Certificate
	Made  bool // the CA was created now
	Fresh bool // the server certificate was issued now
}

// Ensure makes sure p holds a CA and a server certificate signed by it for
// exactly sans (names and IP addresses), as of now: it creates the CA when
// neither its certificate nor its key is there, and issues the server
// certificate when there is none, it names other SANs, it does not verify
// against the CA, or it expires within RenewBefore. Keys are written 0600,
// every file atomically.
//
// When only one of ca.pem and ca-key.pem is there it makes no new CA (that
// would break every login and machine that pinned the old one): without
// the key (an admin who keeps it offline) a current server certificate is
// served as it is, and one due anew is an error naming the missing key;
// without ca.pem it is an error naming it.
func Ensure(p Paths, sans []string, now time.Time) (*Material, error) {
	m := &Material{}
	dir := filepath.Dir(p.CA)
	_, cerr := os.Stat(p.CA)
	_, kerr := os.Stat(p.CAKey)
	var (
		ca    *x509.Certificate
		caKey crypto.Signer
		err   error
	)
	switch {
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
		if ca, caKey, err = newCA(now); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := writePair(p.CA, p.CAKey, ca.Raw, caKey); err != nil {
			return nil, err
		}
		m.Made = true
	case errors.Is(cerr, fs.ErrNotExist):
		return nil, fmt.Errorf("the CA certificate %s is missing while its key %s is there: restore ca.pem from a backup (a new CA would break every login and machine that pinned this one); to start over with a new CA, move %s aside and give logins and machines the new hash", p.CA, p.CAKey, dir)
	case errors.Is(kerr, fs.ErrNotExist):
		if ca, err = ReadCert(p.CA); err != nil {
			return nil, fmt.Errorf("the CA in %s: %w", p.CA, err)
		}
	default:
		if ca, caKey, err = loadPair(p.CA, p.CAKey); err != nil {
			return nil, fmt.Errorf("the CA in %s: %w (move the directory aside to make a new CA; agents and logins that pinned the old one must then be given the new hash)", dir, err)
		}
	}
	m.CA = ca
	want := normSANs(sans)
	leaf, key, err := loadPair(p.Cert, p.Key)
	if err != nil || !current(leaf, key, ca, want, now) {
		if caKey == nil {
			why := "there is none"
			if err == nil {
				why = "the one there " + stale(leaf, ca, want, now)
			}
			return nil, fmt.Errorf("the CA key %s is missing, and the server certificate %s must be issued anew (%s), which needs it: put the CA key back at %s (0600) for one start, then move it offline again", p.CAKey, p.Cert, why, p.CAKey)
		}
		if leaf, key, err = issue(ca, caKey, want, now); err != nil {
			return nil, err
		}
		if err := writePair(p.Cert, p.Key, leaf.Raw, key); err != nil {
			return nil, err
		}
		m.Fresh = true
	}
	m.Leaf = leaf
	m.Cert = tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.Raw}, PrivateKey: key, Leaf: leaf}
	return m, nil
}

// stale says why leaf is not current.
func stale(leaf *x509.Certificate, ca *x509.Certificate, want []string, now time.Time) string {
	switch {
	case leaf.CheckSignatureFrom(ca) != nil:
		return "is not signed by the CA"
	case !slices.Equal(sansOf(leaf), want):
		return fmt.Sprintf("names %s, the server needs %s", strings.Join(sansOf(leaf), ", "), strings.Join(want, ", "))
	case now.Before(leaf.NotBefore) || now.Add(RenewBefore).After(leaf.NotAfter):
		return "expires " + leaf.NotAfter.Format(time.DateOnly)
	}
	return "does not match its key"
}

// SANs are the names and addresses a server certificate must hold for a
// server listening on listenHost: that host (a name or an address; none
// when it is every address), hostname, every address of addrs when
// listenHost is every address ("", 0.0.0.0 or ::), the loopback names, and
// extra (--tls-san).
func SANs(listenHost, hostname string, addrs []net.IP, extra []string) []string {
	out := []string{"localhost", "127.0.0.1", "::1"}
	ip := net.ParseIP(listenHost)
	switch {
	case listenHost == "" || ip != nil && ip.IsUnspecified():
		for _, a := range addrs {
			if !a.IsLoopback() && !a.IsLinkLocalUnicast() {
				out = append(out, a.String())
			}
		}
	default:
		out = append(out, listenHost)
	}
	if hostname != "" {
		out = append(out, hostname)
	}
	return normSANs(append(out, extra...))
}

// CheckSAN says whether s can be a certificate's name or address,
// naming the form if not.
func CheckSAN(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if s == "" || len(s) > 253 || strings.ContainsAny(s, " /:@#?") {
		return fmt.Errorf("--tls-san %q: give a host name (lab.example.org) or an IP address (10.0.0.5)", s)
	}
	return nil
}

// normSANs sorts and dedups sans, IP addresses in their canonical form.
func normSANs(sans []string) []string {
	out := make([]string, 0, len(sans))
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			s = ip.String()
		} else {
			s = strings.ToLower(strings.TrimSuffix(s, "."))
		}
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sansOf are the SANs a certificate holds, as normSANs gives them.
func sansOf(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return normSANs(out)
}

// current says whether leaf, signed by ca with key, serves want now and
// for RenewBefore more.
func current(leaf *x509.Certificate, key crypto.Signer, ca *x509.Certificate, want []string, now time.Time) bool {
	if leaf.CheckSignatureFrom(ca) != nil || !slices.Equal(sansOf(leaf), want) {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(RenewBefore).After(leaf.NotAfter) {
		return false
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(leaf.PublicKey)
}

func newCA(now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "burst CA " + host, Organization: []string{"burst"}},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func issue(ca *x509.Certificate, caKey crypto.Signer, sans []string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "burst server", Organization: []string{"burst"}},
		NotBefore:    now.Add(-Backdate),
		NotAfter:     now.Add(ServerLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// loadPair reads a certificate and its private key.
func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	cb, cerr := os.ReadFile(certFile)
	kb, kerr := os.ReadFile(keyFile)
	if cerr != nil {
		return nil, nil, cerr
	}
	if kerr != nil {
		return nil, nil, kerr
	}
	c, err := ParseCert(cb)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certFile, err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, nil, fmt.Errorf("%s: no PEM key found", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	return c, s, nil
}

// writePair writes a certificate and its key (0600), the key first: a
// certificate on disk always has its key beside it.
func writePair(certFile, keyFile string, der []byte, key crypto.Signer) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})); err != nil {
		return err
	}
	return writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// writeFile replaces path with b, 0600, whole or not at all.
func writeFile(path string, b []byte) error { return atomicfile.Write(path, b) }

// LoadOwn loads an admin's own certificate chain and key (--tls-cert,
// --tls-key). The CA it returns is what a client pins by hash: the chain's
// last certificate when that is a self-signed root and the chain does not
// verify against roots (nil: the system's roots). A chain a public CA
// issued (Let's Encrypt's fullchain.pem) gets nil: clients verify it by
// their own roots, and a pin on its intermediate would break at renewal.
func LoadOwn(certFile, keyFile string, roots *x509.CertPool) (tls.Certificate, *x509.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return c, nil, fmt.Errorf("--tls-cert %s --tls-key %s: %w", certFile, keyFile, err)
	}
	chain := make([]*x509.Certificate, len(c.Certificate))
	for i, der := range c.Certificate {
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return c, nil, fmt.Errorf("--tls-cert %s: certificate %d: %w", certFile, i+1, err)
		}
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err == nil {
		return c, nil, nil
	}
	last := chain[len(chain)-1]
	if bytes.Equal(last.RawIssuer, last.RawSubject) && last.CheckSignatureFrom(last) == nil {
		return c, last, nil
	}
	return c, nil, nil
}
