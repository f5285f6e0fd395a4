package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/diskroom"
)

// output carries a task's stdout or stderr to its log file through a pipe,
// creating the file only when the first byte arrives: on this kind of
// filesystem creating a file costs far more than a pipe, and most tasks of
// a map write nothing to stderr (and many nothing at all).
type output struct {
	path     string
	truncate bool
	private  string // burst's home: a log inside it is created private (openLog)
	r        *os.File
	done     chan struct{}
	err      error        // the file could not be written: the output was dropped
	written  atomic.Int64 // bytes written to the file
	direct   bool         // the child writes to the file itself (newDirect)
	start    int64        // a direct file's size when the task started
	pack     *pack        // where small output goes (pack.go); nil: always the file
	packed   Packed       // where it went, once done is closed
	cut      int64        // with a full filesystem: the size its log was cut to (giveRoom); -1 none

	mu     sync.Mutex
	filled bool   // its log met a full filesystem: the task is stopped (stopOnFull)
	stop   func() // stops the task, once it runs (stopOnFull)
}

// newOutput returns the write end to give the child and the copier. With
// pack, output that is small and quick goes there instead (pack.go).
func newOutput(path string, truncate bool, private string, pack *pack) (*os.File, *output, error) {
	r, w, err := outputPipe()
	if err != nil {
		return nil, nil, err
	}
	o := &output{path: path, truncate: truncate, private: private, r: r, done: make(chan struct{}), pack: pack, cut: -1}
	go o.copy()
	return w, o, nil
}

