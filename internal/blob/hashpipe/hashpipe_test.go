package hashpipe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestCopyHashesWhatItWrote: for sizes around the chunk size and reads of
// any size, Copy writes every byte in order and h hashes exactly them.
func TestCopyHashesWhatItWrote(t *testing.T) {
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 5*ChunkSize + 12345} {
		data := make([]byte, size)
		rand.Read(data)
		for name, src := range map[string]io.Reader{
			"whole":    bytes.NewReader(data),
			"one byte": iotest.OneByteReader(bytes.NewReader(data[:min(size, 100000)])),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
		} {
			want := data
			if name == "one byte" {
				want = data[:min(size, 100000)]
			}
			var dst bytes.Buffer
			h := sha256.New()
			n, err := Copy(&dst, src, h)
			if err != nil || n != int64(len(want)) || !bytes.Equal(dst.Bytes(), want) {
				t.Fatalf("size %d, %s reads: copied %d, %v; want %d bytes, nil, the same bytes", size, name, n, err, len(want))
			}
			if sum := sha256.Sum256(want); !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Fatalf("size %d, %s reads: the hash is not the bytes'", size, name)
			}
		}
	}
}

// limitWriter takes max bytes, then fails.
type limitWriter struct {
	buf bytes.Buffer
	max int
}

var errFull = errors.New("full")

func (w *limitWriter) Write(p []byte) (int, error) {
	room := w.max - w.buf.Len()
	if len(p) <= room {
		return w.buf.Write(p)
	}
	w.buf.Write(p[:room])
	return room, errFull
}

// TestCopyErrors: a write that fails midway and a read that fails both end
// Copy with their error, and h holds exactly what was written.
func TestCopyErrors(t *testing.T) {
	data := make([]byte, 3*ChunkSize)
	rand.Read(data)
	dst := &limitWriter{max: ChunkSize + 777}
	h := sha256.New()
	n, err := Copy(dst, bytes.NewReader(data), h)
	if !errors.Is(err, errFull) || n != int64(dst.max) {
		t.Fatalf("a failing write: copied %d, %v; want %d, %v", n, err, dst.max, errFull)
	}
	if sum := sha256.Sum256(data[:n]); !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatal("after a failing write the hash is not that of what was written")
	}
	boom := errors.New("cut")
	src := io.MultiReader(bytes.NewReader(data[:ChunkSize/2]), iotest.ErrReader(boom))
	var out bytes.Buffer
	h = sha256.New()
	n, err = Copy(&out, src, h)
	if !errors.Is(err, boom) || n != ChunkSize/2 || !bytes.Equal(out.Bytes(), data[:ChunkSize/2]) {
		t.Fatalf("a failing read: copied %d, %v; want %d, %v, and what came before it written", n, err, ChunkSize/2, boom)
	}
	if sum := sha256.Sum256(data[:n]); !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatal("after a failing read the hash is not that of what was written")
	}
}

func BenchmarkCopy(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Copy(io.Discard, bytes.NewReader(data), sha256.New())
	}
}
