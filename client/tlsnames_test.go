package client

import (
	"crypto/x509"
	"strings"
	"testing"
)

// TestTLSHostnameNoNames: a certificate that names no host or address is
// said to name none, not "(it holds )".
func TestTLSHostnameNoNames(t *testing.T) {
	err := tlsFailure(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "10.0.0.5"}, "https://10.0.0.5:7780")
	if msg := err.Error(); strings.Contains(msg, "it holds )") || !strings.Contains(msg, "names no host or address") || !strings.Contains(msg, "--tls-san 10.0.0.5") {
		t.Errorf("message = %q", msg)
	}
	err = tlsFailure(x509.HostnameError{Certificate: &x509.Certificate{DNSNames: []string{"lab.example"}}, Host: "10.0.0.5"}, "https://10.0.0.5:7780")
	if msg := err.Error(); !strings.Contains(msg, "it holds lab.example)") {
		t.Errorf("message = %q", msg)
	}
}
