// Package dist is the burst binary as a server hands it out: which
// architecture it is built for and its SHA-256, which a machine that
// fetches it (an EC2 instance's user-data) checks before it runs it. It
// reads files and keeps their sums; it does not serve them (internal/api
// does).
package dist

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Arch is the architecture this binary runs on, in Go's words (amd64,
// arm64): the only one a server can serve, being its own binary.
func Arch() string { return runtime.GOARCH }

// Sum is the SHA-256 (lowercase hex) of the file at path, remembered while
// the file keeps its size and modification time: a 30 MB binary is hashed
// once, not for every machine that fetches it.
func Sum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("the burst binary %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	k := key{path, fi.Size(), fi.ModTime()}
	mu.Lock()
	s, ok := sums[k]
	mu.Unlock()
	if ok {
		return s, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read the burst binary %s: %w", path, err)
	}
	s = hex.EncodeToString(h.Sum(nil))
	mu.Lock()
	sums[k] = s
	mu.Unlock()
	return s, nil
}

type key struct {
	path string
	size int64
	mod  time.Time
}

var (
	mu   sync.Mutex
	sums = map[key]string{}
)

// RefuseDynamic refuses the binary at path when it is dynamically linked,
// naming the fix: it is what machines that boot from a cloud image fetch
// and run, whatever C library the image has.
func RefuseDynamic(path string) error {
	interp, err := Interpreter(path)
	if err != nil {
		return err
	}
	if interp != "" {
		return fmt.Errorf("this server's burst binary %s is dynamically linked (it needs %s and a C library as new as its build host's), and every machine of this cluster fetches and runs it: an image with an older one could not start it, and the machine would never join. Rebuild it static with `make build` (CGO_ENABLED=0 go build ./cmd/burst) and restart the server", path, interp)
	}
	return nil
}

// Interpreter is the ELF interpreter the binary at path asks for
// (/lib64/ld-linux-x86-64.so.2 for a cgo build), "" for a static binary.
// A machine runs a dynamically linked burst only where its C library is
// the build host's or newer; a static one runs on any Linux of its
// architecture.
func Interpreter(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("the burst binary %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
		if err != nil {
			return "", fmt.Errorf("the burst binary %s: %w", path, err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}
