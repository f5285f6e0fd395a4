package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/backoff"
)

// A machine that shares no filesystem with the server (a joined machine, a
// cloud VM, another cluster) cannot write into the server's log files nor
// run a task in the submitter's directory. Its agent finds that out before
// it registers (probeHome), and then each task:
//   - runs in a private directory under the agent's home, work/JOB/TASK,
//     made afresh and removed after the task (kept for a batch job, whose
//     #SBATCH --output files are written there, and for a job whose
//     environment sets BURST_KEEP_WORKDIR=1);
//   - fails at once, before it runs, if an argument that named a file on
//     the submitter's host at submit time (JobContext.Local) is missing
//     here, naming the path and this machine;
//   - writes its output to the agent's spool (or, for a batch job, to its
//     own output files here), which a shipper sends to the server while it
//     runs (every shipEvery, or each client.MaxOutputChunk) and completely
//     before its end is reported. The spool file's bytes the server
//     acknowledged are freed on disk while the task runs (a hole punched
//     in the file, which keeps its size and the task's write offset), so
//     a long chatty task holds about one unshipped chunk of disk, not all
//     it wrote.

// shipEvery is how often a running remote task's new output is shipped
// (sooner once a whole chunk waits).
const shipEvery = time.Second

// shipPoll is how often a shipper looks at its files.
const shipPoll = 100 * time.Millisecond

// KeepWorkdirEnv, set to 1 in a job's environment, keeps a remote task's
// private directory after it ends.
const KeepWorkdirEnv = "BURST_KEEP_WORKDIR"

// probeHome fills in r.Remote: whether this agent does not see the home of
// the server that answers. It reads server.json in the home that GET
// /v1/health names, and sees that home when that file names the same
// server process (pid and start time): a copy of the home elsewhere, or
// another server's, does not.
func probeHome(ctx context.Context, cl *client.Client, r *client.Register) error {
	h, err := cl.Health(ctx)
	if err != nil {
		return err
	}
	r.Remote = !seesHome(h)
	return nil
}

func seesHome(h *client.Health) bool {
	if h.Home == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(h.Home, "server.json"))
	if err != nil {
		return false
	}
	var info struct {
		PID     int       `json:"pid"`
		Started time.Time `json:"started_at"`
	}
	if json.Unmarshal(b, &info) != nil {
		return false
	}
	return info.PID == h.PID && info.Started.Equal(h.Started)
}

// remoteTask is what a task of a remote machine needs besides what it runs:
// its private directory and the shipper of its output.
type remoteTask struct {
	dir  string // its private working directory
	keep bool   // leave dir after it ends
	ship *shipper
	// ownFiles: its output files all lie inside dir (none elsewhere in
	// burst's home).
	ownFiles bool
}

// prepareRemote readies a task for a remote machine: its private
// directory, the check of the files it names, and where its output goes.
// It returns the task's assignment and job context as they apply here, or
// an error that fails the task (mine: the task's own fault, not the
// machine's).
func (a *Agent) prepareRemote(as client.Assignment, jc *client.JobContext) (client.Assignment, *client.JobContext, *remoteTask, error) {
	dir := filepath.Join(a.cfg.WorkDir, "work", strconv.FormatInt(as.Job, 10), strconv.Itoa(as.Index))
	os.RemoveAll(dir) // an earlier attempt's
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return as, jc, nil, fmt.Errorf("cannot make the task's private directory %s: %w", dir, err)
	}
	rt := &remoteTask{dir: dir, keep: jc.Script != "" || slices.Contains(jc.Env, KeepWorkdirEnv+"=1")}
	os.Remove(dir + keptSuffix) // an earlier attempt's mark
	if err := a.checkLocal(jc, dir); err != nil {
		rt.cleanup(nil)
		return as, jc, nil, err
	}
	c := *jc
	c.Dir = dir
	sh := &shipper{cl: a.cfg.Client, machine: a.cfg.Machine, boot: a.sess.BootID, ref: as.TaskRef, ctx: a.runCtx, log: a.cfg.Log,
		giveUp: a.cfg.IdleExit}
	if as.Direct {
		// A batch job's own files, written here (relative to its private
		// directory) and shipped from where this attempt begins in them.
		abs := func(p string) string {
			if p != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			return p
		}
		as.Stdout, as.Stderr = abs(as.Stdout), abs(as.Stderr)
		inside := func(p string) bool { return p == "" || strings.HasPrefix(filepath.Clean(p), dir+"/") }
		rt.ownFiles = inside(as.Stdout) && inside(as.Stderr)
		sh.add(client.StreamStdout, as.Stdout, !as.Truncate, false)
		if as.Stderr != as.Stdout {
			sh.add(client.StreamStderr, as.Stderr, !as.Truncate, false)
		}
	} else {
		spool := filepath.Join(a.cfg.WorkDir, "spool", fmt.Sprintf("%d.%d.%d", as.Job, as.Index, as.Attempt))
		as.Stdout, as.Stderr, as.Truncate = spool+".out", spool+".err", true
		sh.add(client.StreamStdout, as.Stdout, false, true)
		sh.add(client.StreamStderr, as.Stderr, false, true)
	}
	rt.ship = sh
	return as, &c, rt, nil
}

