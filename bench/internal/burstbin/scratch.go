package burstbin

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
)

// Scratch is a benchmark's temporary directory and the burst homes in it,
// whose servers and agents Close stops (by pid) before removing it all.
type Scratch struct {
	Dir string

	mu     sync.Mutex
	homes  []string
	closed bool
}

// NewScratch makes the directory. On SIGINT or SIGTERM it closes and the
// program exits 130, so that no server or agent outlives the benchmark.
func NewScratch(prefix string) (*Scratch, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	s := &Scratch{Dir: dir}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		s.Close()
		os.Exit(130)
	}()
	return s, nil
}

// Home is a burst home in the directory, stopped by Close.
func (s *Scratch) Home(name string) string {
	h := filepath.Join(s.Dir, name)
	s.mu.Lock()
	s.homes = append(s.homes, h)
	s.mu.Unlock()
	return h
}

// Close stops every home's server and agents and removes the directory.
// It may be called more than once.
func (s *Scratch) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, h := range s.homes {
		Stop(h)
	}
	os.RemoveAll(s.Dir)
}

// Build is a burst binary a benchmark measures, with its label.
type Build struct{ Label, Bin string }

// Builds are the binaries to compare in one run: bin (built from
// ./cmd/burst into dir when "") labelled "burst", and before, when given,
// labelled "burst (before)".
func Builds(bin, before, dir string) ([]Build, error) {
	bin, err := Binary(bin, dir)
	if err != nil {
		return nil, err
	}
	out := []Build{{Label: "burst", Bin: bin}}
	if before != "" {
		b, err := filepath.Abs(before)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("-burst-before: %w", err)
		}
		out = append(out, Build{Label: "burst (before)", Bin: b})
	}
	return out, nil
}
