// Package testfs gives tests a full filesystem: a small tmpfs mounted for
// the test (SmallDisk) and a file that fills it (Fill). Tests of every
// package that meets a full disk (the store, the server, the home, the
// runner, the end-to-end suite) share it; nothing else imports it.
//
// Mounting needs root: without it a test is skipped, loudly, and under
// BURST_CI (set by .ci/run) it fails, so that CI never skips one.
package testfs

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size ("1m", "16m", ...) with mode 0700 on
// dir (made if missing; a new temporary directory when dir is "") and
// returns dir. At cleanup, before returns first (the caller's processes
// killed, say), then it is unmounted.
func SmallDisk(t testing.TB, dir, size string, before func()) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("BURST_CI") != "" {
			t.Fatal("a full-disk test needs root to mount a small tmpfs, and BURST_CI is set: CI must not skip it")
		}
		t.Skip("SKIPPED: a full-disk test needs root to mount a small tmpfs (run it as root, as CI does)")
	}
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs of %s on %s: %v: %s", size, dir, err, out)
	}
	t.Cleanup(func() {
		if before != nil {
			before()
		}
		exec.Command("umount", "-l", dir).Run()
	})
	return dir
}

// Fill writes a file at path until its filesystem has no room left
// (ENOSPC); any other error fails the test.
func Fill(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", path, err)
			}
			return
		}
	}
}