// checkLocal fails a task whose command names a file that was on the
// submitter's host at submit time and is not on this machine: a relative
// path (looked for in the task's fresh private directory, where nothing
// is yet) or an absolute one missing here. Paths the task makes itself are
// never checked: only those that existed at submit.
func (a *Agent) checkLocal(jc *client.JobContext, dir string) error {
	for _, p := range jc.Local {
		at := p
		if !filepath.IsAbs(p) {
			at = filepath.Join(dir, p)
		}
		if _, err := os.Stat(at); err == nil {
			continue
		}
		where := "on the submitter's host"
		if !filepath.IsAbs(p) && jc.Dir != "" {
			where = "in " + filepath.Join(jc.Dir, p) + " on the submitter's host"
		}
		// The agent does not know the submitter's role: the hint holds for a
		// member too, to whom the clusters that see the server's files
		// (local, Slurm) are closed.
		return fmt.Errorf("%s exists only %s: machine %s shares no filesystem with the server and has no %s; "+
			"stage it with the job (burst run --in %s ...) or put it on the machine at that path; "+
			"an admin may instead run the job on a cluster whose machines see the submitter's files (e.g. --on local, on the server's own host)",
			p, where, a.cfg.Machine, p, p)
	}
	return nil
}

// cleanup removes what the task left here once its output is shipped: its
// spool files and, unless kept, its private directory.
func (rt *remoteTask) cleanup(sh *shipper) {
	if sh != nil {
		for _, s := range sh.streams {
			if s.spool {
				os.Remove(s.path)
			}
		}
	}
	if !rt.keep {
		os.RemoveAll(rt.dir)
		return
	}
	// Marked as kept (the mark's time is the task's end), and the kept
	// directories beyond the bound go.
	if f, err := os.OpenFile(rt.dir+keptSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
		f.Close()
	}
	sweepWork(filepath.Dir(filepath.Dir(rt.dir)), time.Now(), nil)
}

// Kept private directories (batch jobs, BURST_KEEP_WORKDIR=1) are bounded:
// one stays while it is among the newest keptMax and younger than
// keptAge, so at most keptMax and none older than keptAge.
const (
	keptMax = 100
	keptAge = 7 * 24 * time.Hour
)

// keptSuffix names the mark beside work/JOB/TASK (work/JOB/TASK.kept) of a
// directory kept after its task ended; its time is the task's end.
const keptSuffix = ".kept"

