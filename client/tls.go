package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/burst-sh/burst/internal/pki"
)

// CAEnv names a file of CA certificates (PEM) a Client trusts for an
// https:// server, when neither the address's pin nor WithCA says whom to
// trust.
const CAEnv = "BURST_CA"

// WithCA has the Client trust the CA certificates of pem (and only them)
// for an https:// server whose address carries no pin: what `burst login`
// stored, or a CA file.
func WithCA(pem []byte) Option { return func(c *Client) { c.conn.ca = pem } }

// SplitPin splits an address into the server's URL and the CA hash it
// pins ("https://HOST:PORT#sha256:HEX" → "https://HOST:PORT",
// "sha256:HEX"); pin is "" when it pins none. The URL loses any trailing
// slash.
func SplitPin(addr string) (base, pin string, err error) {
	base, pin, _ = strings.Cut(addr, "#")
	base = strings.TrimRight(base, "/")
	if pin != "" {
		if !strings.HasPrefix(base, "https://") {
			return "", "", fmt.Errorf("%s: a pinned CA hash (#sha256:...) needs an https:// address", addr)
		}
		if err := pki.CheckHash(pin); err != nil {
			return "", "", err
		}
	}
	return base, pin, nil
}

// tlsConfig is how the Client verifies the https:// server at base: by
// the pin, else by the CA it was given (WithCA, else BURST_CA's file),
// else by the system's roots.
func (k *conn) tlsConfig(base, pin string) (*tls.Config, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", base, err)
	}
	if pin != "" {
		return pki.Pinned(pin, u.Hostname(), nil)
	}
	ca := k.ca
	if ca == nil {
		if f := os.Getenv(CAEnv); f != "" {
			if ca, err = os.ReadFile(f); err != nil {
				return nil, fmt.Errorf("%s=%s: %w: name the server's CA file (ca.pem, which `burst server info` names)", CAEnv, f, errors.Unwrap(err))
			}
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if ca != nil {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("the CA to trust for %s holds no PEM certificate (check %s, or log in again)", base, CAEnv)
		}
	}
	return cfg, nil
}

// tlsFailure turns a failure to verify the server at base into one line
// that names the fix, never asked again (final); other errors pass as
// they are.
func tlsFailure(err error, base string) error {
	var ue *url.Error
	inner := err
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	host := strings.TrimPrefix(base, "https://")
	switch {
	case errors.Is(err, pki.ErrPinMismatch) || errors.Is(err, pki.ErrLeafUnpinned):
		return &final{fmt.Errorf("%s: %w", base, inner)} // the agent's session exits on a pin mismatch
	case errors.As(err, &unknown):
		return &final{fmt.Errorf("%s: the server's certificate is not signed by a CA this machine trusts: log in with `burst login %s#sha256:HASH` (the hash `burst server info` prints on the server's host) or set %s to its CA file (ca.pem)", base, base, CAEnv)}
	case errors.As(err, &hostname):
		var names []string
		if hostname.Certificate != nil {
			names = append(append(names, hostname.Certificate.DNSNames...), ipStrings(hostname.Certificate)...)
		}
		holds := "it holds " + strings.Join(names, ", ") + "): connect by one of those names, or"
		if len(names) == 0 {
			holds = "it names no host or address):"
		}
		return &final{fmt.Errorf("%s: the server's certificate is not valid for %s (%s restart the server with --tls-san %s",
			base, hostname.Host, holds, hostname.Host)}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &final{fmt.Errorf("%s: the server's certificate is outside its validity (%s): check this machine's clock; a server issues its own certificate anew when it restarts", base, invalid.Detail)}
	case errors.As(err, &invalid):
		return &final{fmt.Errorf("%s: the server's certificate cannot be used: %v", base, invalid)}
	case (errors.As(err, &record) || strings.Contains(err.Error(), plainAnswer)) && strings.HasPrefix(base, "https://"):
		if u, perr := url.Parse(base); perr == nil && Loopback(u.Hostname()) {
			return &final{fmt.Errorf("%s answers plain HTTP, not TLS: use http://%s", base, host)}
		}
		// Beyond loopback, http:// would send the credential in clear to
		// whoever answered.
		return &final{fmt.Errorf("%s does not speak TLS: something between this machine and the server answered, or it is not a burst server (one listening beyond loopback serves TLS only); check the address, and keep https://", base)}
	}
	return err
}

func ipStrings(c *x509.Certificate) []string {
	var out []string
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// plainAnswer is what Go's HTTP client says of an https:// server that
// answered a TLS handshake in plain HTTP.
const plainAnswer = "server gave HTTP response to HTTPS client"

// plainToTLS is the text Go's HTTP server answers a plain request on a TLS
// port with (status 400).
const plainToTLS = "Client sent an HTTP request to an HTTPS server"

// Loopback says whether host (of a URL) is this machine's loopback:
// "localhost", 127.0.0.0/8 or ::1. Only there may a credential travel over
// plain http://.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