// outputPipe is a pipe whose read end the copier reads through Go's
// poller (a close interrupts the read: see wait) and whose write end,
// only ever handed to the child, stays a plain blocking descriptor.
// os.Pipe makes both ends non-blocking and registers both with the
// poller; the child's end is then made blocking again as it is handed
// over, and deregistered as it is closed: five system calls more per
// pipe, two pipes per task of a map.
func outputPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	if err := syscall.SetNonblock(p[0], true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, nil, os.NewSyscallError("setnonblock", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// copyBufs are the copiers' buffers: a map's tasks each have one or two
// copiers, most of which see nothing but the end of their pipe, and a
// buffer of their own each would be most of what the agent allocates.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (o *output) copy() {
	defer close(o.done)
	defer o.r.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int
	var err error
	if o.pack != nil {
		n, err = o.hold(buf)
		if err != nil { // the end of its output (or of the wait for it): all held
			if n > 0 {
				o.toPack(buf[:n])
			}
			return
		}
		// Too much, or too long: to its own file, from the first byte.
	}
	if n == 0 {
		n, err = o.r.Read(buf)
		if n == 0 && err != nil {
			return // no output: no file
		}
	}
	f, err := openLog(o.path, o.truncate, o.private)
	if err != nil {
		o.fail(nil, err)
		io.Copy(io.Discard, o.r) // the task must not block on a full pipe
		return
	}
	defer f.Close()
	if _, err := f.Write(buf[:n]); err != nil {
		o.fail(f, err)
		io.Copy(io.Discard, o.r)
		return
	}
	o.written.Add(int64(n))
	m, err := io.CopyBuffer(f, o.r, buf)
	o.written.Add(m)
	if err != nil && !errors.Is(err, os.ErrClosed) {
		o.fail(f, err)
		io.Copy(io.Discard, o.r)
	}
}

// fail records why the log (f, nil if it could not be opened) cannot be
// written. A full filesystem stops the task at once, as its own failure:
// every write it makes from now on is lost, and a task that filled the
// disk would otherwise go on holding it full (the server's store with it)
// until it ends. Its log then gives back room (giveRoom).
func (o *output) fail(f *os.File, err error) {
	o.err = err
	if !diskFull(err) {
		return
	}
	o.mu.Lock()
	o.filled = true
	stop := o.stop
	o.mu.Unlock()
	if stop != nil {
		stop()
	}
	if f != nil {
		o.cut = giveRoom(f, o.path)
	}
}

// stopOnFull has stop called (once) when the log meets a full filesystem,
// or at once if it already has.
func (o *output) stopOnFull(stop func()) {
	o.mu.Lock()
	o.stop = stop
	filled := o.filled
	o.mu.Unlock()
	if filled {
		stop()
	}
}

// giveRoom cuts the log f at path, which met a full filesystem, so that
// the filesystem has twice diskroom.MinFree free again: the room below
// which the server (whose store may share the filesystem) takes no new
// work, and as much again for what it must commit meanwhile. The log keeps
// at most diskroom.MinFree of its start (1/20 of the filesystem, 64 MiB at
// most): the output of a task that filled the disk is rarely wanted whole,
// and a log that kept most of a small disk left every later task to fill
// what was left and the server's store held until a person freed space
// (a hostile run: 18 of 20 MB kept). It marks the cut at the end of the
// log and returns where it cut, or -1 when it did not (the filesystem has
// the room, as under a quota: EDQUOT).
func giveRoom(f *os.File, path string) int64 {
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	free, total, ok := diskroom.Space(filepath.Dir(path))
	need := diskroom.StartFree(total)
	if !ok || free >= need {
		return -1
	}
	at := min(max(0, st.Size()-int64(need-free)), int64(diskroom.MinFree(total)))
	if at >= st.Size() {
		return -1
	}
	if f.Truncate(at) != nil {
		return -1
	}
	fmt.Fprintf(f, "\n[burst: output cut at %d bytes: the disk was full]\n", at) // O_APPEND: at the new end
	return at
}

// diskFull reports whether err is a write refused for a full filesystem
// or quota.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// hold reads the task's output into buf until its end (err is io.EOF, or
// os.ErrClosed when wait gave up on it), until buf is full or until
// spillAfter has passed (err nil: what it holds goes to the file).
func (o *output) hold(buf []byte) (int, error) {
	if o.r.SetReadDeadline(time.Now().Add(spillAfter)) != nil {
		return 0, nil // not pollable (never so for outputPipe's): no holding
	}
	n := 0
	for n < len(buf) {
		m, err := o.r.Read(buf[n:])
		n += m
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	o.r.SetReadDeadline(time.Time{})
	return n, nil
}

// toPack appends b, the whole of a task's output, to its pack file. The
// task's own log, which an earlier attempt may have written, is emptied
// first, as its first byte would have: a reader that follows it sees that
// its bytes are gone, rather than take them for this attempt's.
func (o *output) toPack(b []byte) {
	if o.truncate {
		if err := os.Truncate(o.path, 0); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			o.err = err
			return
		}
	}
	from, err := o.pack.append(b)
	if err != nil {
		o.err = err
		return
	}
	o.written.Add(int64(len(b)))
	o.packed = Packed{Path: o.pack.path, From: from, To: from + int64(len(b))}
}

// newDirect opens path for the child to write to itself, as sbatch's
// slurmstepd does: the file exists (empty unless appending) from the start,
// and a missing directory fails the task instead of being created. Its
// output's written count is what the file grew by, read when it ends.
//
// A file that turns out, once open, to lie inside private (whatever links
// and ".." led there) is closed, removed if this call created it, and
// refused; it is truncated only after that check.
func newDirect(path string, truncate bool, private string) (*os.File, *output, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("cannot open output file %s: its directory %s does not exist (sbatch does not create it either): create it first", path, filepath.Dir(path))
	case errors.Is(err, syscall.EISDIR):
		return nil, nil, fmt.Errorf("cannot open output file %s: it is a directory: give a file name, e.g. %s", path, filepath.Join(path, "slurm-%j.out"))
	case err != nil:
		return nil, nil, fmt.Errorf("cannot open output file: %w", err)
	}
	if private != "" {
		real, rerr := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
		if rerr == nil && (real == private || strings.HasPrefix(real, private+"/")) {
			f.Close()
			if errors.Is(statErr, fs.ErrNotExist) {
				os.Remove(real)
			}
			return nil, nil, fmt.Errorf("output file %s is inside burst's own directory %s: write it elsewhere", path, private)
		}
	}
	if truncate {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if err := f.Truncate(0); err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("cannot truncate output file %s: %w", path, err)
			}
		}
	}
	o := &output{path: path, done: make(chan struct{}), direct: true}
	if st, err := f.Stat(); err == nil {
		o.start = st.Size()
	}
	close(o.done)
	return f, o, nil
}

// settle records what a direct output's file grew by.
func (o *output) settle() {
	if !o.direct {
		return
	}
	if st, err := os.Stat(o.path); err == nil && st.Mode().IsRegular() && st.Size() > o.start {
		o.written.Store(st.Size() - o.start)
	}
}