// sweepWork removes, from an agent's home (workDir/spool, workDir/work),
// what no task of this agent owns and kept directories beyond the bound.
// With atStart nil it only ages out kept directories (a task's end);
// otherwise (the agent's start, before it takes any task: tasks of an
// agent that died were killed by killLeftovers) it removes every spool
// file and every private directory without a kept mark as well, whose
// task is gone. The output a dead agent had not shipped is lost with them
// (docs/guarantees.md): the server runs such a task again.
func sweepWork(workDir string, now time.Time, atStart *slog.Logger) {
	if workDir == "" {
		return // no home of its own: nothing of it to sweep
	}
	if atStart != nil {
		spool := filepath.Join(workDir, "spool")
		if ents, err := os.ReadDir(spool); err == nil && len(ents) > 0 {
			for _, e := range ents {
				os.RemoveAll(filepath.Join(spool, e.Name()))
			}
			atStart.Info("removed the spool files of tasks a previous agent left (their unshipped output is lost; the server runs them again)", "files", len(ents))
		}
	}
	work := filepath.Join(workDir, "work")
	jobs, err := os.ReadDir(work)
	if err != nil {
		return
	}
	type kept struct {
		dir string
		at  time.Time
	}
	var keep []kept
	swept := 0
	for _, j := range jobs {
		jdir := filepath.Join(work, j.Name())
		ents, err := os.ReadDir(jdir)
		if err != nil {
			continue
		}
		marks := map[string]time.Time{}
		for _, e := range ents {
			if name, ok := strings.CutSuffix(e.Name(), keptSuffix); ok {
				if fi, err := e.Info(); err == nil {
					marks[name] = fi.ModTime()
				}
			}
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasSuffix(name, keptSuffix) {
				if _, err := os.Stat(filepath.Join(jdir, strings.TrimSuffix(name, keptSuffix))); err != nil {
					os.Remove(filepath.Join(jdir, name)) // its directory is gone
				}
				continue
			}
			if at, ok := marks[name]; ok {
				keep = append(keep, kept{filepath.Join(jdir, name), at})
			} else if atStart != nil {
				os.RemoveAll(filepath.Join(jdir, name))
				swept++
			}
		}
	}
	slices.SortFunc(keep, func(a, b kept) int { return b.at.Compare(a.at) })
	aged := 0
	for i, k := range keep {
		if i >= keptMax || now.Sub(k.at) > keptAge {
			os.RemoveAll(k.dir)
			os.Remove(k.dir + keptSuffix)
			aged++
		}
	}
	if atStart != nil { // not while tasks run: one may be making its directory there
		for _, j := range jobs {
			os.Remove(filepath.Join(work, j.Name())) // only when empty
		}
	}
	if atStart != nil && swept+aged > 0 {
		atStart.Info("swept private directories", "of_tasks_gone", swept, "kept_aged_out", aged)
	}
}

// shipper sends a task's output to the server while the task runs, and
// the rest once it ended (finish), each stream from where the server's
// acknowledgements say it holds.
type shipper struct {
	cl      *client.Client
	machine string
	boot    func() string
	ref     client.TaskRef
	ctx     context.Context // the agent's: its end ends the shipping
	log     *slog.Logger
	streams []*shipStream
	end     chan struct{} // closed when the task ended: ship the rest
	done    chan struct{} // closed when run returned
	buf     []byte
	// giveUp is how long a stream's chunk is tried again while the server
	// answers 5xx (the agent's own give-up time, IdleExit): then the
	// stream is given up, so that the task's end is still reported and
	// its CPUs freed.
	giveUp time.Duration
	// complete: run returned because every stream was shipped or given
	// up, not because the agent stops (set before done is closed).
	complete bool
}

type shipStream struct {
	name  string
	path  string
	from  int64 // where this attempt's output begins in the file
	sent  int64 // bytes the server holds (acknowledged)
	spool bool  // the agent's own file: removed once shipped
	gone  bool  // the server takes no more of it
	// freed is how far the spool file's blocks are freed (punched);
	// noPunch: its file system cannot, so nothing is freed before its end.
	freed   int64
	noPunch bool
}

// add ships the file at path as stream name; appended: the attempt's output
// begins at the file's size now, else at its start.
func (sh *shipper) add(name, path string, appended, spool bool) {
	s := &shipStream{name: name, path: path, spool: spool}
	if appended {
		if fi, err := os.Stat(path); err == nil {
			s.from = fi.Size()
		}
	}
	sh.streams = append(sh.streams, s)
}

// start begins shipping; finish must follow.
func (sh *shipper) start() {
	sh.end, sh.done = make(chan struct{}), make(chan struct{})
	sh.buf = make([]byte, client.MaxOutputChunk)
	go sh.run()
}

// finish ships what is left, once the task ended, and returns when the
// server acknowledged all of it (or takes none, or the agent stops). It
// says whether shipping is over: false when the agent stops first, and
// what is unshipped must then be left where it is.
func (sh *shipper) finish() bool {
	close(sh.end)
	<-sh.done
	return sh.complete
}

func (sh *shipper) run() {
	defer close(sh.done)
	tick := time.NewTicker(shipPoll)
	defer tick.Stop()
	last := time.Now()
	for {
		ended := false
		select {
		case <-sh.ctx.Done():
			return
		case <-sh.end:
			ended = true
		case <-tick.C:
		}
		for _, s := range sh.streams {
			// While it runs: a whole chunk, or whatever came once
			// shipEvery has passed; at its end: everything.
			if !sh.ship(s, ended || time.Since(last) >= shipEvery) {
				return // the agent stops
			}
		}
		if time.Since(last) >= shipEvery {
			last = time.Now()
		}
		if ended {
			sh.complete = true
			return
		}
	}
}

