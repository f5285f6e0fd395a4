package agent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// The AEADs TLS 1.3 may pick, sealing full 16 KiB records, and SHA-256
// (every blob's check), on one core: what encrypting a stream or a blob
// costs next to hashing it (docs/security-streams.md, "The cipher"). Go's
// TLS 1.3 picks AES-128-GCM where the CPU has AES instructions, and takes
// no other order (Config.CipherSuites does not apply to TLS 1.3).
func BenchmarkStreamCipher(b *testing.B) {
	gcm := func(key int) cipher.AEAD {
		c, err := aes.NewCipher(make([]byte, key))
		if err != nil {
			b.Fatal(err)
		}
		a, err := cipher.NewGCM(c)
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	cc, err := chacha20poly1305.New(make([]byte, chacha20poly1305.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		a    cipher.AEAD
	}{{"AES-128-GCM", gcm(16)}, {"AES-256-GCM", gcm(32)}, {"ChaCha20-Poly1305", cc}} {
		b.Run(c.name, func(b *testing.B) {
			rec := make([]byte, 16<<10, 16<<10+c.a.Overhead())
			nonce := make([]byte, c.a.NonceSize())
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				if out := c.a.Seal(rec[:0], nonce, rec, nil); len(out) != len(rec)+c.a.Overhead() {
					b.Fatalf("sealed %d bytes", len(out))
				}
			}
		})
	}
	b.Run("SHA-256", func(b *testing.B) {
		buf := make([]byte, 1<<20)
		h := sha256.New()
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			h.Write(buf)
		}
	})
}
