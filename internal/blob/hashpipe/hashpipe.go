// Package hashpipe copies a stream to a writer while another goroutine
// hashes what was written: a blob's bytes are checked on arrival without
// the hash and the write taking turns on one core. On the machines burst
// runs on, writing to the page cache and SHA-256 cost about the same per
// byte, so doing them side by side takes about half the time of doing
// them in turn (docs/benchmarks.md, the stage section). CopyFile does the
// same file to file: the kernel copies, and what was written is read back
// and hashed on another core.
package hashpipe

import (
	"errors"
	"hash"
	"io"
)

// ChunkSize is the size of the reads and writes Copy makes: small enough
// that the chunks in flight stay in the CPU's cache between the write and
// the hash (1 MiB chunks were slower than hashing in turn), large enough
// that a write is not a small system call.
const ChunkSize = 256 << 10

// chunks is how many chunks may be read, written and waiting to be hashed
// at once: the hasher may fall that far behind the writes.
const chunks = 4

// Copy copies src to dst until EOF or an error, and writes into h every
// byte that dst took, in order: when Copy returns, h has hashed exactly the
// n bytes written, whatever the error (a write that failed midway hashes
// what it wrote). Reads fill a chunk of ChunkSize bytes before it is
// written, so that a stream of small reads (a network body) still makes
// large writes.
func Copy(dst io.Writer, src io.Reader, h hash.Hash) (n int64, err error) {
	free := make(chan []byte, chunks)
	for range chunks {
		free <- make([]byte, ChunkSize)
	}
	todo := make(chan []byte, chunks)
	done := make(chan struct{})
	go func() { // owned by Copy: it ends when todo is closed, and Copy waits for it
		defer close(done)
		for b := range todo {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	defer func() {
		close(todo)
		<-done
	}()
	for {
		// A chunk is taken only once the one before it was written:
		// Copy is the only writer, so the hasher can hand it back early.
		b := <-free
		k, rerr := io.ReadFull(src, b)
		if k > 0 {
			w, werr := dst.Write(b[:k])
			if w > 0 {
				n += int64(w)
				todo <- b[:w]
			} else {
				free <- b
			}
			if werr == nil && w < k {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, werr
			}
		} else {
			free <- b
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF), errors.Is(rerr, io.ErrUnexpectedEOF):
			return n, nil
		default:
			return n, rerr
		}
	}
}