// ship sends s's new bytes: whole chunks only, or all of them if any. It
// returns false when the agent stops meanwhile.
func (sh *shipper) ship(s *shipStream, any bool) bool {
	if s.gone {
		return true
	}
	f, err := os.Open(s.path)
	if err != nil {
		return true // nothing written yet (a spool file is made at the first byte)
	}
	defer f.Close()
	b := backoff.New(50*time.Millisecond, 2*time.Second)
	var failing time.Time // when the server began answering 5xx to this chunk
	for {
		fi, err := f.Stat()
		if err != nil {
			return true
		}
		pending := fi.Size() - s.from - s.sent
		if pending <= 0 || (!any && pending < client.MaxOutputChunk) {
			return true
		}
		n, err := f.ReadAt(sh.buf[:min(pending, int64(len(sh.buf)))], s.from+s.sent)
		if n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				sh.log.Warn("cannot read a task's output to ship it", "job", sh.ref.Job, "task", sh.ref.Index, "file", s.path, "err", err)
				s.gone = true
			}
			return true
		}
		ctx, cancel := context.WithTimeout(sh.ctx, 30*time.Second)
		ack, err := sh.cl.SendOutput(ctx, &client.OutputChunk{Machine: sh.machine, BootID: sh.boot(), TaskRef: sh.ref,
			Stream: s.name, Offset: s.sent, Data: sh.buf[:n]})
		cancel()
		var gap *client.OutputGap
		var refused *client.Error
		switch {
		case err == nil:
			s.sent = ack.Next
			b.Reset()
			failing = time.Time{}
			sh.free(s)
		case errors.As(err, &gap):
			s.sent = gap.Next // ship from where the server is
		case errors.Is(err, client.ErrOutputGone):
			s.gone = true
			return true
		case errors.As(err, &refused) && refused.Status >= 400 && refused.Status < 500:
			// Refused for good (a revoked credential, a chunk the server
			// will never take): sending it again changes nothing. The
			// task's end is reported with what the server holds.
			sh.log.Warn("the server refused a task's output: the rest of this stream is not shipped",
				"job", sh.ref.Job, "task", sh.ref.Index, "stream", s.name, "shipped", s.sent, "unshipped", pending, "err", err)
			s.gone = true
			return true
		case errors.As(err, &refused) && refused.Status >= 500:
			if failing.IsZero() {
				failing = time.Now()
			} else if time.Since(failing) > sh.giveUp {
				sh.log.Warn("the server failed to take a task's output for too long: the rest of this stream is not shipped",
					"job", sh.ref.Job, "task", sh.ref.Index, "stream", s.name, "shipped", s.sent, "for", sh.giveUp, "err", err)
				s.gone = true
				return true
			}
			if b.Wait(sh.ctx) != nil {
				return false
			}
		default:
			// Unreachable, restarting, or it forgot this agent (the
			// session registers again): the same bytes go again.
			if b.Wait(sh.ctx) != nil {
				return false
			}
		}
	}
}

// punchBlock is the unit in which acknowledged spool bytes are freed: a
// hole covers whole file-system blocks only.
const punchBlock = 64 << 10

// free gives the disk blocks of s's spool file that the server holds back
// to the file system (FALLOC_FL_PUNCH_HOLE with FALLOC_FL_KEEP_SIZE: the
// file keeps its size, and the task writing it its offset; the bytes read
// back as zeros, never shipped again since the server acknowledged them).
// A file system that cannot punch holes keeps them until the task ends.
func (sh *shipper) free(s *shipStream) {
	if !s.spool || s.noPunch {
		return
	}
	upto := (s.from + s.sent) / punchBlock * punchBlock
	if upto <= s.freed {
		return
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, s.freed, upto-s.freed); err != nil {
		s.noPunch = true
		sh.log.Info("the spool's file system cannot free shipped output while a task runs: it is freed at the task's end",
			"file", s.path, "err", err)
		return
	}
	s.freed = upto
}

// private is the directory no Direct output file of the task may be in
// (burst's home): none for a remote task whose output files lie in the
// private directory burst just made for it, which is inside that home but
// the task's own.
func (o *opening) private(home string) string {
	if o.remote != nil && o.remote.ownFiles {
		return ""
	}
	return home
}
