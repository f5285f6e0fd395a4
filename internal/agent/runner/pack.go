package runner

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Small outputs without a file of their own.
//
// Creating a file costs far more than writing one on the filesystems burst
// keeps its logs on (0.5-0.8 ms of CPU on ext4): a map of tasks that each
// print a line spent most of its agent's time creating their logs. A task
// whose Spec.PackAs is set therefore holds the first bytes of each of its
// streams in its copier's buffer (copyBufs: 64 KiB) and, when it ends with
// all of them there, appends them to a pack file shared by the tasks of its
// log directory on this machine (pack-MACHINE.out, next to its own log),
// one write under the pack's lock; its Result names the byte range
// (Packed), which the agent reports and readers read. A stream that fills
// the buffer, or that is still open spillAfter after the task started, goes
// to the task's own log as before, from its first byte: a long task's log
// is followed nearly live (`burst logs -f`), and its file is what it was.
//
// The range is written before the task's end is reported (Wait returns
// after it), so a reported range is readable whatever dies after; a task
// whose end was not reported runs again and writes a range of its own.
// Bytes a dead agent wrote without reporting them stay in the pack, unread.

// spillAfter is how long a task's output is held in memory at most: a
// stream still open then goes to the task's own log file.
const spillAfter = time.Second

// packIdle is how long a pack file no running task uses stays open.
const packIdle = 2 * time.Second

// Packed is where a task's output was kept in a pack file: bytes [From, To)
// of Path. Path is "" when the output is in the task's own log (or there
// was none).
type Packed struct {
	Path     string
	From, To int64
}

// packPath is the pack file of the tasks whose logs are in log's directory
// and that run on machine tag: pack-TAG plus log's extension (.out, .err).
func packPath(log, tag string) string {
	tag = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, tag)
	return filepath.Join(filepath.Dir(log), "pack-"+tag+filepath.Ext(log))
}

// pack is an open pack file, shared by the tasks that write to it.
type pack struct {
	path, private string
	refs          int         // tasks using it, under packs.Mutex
	idle          *time.Timer // closes it once unused for packIdle, under packs.Mutex

	mu sync.Mutex // one append at a time (its write, then where it ended)
	f  *os.File   // opened at the first append
}

// packs are the pack files open in this process, by path.
var packs = struct {
	sync.Mutex
	m map[string]*pack
}{m: map[string]*pack{}}

// acquirePack returns the pack at path, for a task to append to once;
// release it when the task has ended.
func acquirePack(path, private string) *pack {
	packs.Lock()
	defer packs.Unlock()
	p := packs.m[path]
	if p == nil {
		p = &pack{path: path, private: private}
		packs.m[path] = p
	}
	p.refs++
	if p.idle != nil {
		p.idle.Stop()
		p.idle = nil
	}
	return p
}

// release gives a task's use of p back; the file is closed once no task has
// used it for packIdle (a map's next tasks find it open).
func (p *pack) release() {
	packs.Lock()
	defer packs.Unlock()
	p.refs--
	if p.refs > 0 {
		return
	}
	p.idle = time.AfterFunc(packIdle, func() {
		packs.Lock()
		if p.refs > 0 || packs.m[p.path] != p {
			packs.Unlock()
			return
		}
		delete(packs.m, p.path)
		p.idle = nil
		packs.Unlock()
		p.mu.Lock()
		if p.f != nil {
			p.f.Close()
			p.f = nil
		}
		p.mu.Unlock()
	})
}

// append writes b at the end of the pack and returns where it begins. The
// file is opened for appending, so that the offset is right even where
// another process appends to the same file (an agent that is going away
// while its successor starts): where b begins is where this descriptor's
// write ended, less its length.
func (p *pack) append(b []byte) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		f, err := openLog(p.path, false, p.private)
		if err != nil {
			return 0, err
		}
		p.f = f
	}
	n, err := p.f.Write(b)
	if err != nil {
		return 0, err
	}
	end, err := p.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	return end - int64(n), nil
}
