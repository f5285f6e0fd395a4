package cli

import (
	"context"
	"os"
	"testing"
	"time"
)

// watchReader tells a pipe whose reader closed, and nothing for a file.
func TestWatchReader(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := make(chan struct{})
	watchReader(ctx, pw, func() { close(gone) })
	if _, err := pw.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if b := make([]byte, 1); func() error { _, err := pr.Read(b); return err }() != nil {
		t.Fatal("read the pipe")
	}
	pr.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("gone not called 5 s after the pipe's reader closed")
	}

	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	called := false
	watchReader(ctx, f, func() { called = true }) // returns at once: no goroutine for a file
	if called {
		t.Error("gone called for a file")
	}
}

// readerGone: no before the pipe's reader closes, yes after.
func TestReaderGone(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	rc, err := pw.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if g, err := readerGone(rc, 0); g || err != nil {
		t.Errorf("a pipe with its reader: gone %v, %v; want false", g, err)
	}
	pr.Close()
	if g, err := readerGone(rc, 0); !g || err != nil {
		t.Errorf("a pipe whose reader closed: gone %v, %v; want true", g, err)
	}
}
