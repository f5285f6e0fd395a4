package agent

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// The kernel's rules for "#!" lines (execve(2), "Interpreter scripts"): the
// interpreter, then at most one optional argument, the rest of the line.
func TestInterpreter(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"#!/bin/bash\necho hi\n", []string{"/bin/bash"}},
		{"#!/bin/sh", []string{"/bin/sh"}},
		{"#! /bin/bash -l\n", []string{"/bin/bash", "-l"}},
		{"#!/usr/bin/env bash\n", []string{"/usr/bin/env", "bash"}},
		{"#!/bin/bash -l -x \n", []string{"/bin/bash", "-l -x"}},
		{"#!/bin/bash\t-e\n", []string{"/bin/bash", "-e"}},
		{"#!/usr/bin/env python3\nprint(1)\n", []string{"/usr/bin/env", "python3"}},
	} {
		got, err := interpreter(c.text)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("interpreter(%q) = %q, %v; want %q", c.text, got, err, c.want)
		}
	}
	for _, bad := range []string{"echo hi\n", "#!\n", "#!   \n", ""} {
		if _, err := interpreter(bad); err == nil {
			t.Errorf("interpreter(%q): no error", bad)
		}
	}
}

// Tasks of one script share one file, written once; the last to end removes it.
func TestScriptsShared(t *testing.T) {
	s := &scripts{dir: filepath.Join(t.TempDir(), "scripts")}
	text := "#!/bin/sh\necho $1\n"
	var wg sync.WaitGroup
	paths := make([]string, 50)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, argv, err := s.acquire(text, []string{"x"})
			if err != nil {
				t.Error(err)
				return
			}
			if want := []string{"/bin/sh", p, "x"}; !slices.Equal(argv, want) {
				t.Errorf("argv %q, want %q", argv, want)
			}
			paths[i] = p
		}()
	}
	wg.Wait()
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Fatalf("two files for one script: %s and %s", paths[0], p)
		}
	}
	b, err := os.ReadFile(paths[0])
	if err != nil || string(b) != text {
		t.Fatalf("script file holds %q, %v", b, err)
	}
	for _, p := range paths[:len(paths)-1] {
		s.release(p)
	}
	if _, err := os.Stat(paths[0]); err != nil {
		t.Fatalf("removed while a task still uses it: %v", err)
	}
	s.release(paths[0])
	if _, err := os.Stat(paths[0]); !os.IsNotExist(err) {
		t.Fatalf("still there after the last task ended: %v", err)
	}
	ents, _ := os.ReadDir(s.dir)
	if len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}
