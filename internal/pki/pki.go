// Package pki is the server's own certificate authority and what trusts
// it: where a home keeps its CA and server certificate, the hash a join URL
// pins the CA by (the SHA-256 of its public key, as kubeadm's
// --discovery-token-ca-cert-hash), and the TLS configuration of a client
// that trusts a server by that hash alone.
package pki

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Paths are where a home keeps its TLS material (dir: $BURST_HOME/tls).
type Paths struct {
	CA, CAKey, Cert, Key string
}

// In is the TLS material of the home whose tls directory is dir.
func In(dir string) Paths {
	return Paths{
		CA:    filepath.Join(dir, "ca.pem"),
		CAKey: filepath.Join(dir, "ca-key.pem"),
		Cert:  filepath.Join(dir, "server.pem"),
		Key:   filepath.Join(dir, "server-key.pem"),
	}
}

// HashPrefix starts every CA hash.
const HashPrefix = "sha256:"

// Hash is the pin of a CA: "sha256:" and the hex SHA-256 of its
// SubjectPublicKeyInfo.
func Hash(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return HashPrefix + hex.EncodeToString(sum[:])
}

// CheckHash says whether s is a well-formed CA hash, naming the form if not.
func CheckHash(s string) error {
	h, ok := strings.CutPrefix(s, HashPrefix)
	if !ok || len(h) != 64 {
		return fmt.Errorf("CA hash %q: want sha256: and 64 hex digits (as `burst server info` prints it)", s)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("CA hash %q: want sha256: and 64 hex digits (as `burst server info` prints it)", s)
	}
	return nil
}

// ReadCert reads the first certificate of a PEM file.
func ReadCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCert(b)
}

// ParseCert parses the first certificate of PEM text.
func ParseCert(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// ErrPinMismatch is a server whose certificate chain holds no CA of the
// pinned hash.
var ErrPinMismatch = errors.New("the server's CA does not match the pinned hash")

// ErrLeafUnpinned is a server whose chain holds the pinned CA but whose
// certificate that CA did not sign.
var ErrLeafUnpinned = errors.New("the server's certificate does not verify against the pinned CA")

// Pinned is a TLS client configuration that trusts exactly the CA whose
// hash is pin: the server's chain must hold a certificate of that hash,
// and its leaf must verify against it (for serverName). The CA it found is
// stored in *found, when found is not nil, for the caller to keep.
func Pinned(pin, serverName string, found **x509.Certificate) (*tls.Config, error) {
	if err := CheckHash(pin); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: true, // verified below, against the pinned CA only
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			var ca *x509.Certificate
			var seen []string
			for _, c := range cs.PeerCertificates {
				h := Hash(c)
				if h == pin {
					ca = c
					break
				}
				seen = append(seen, h)
			}
			if ca == nil {
				return fmt.Errorf("%w: pinned %s, the server presented %s (the URL names another server's CA, or someone is between: check the #sha256: part against the server's own, which `burst server info` prints there)",
					ErrPinMismatch, pin, strings.Join(seen, ", "))
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: serverName, Roots: roots, Intermediates: inter})
			var name x509.HostnameError
			switch {
			case errors.As(err, &name):
				return fmt.Errorf("the server's certificate does not verify against its pinned CA: %w", err)
			case err != nil:
				// Not x509's own error type: the pin was given, so "log in
				// with a pin" is not the fix.
				return fmt.Errorf("%w %s (%v): the server presents a certificate its CA did not sign (someone between, or a server whose certificate was replaced by hand)", ErrLeafUnpinned, pin, err)
			}
			if found != nil {
				*found = ca
			}
			return nil
		},
	}, nil
}
