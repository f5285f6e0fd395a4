package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/burst-sh/burst/internal/sbatch"
)

// scripts keeps the batch scripts of the jobs whose tasks run here: one file
// per script text, written once before the first of its tasks starts and
// removed after the last one ends. A job array's thousands of tasks share one
// file, and no task ever execs a file that is open for writing: a script runs
// through the interpreter its shebang names (as the kernel would run it), so
// the file is only ever opened for reading. Exec'ing a file written moments
// before fails with ETXTBSY ("text file busy") whenever another goroutine's
// fork still holds the writer's descriptor, which lost 0.2-0.7% of the tasks
// of large arrays.
type scripts struct {
	dir string

	mu    sync.Mutex
	files map[string]*scriptFile // by the hash of the text
	seq   int
}

// scriptFile is one written script and the tasks that use it.
type scriptFile struct {
	once sync.Once
	path string
	err  error
	refs int
}

// acquire returns the path of a file holding text, writing it if no running
// task holds one, and the argv that runs it with args. Call release(path)
// when the task has ended.
func (s *scripts) acquire(text string, args []string) (path string, argv []string, err error) {
	interp, err := sbatch.Interpreter(text)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256([]byte(text))
	key := hex.EncodeToString(sum[:])
	s.mu.Lock()
	if s.files == nil {
		s.files = map[string]*scriptFile{}
	}
	f := s.files[key]
	if f == nil {
		s.seq++
		// A fresh name per file: a file being removed by release never
		// collides with its successor for the same text.
		f = &scriptFile{path: filepath.Join(s.dir, fmt.Sprintf("%s.%d.sh", key[:16], s.seq))}
		s.files[key] = f
	}
	f.refs++
	s.mu.Unlock()
	f.once.Do(func() { f.err = writeScript(f.path, text) })
	if f.err != nil {
		s.release(f.path)
		return "", nil, f.err
	}
	argv = append(append(interp, f.path), args...)
	return f.path, argv, nil
}

// release ends one task's use of the script at path; the last one removes it.
func (s *scripts) release(path string) {
	s.mu.Lock()
	var gone bool
	for k, f := range s.files {
		if f.path == path {
			if f.refs--; f.refs == 0 {
				delete(s.files, k)
				gone = true
			}
			break
		}
	}
	s.mu.Unlock()
	if gone {
		os.Remove(path)
	}
}

// writeScript writes text to path by way of a temporary file and a rename, so
// that no reader ever sees a part of it.
func writeScript(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o700); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
