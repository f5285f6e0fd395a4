package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1G": 1 << 30, "256M": 256 << 20, "64K": 64 << 10, "1000": 1000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "-1M", "0", "1T", "1.5G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) took it; want an error", in)
		}
	}
}

// TestFreshAndTail: each round's input differs from the last in its first
// bytes only, and the tail the tasks compare against is the input's.
func TestFreshAndTail(t *testing.T) {
	dir := t.TempDir()
	big, tail := filepath.Join(dir, "big.bin"), filepath.Join(dir, "tail.bin")
	if err := writeRandom(big, 3*tailSize); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(big)
	fresh(big, "embedded/1/0")
	after, _ := os.ReadFile(big)
	if len(after) != len(before) || bytes.Equal(after[:32], before[:32]) || !bytes.Equal(after[32:], before[32:]) {
		t.Fatal("fresh should change the first 32 bytes and nothing else")
	}
	if err := copyTail(big, tail); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(tail)
	if !bytes.Equal(got, after[len(after)-tailSize:]) {
		t.Fatalf("the tail file holds %d bytes that are not the input's last %d", len(got), tailSize)
	}
}

func TestReadyWriter(t *testing.T) {
	var out bytes.Buffer
	r := &readyWriter{w: &out, ready: make(chan struct{})}
	r.Write([]byte("rea"))
	select {
	case <-r.ready:
		t.Fatal("ready before the whole word came")
	default:
	}
	r.Write([]byte("dy\nmore"))
	r.Write([]byte("ready\n")) // a second one must not close again
	select {
	case <-r.ready:
	default:
		t.Fatal("not ready after the word came")
	}
	if out.String() != "ready\nmoreready\n" {
		t.Fatalf("kept %q", out.String())
	}
}