// wait blocks until everything written was copied (all writers closed the
// pipe), or until limit: a process that escaped the task's group may hold
// the pipe open, and the task's end must not wait for it.
func (o *output) wait(limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-o.done:
	case <-t.C:
		o.r.Close()
		<-o.done
	}
}

// openOutputs prepares stdout and stderr (one pipe when both go to the same
// file).
// With packAs (the machine's name), small output goes to pack files
// (pack.go), which the caller releases (releasePacks) once the task ended.
func openOutputs(outPath, errPath string, truncate, direct bool, private, packAs string) (stdout, stderr *os.File, outs []*output, err error) {
	open := func(path string, truncate bool) (*os.File, *output, error) {
		if path == "" {
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			return f, nil, err
		}
		var p *pack
		if packAs != "" {
			p = acquirePack(packPath(path, packAs), private)
		}
		f, o, err := newOutput(path, truncate, private, p)
		if err != nil && p != nil {
			p.release()
		}
		return f, o, err
	}
	if direct {
		open = func(path string, truncate bool) (*os.File, *output, error) {
			if path == "" {
				f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				return f, nil, err
			}
			return newDirect(path, truncate, private)
		}
	}
	stdout, o1, err := open(outPath, truncate)
	if err != nil {
		return nil, nil, nil, err
	}
	if o1 != nil {
		outs = append(outs, o1)
	}
	if outPath != "" && filepath.Clean(outPath) == filepath.Clean(errPath) {
		return stdout, stdout, outs, nil
	}
	stderr, o2, err := open(errPath, truncate)
	if err != nil {
		stdout.Close()
		releasePacks(outs)
		return nil, nil, nil, err
	}
	if o2 != nil {
		outs = append(outs, o2)
	}
	return stdout, stderr, outs, nil
}

// releasePacks gives back the pack files of outs, once their copiers are
// done (or were never started).
func releasePacks(outs []*output) {
	for _, o := range outs {
		if o.pack != nil {
			o.pack.release()
		}
	}
}

// lostOutput says why some of a task's output could not be saved, or "":
// a log file burst could not create or write (a full filesystem, a logs
// directory that is not usable), or an output file the task wrote itself
// (sbatch's --output) on a filesystem that was full when it ended: burst
// does not see those writes, and a full filesystem means some may have
// failed. Such a task fails: its result is not whole.
//
// filled says that burst's own log met a full filesystem (ENOSPC,
// EDQUOT): the task was stopped for it (output.fail), and fails as its own
// failure whatever its exit, retried under its --retries like any other.
// It is not lost: a task that fills the disk would fill it again at every
// run, holding the server's writes each time (found by a hostile run).
func lostOutput(outs []*output) (why string, filled bool) {
	for _, o := range outs {
		if o.err != nil && !o.direct && diskFull(o.err) {
			mount, n := diskroom.MountPoint(filepath.Dir(o.path)), o.written.Load()
			why = fmt.Sprintf("its output filled the filesystem of %s (%d bytes written); free space or write less", mount, n)
			if _, total, ok := diskroom.Space(filepath.Dir(o.path)); ok && uint64(n) < diskroom.MinFree(total) {
				// Its log is small: what filled the disk is elsewhere (its
				// own files, or another's).
				why = fmt.Sprintf("the filesystem of %s was full when it wrote its output (its log had %d bytes); free space there and run it again", mount, n)
			}
			if o.cut >= 0 {
				why += fmt.Sprintf(" (its log was cut at %d bytes to give the room back)", o.cut)
			}
			return why, true
		}
	}
	for _, o := range outs {
		if o.err != nil {
			return "its output could not be saved: " + o.err.Error(), false
		}
		if o.direct && fullFS(filepath.Dir(o.path)) {
			return fmt.Sprintf("its output file %s may be incomplete: the filesystem that holds it is full (free space there and run it again)", o.path), false
		}
	}
	return "", false
}

// fullFS reports whether the filesystem that holds dir has no room left
// for this process (root may use the blocks kept for it); one that keeps
// no blocks (procfs, sysfs) is never full.
func fullFS(dir string) bool {
	var fs syscall.Statfs_t
	if syscall.Statfs(dir, &fs) != nil || fs.Blocks == 0 {
		return false // no blocks at all (/proc, /sys): no room to run out of
	}
	if os.Geteuid() == 0 {
		return fs.Bfree == 0
	}
	return fs.Bavail == 0
}
