package agent

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

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
