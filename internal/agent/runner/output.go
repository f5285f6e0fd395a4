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
}

// newOutput returns the write end to give the child and the copier. With
// pack, output that is small and quick goes there instead (pack.go).
func newOutput(path string, truncate bool, private string, pack *pack) (*os.File, *output, error) {
	r, w, err := outputPipe()
	if err != nil {
		return nil, nil, err
	}
	o := &output{path: path, truncate: truncate, private: private, r: r, done: make(chan struct{}), pack: pack}
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
		o.err = err
		io.Copy(io.Discard, o.r) // the task must not block on a full pipe
		return
	}
	defer f.Close()
	if _, err := f.Write(buf[:n]); err != nil {
		o.err = err
		io.Copy(io.Discard, o.r)
		return
	}
	o.written.Add(int64(n))
	m, err := io.CopyBuffer(f, o.r, buf)
	o.written.Add(m)
	if err != nil && !errors.Is(err, os.ErrClosed) {
		o.err = err
		io.Copy(io.Discard, o.r)
	}
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
// machine says that the fault is the machine's, not the task's: burst's own
// log met a full filesystem (ENOSPC, EDQUOT) on the machine's disk. Such a
// task is lost, and runs again once there is room (as a task that could not
// start for want of descriptors), rather than failed for a disk it did not
// fill; a full filesystem of the task's own --output stays the task's.
func lostOutput(outs []*output) (why string, machine bool) {
	for _, o := range outs {
		if o.err != nil {
			machine = !o.direct && (errors.Is(o.err, syscall.ENOSPC) || errors.Is(o.err, syscall.EDQUOT))
			return "its output could not be saved: " + o.err.Error(), machine
		}
		if o.direct && fullFS(filepath.Dir(o.path)) {
			return fmt.Sprintf("its output file %s may be incomplete: the filesystem that holds it is full (free space there and run it again)", o.path), false
		}
	}
	return "", false
}

// fullFS reports whether the filesystem that holds dir has no room left
// for this process (root may use the blocks kept for it).
func fullFS(dir string) bool {
	var fs syscall.Statfs_t
	if syscall.Statfs(dir, &fs) != nil {
		return false
	}
	if os.Geteuid() == 0 {
		return fs.Bfree == 0
	}
	return fs.Bavail == 0
}
