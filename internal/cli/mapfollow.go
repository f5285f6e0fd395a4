package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/tasklog"
)

// mapOutput says what a map's follower prints of its tasks' output.
type mapOutput int

const (
	outputNone    mapOutput = iota // a job array: its tasks write to files, as sbatch's do
	outputDone                     // each task's as it ends, whole (GNU parallel's default --group)
	outputOrdered                  // each task's whole, in input order (-k)
	outputLines                    // each task's lines as they come (--lb, maplive.go)
	outputRaw                      // each task's bytes as they come (-u, maplive.go)
)

// followOpts says how to follow a map.
type followOpts struct {
	output mapOutput
	quiet  bool   // no progress line
	skip   []bool // tasks whose output is not this follow's (a resume's earlier successes), by index
	// halt is the map's --halt as given: a map it stopped exits as GNU
	// parallel's (haltStatus).
	halt string
	// haltAt is how many of the tasks --halt counts (failed, succeeded or
	// ended) stop the map (0: unknown); haltSoon, that its started tasks
	// run on then (soon), as haltSay says.
	haltAt   int
	haltSoon bool
	// tag, when set, is what each output line of a task begins with
	// (--tag: its inputs and a tab; --tagstring: STR filled and a tab).
	tag func(t burst.Task) string
	// joblog, when set, gets a line for each task printed (--joblog).
	joblog *joblog
	// verbose, when set, is task i's command, printed on stdout before its
	// output (-v).
	verbose func(t burst.Task) string
	// verboseErr: the command goes on stderr as the task starts (or at
	// the latest before its output), neither tagged nor saved by
	// --results (GNU parallel's --verbose), not on stdout (its -v).
	verboseErr bool
	// results, when set, saves each task's output in files instead of
	// printing it (--results).
	results *results
	// reruns: a task may run again (--retries), and the server's follow of
	// its output goes on into the next attempt: -u and --lb print each
	// task whole as it ends instead of following it.
	reruns bool
	// note, when set, is a line said on stderr after the job's.
	note string
	// procfile, when set, is -j's file, read again as tasks end
	// (mapprocfile.go).
	procfile *procfile
	// command, when set, is a task's command as --dry-run prints it, said
	// on stderr when its time limit killed it (timedOut).
	command func(t burst.Task) string
}

// followTasks shows a map's progress until it ends, prints its tasks'
// output as o says, and exits as mapExit says.
func followTasks(ctx context.Context, c *cobra.Command, cl *client.Client, j *burst.Job, o followOpts, in *interrupts) error {
	ctx, out, stop := cancelOnInterrupt(ctx, c.OutOrStdout(), c.ErrOrStderr(), cl, j.ID, in)
	defer stop()
	stderr := out.stderr
	fmt.Fprintf(stderr, "burst: job %d (%s)\n", j.ID, burst.Plural(j.Tasks.Total, "task"))
	if o.note != "" {
		fmt.Fprintln(stderr, o.note)
	}
	var bar *progress
	if f, ok := c.ErrOrStderr().(*os.File); ok && !o.quiet && term.IsTerminal(int(f.Fd())) {
		width := func() int {
			w, _, err := term.GetSize(int(f.Fd()))
			if err != nil {
				return 80
			}
			return w
		}
		bar = newProgress(stderr, width, time.Now(), j.Tasks)
	}
	p := newTaskPrinter(cl, j, o, out.stdout, stderr, bar)
	// The loop holds p.mu but while it waits: the followers of running
	// tasks (-u, --lb) write under it.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live != nil {
		p.liveCtx, p.cancelLive = context.WithCancel(ctx)
		defer p.stopLive()
	}
	// Why it waits, when nothing of it runs (queued, or stalled mid-run: a
	// budget spent, a disk nearly full): on a terminal once it has waited a
	// second, above the bar, and again when the reason changes; to a log or
	// a pipe once, after ten seconds, as burst run says it (showWaiting).
	var stalled time.Time
	waiting, saidQuiet := "", false
	last := j
	for {
		if p.said != nil && last.Tasks.Running+last.Tasks.Done() > p.nSaid {
			if err := p.started(ctx); err != nil {
				if ctx.Err() != nil {
					break
				}
				return serverGone(err, j.ID)
			}
		}
		if o.output != outputNone && last.Tasks.Done() > p.base+p.nTaken {
			if err := p.scan(ctx, last.State.Terminal()); err != nil {
				if ctx.Err() != nil {
					break
				}
				return serverGone(err, j.ID)
			}
		}
		if err := p.sayStarted(nil); err != nil {
			return err
		}
		if last.State.Terminal() {
			break
		}
		if p.live != nil && last.Tasks.Running > 0 {
			if err := p.followRunning(last.Tasks.Running + last.Tasks.Done()); err != nil {
				if ctx.Err() != nil {
					break
				}
				return serverGone(err, j.ID)
			}
		}
		switch {
		case last.Waiting == "" || last.Tasks.Running > 0:
			stalled = time.Time{}
		case stalled.IsZero():
			stalled = time.Now()
		case bar != nil && !sameWait(last.Waiting, waiting) && time.Since(stalled) >= waitingAfter:
			waiting = last.Waiting
			bar.clear()
			fmt.Fprintf(stderr, "burst: job %d waits: %s\n", j.ID, localTimes(waiting))
		case bar == nil && !saidQuiet && !o.quiet && time.Since(stalled) >= waitingAfterQuiet:
			saidQuiet = true
			fmt.Fprintf(stderr, "burst: job %d waits: %s\n", j.ID, localTimes(last.Waiting))
		}
		if bar != nil {
			p.endLine() // a task's last line without a newline would be drawn over
			bar.draw(last.Tasks, last.CostUSD, time.Now())
		}
		// The job as it is 200 ms from now, or the moment it ends.
		p.mu.Unlock()
		nj, err := cl.WaitFor(ctx, j.ID, 200*time.Millisecond)
		p.mu.Lock()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return serverGone(err, j.ID)
		}
		if o.procfile != nil && nj.Tasks.Done() > last.Tasks.Done() && !nj.State.Terminal() {
			o.procfile.reread(ctx, cl, j.ID, stderr) // parallel reads it again as a job completes
		}
		last = nj
	}
	if ctx.Err() != nil {
		if bar != nil {
			bar.clear()
		}
		return stoppedWaiting(ctx, j.ID)
	}
	if bar != nil {
		p.endLine()
		bar.finish(last.Tasks, last.CostUSD, time.Now())
	}
	err := mapExit(ctx, cl, last)
	if last.State == burst.Succeeded && strings.HasPrefix(last.Reason, "halted:") {
		// --halt success=N (or done=N with no failure) stopped it: say so,
		// as parallel's "This job succeeded", and what it cancelled.
		msg := last.Reason
		if last.Tasks.Cancelled > 0 {
			msg += "; " + burst.Plural(last.Tasks.Cancelled, "task") + " cancelled"
		}
		fmt.Fprintf(stderr, "burst: job %d: %s\n", j.ID, msg)
	}
	if s := cmp.Or(last.Spec, j.Spec); s != nil && len(s.Outputs) > 0 && last.Tasks.Succeeded > 0 {
		// Unlike burst run, a map leaves its tasks' --out files in the
		// store: say how to get them, or the map looks as if it made none.
		fmt.Fprintf(stderr, "burst: job %d: the files its tasks left (--out) are kept: `burst results %d --fetch [DIR]` brings them here\n", j.ID, j.ID)
	}
	if p.gone != nil && err == nil {
		return p.gone
	}
	if o.halt != "" && last.State != burst.Succeeded && last.State != burst.Cancelled {
		if code, ok := haltStatus(ctx, cl, last, o.halt); ok {
			var ms mapStatusError
			if errors.As(err, &ms) {
				ms.ExitError.Code = code
			}
		}
	}
	return err
}

// haltStatus is the exit status GNU parallel gives a map with --halt
// whose tasks did not all succeed (parallel 20221122, checked side by
// side). Parallel fixes it when it halts, at the failure that reaches
// the limit, and tasks that fail after it (those soon lets end, or ended
// at once) do not change it: with fail=1, the status of the task that
// failed first; with fail=N, N (101 above 100); with fail=P%, that
// failure's share of the tasks, in percent, rounded up. A map it did
// not stop exits with the share that failed (fail=P%), or the number
// that failed, as without --halt (ok false then). A map that success=
// or done= halted exits as the server fixed it when it halted; one they
// did not exits with the number that failed, and with success=P% or
// done=P% with its share, rounded up.
func haltStatus(ctx context.Context, cl *client.Client, j *burst.Job, halt string) (int, bool) {
	switch halt { // parallel's short forms (parallelHalt)
	case "1":
		halt = "soon,fail=1"
	case "2":
		halt = "now,fail=1"
	}
	if strings.HasSuffix(halt, "%") && !strings.Contains(halt, ",") {
		halt = "soon,fail=" + halt
	}
	_, cond, _ := strings.Cut(halt, ",")
	n, fail := strings.CutPrefix(cond, "fail=")
	c := j.Tasks
	if !fail { // success= or done=: a halted map's status is the server's, fixed when it halted
		if !strings.HasSuffix(cond, "%") || c.Total == 0 || strings.HasPrefix(j.Reason, "halted") {
			return 0, false // the server's: that, or the number that failed
		}
		return (100*(c.Failed+c.Timeout+c.Lost) + c.Total - 1) / c.Total, true
	}
	pct, isPct := strings.CutSuffix(n, "%")
	stopped := strings.HasPrefix(j.Reason, "stopped")
	switch {
	case stopped && n == "1":
		bad, err := cl.Tasks(ctx, j.ID, 0, 1000, burst.Failed, burst.Timeout)
		if err != nil || len(bad) == 0 {
			return 0, false
		}
		first := bad[0]
		for _, t := range bad[1:] {
			if t.EndedAt != nil && (first.EndedAt == nil || t.EndedAt.Before(*first.EndedAt)) {
				first = t
			}
		}
		return burst.ParallelStatus(first.State, first.ExitCode, first.Signal), true
	case isPct && c.Total > 0:
		failed := c.Failed + c.Timeout + c.Lost
		if f, err := strconv.ParseFloat(pct, 64); stopped && err == nil {
			failed = burst.HaltShare(int64(c.Total), f)
		}
		return (100*failed + c.Total - 1) / c.Total, true // rounded up, as parallel's
	case stopped:
		if k, err := strconv.Atoi(n); err == nil && k > 1 {
			return min(k, 101), true
		}
	}
	return 0, false
}

// taskPrinter prints each ended task's stdout and then its stderr, whole
// and once, as GNU parallel's --group does: in the order the tasks ended,
// or in input order. It learns which tasks ended from the server's task
// list and reads their logs again from where it was if the server goes
// away meanwhile.
type taskPrinter struct {
	cl     *client.Client // a follow's (follows)
	id     int64
	o      followOpts
	stdout io.Writer
	stderr io.Writer
	bar    *progress
	local  bool // the server runs here: its log files are read directly

	taken  []bool             // printed, waiting for earlier ones (-k), or skipped
	ended  []bool             // -k: ended and waiting
	wait   map[int]burst.Task // -k: the rows of the tasks waiting
	next   int                // every task below next is taken
	base   int                // tasks ended before this follow (skipped)
	nTaken int                // tasks of this follow taken
	open   bool               // the last byte printed was no newline
	gone   error              // the first task whose log was removed (410), said at the end

	// -u and --lb (maplive.go): the running tasks followed, by index, the
	// tasks started at the last look for more, and the followers' context.
	mu         sync.Mutex
	live       map[int]*follower
	nStarted   int
	liveCtx    context.Context
	cancelLive context.CancelFunc

	// A scan's reads and writes: the pack file of the tasks' small outputs
	// kept open across them, one buffer to copy through, and stdout
	// written in large writes (flushed at the scan's end, and before
	// anything goes to stderr, so that the two keep their order).
	files tasklog.Files
	buf   []byte
	out   *bufio.Writer

	// --verbose: the tasks whose command was said as they started
	// (sayStarted), how many, the first not said, and those seen started
	// but not yet said.
	said    []bool
	nSaid   int
	sayFrom int
	unsaid  []burst.Task

	nHalt int // the tasks haltSay named
}

func newTaskPrinter(cl *client.Client, j *burst.Job, o followOpts, stdout, stderr io.Writer, bar *progress) *taskPrinter {
	p := &taskPrinter{cl: cl, id: j.ID, o: o, stdout: stdout, stderr: stderr, bar: bar,
		local: serverIsLocal(), taken: make([]bool, j.Tasks.Total),
		buf: make([]byte, 32<<10), out: bufio.NewWriterSize(stdout, 64<<10)}
	if o.output == outputOrdered {
		p.ended, p.wait = make([]bool, j.Tasks.Total), map[int]burst.Task{}
	}
	if o.live() {
		p.live = map[int]*follower{}
	}
	if o.verbose != nil && o.verboseErr && o.output != outputNone {
		p.said = make([]bool, j.Tasks.Total)
	}
	for i, s := range o.skip {
		if s && i < len(p.taken) {
			p.taken[i] = true
			p.base++
			if p.said != nil {
				p.said[i] = true
				p.nSaid++
			}
		}
	}
	p.advance()
	return p
}

func (p *taskPrinter) advance() {
	for p.next < len(p.taken) && p.taken[p.next] && (p.ended == nil || !p.ended[p.next]) {
		p.next++
	}
	for p.sayFrom < len(p.said) && p.said[p.sayFrom] {
		p.sayFrom++
	}
}

var endedStates = []burst.State{burst.Succeeded, burst.Failed, burst.Timeout, burst.Lost, burst.Cancelled}

// scan prints the tasks that ended since the last scan; final: the job
// has ended, so -k prints every task left, past those that never ran.
func (p *taskPrinter) scan(ctx context.Context, final bool) (err error) {
	defer func() {
		p.files.Close()
		if ferr := p.out.Flush(); err == nil {
			err = ferr
		}
	}()
	var fresh []burst.Task
	if err := forTasks(ctx, p.cl, p.id, p.next, len(p.taken), endedStates, func(t burst.Task) {
		if t.Index >= 0 && t.Index < len(p.taken) && !p.taken[t.Index] {
			fresh = append(fresh, t)
		}
	}); err != nil {
		return err
	}
	if p.o.output != outputOrdered {
		slices.SortStableFunc(fresh, byEnd)
		for _, t := range fresh {
			p.take(t.Index)
			if err := p.sayStarted(t.EndedAt); err != nil {
				return err
			}
			if err := p.timedOut(t); err != nil {
				return err
			}
			if err := p.print(ctx, t); err != nil {
				return err
			}
			if err := p.haltSay(ctx, t); err != nil {
				return err
			}
		}
		p.advance()
		return nil
	}
	for _, t := range fresh {
		p.take(t.Index)
		p.ended[t.Index] = true
		p.wait[t.Index] = t
		if err := p.timedOut(t); err != nil { // as it ends, before the output of those before it (-k)
			return err
		}
	}
	for p.next < len(p.taken) && (p.ended[p.next] || final || p.taken[p.next] && !p.ended[p.next]) {
		i := p.next
		p.next++
		if !p.ended[i] {
			continue // skipped, or (final) never ran
		}
		p.ended[i] = false
		t := p.wait[i]
		delete(p.wait, i)
		// --verbose: the commands of the tasks that started before this
		// one ended come before its output, as without -k.
		if err := p.sayStarted(t.EndedAt); err != nil {
			return err
		}
		if err := p.print(ctx, t); err != nil {
			return err
		}
	}
	// --halt's word on each task that ended, after what its end let print,
	// as parallel's after the jobs -k let it print.
	slices.SortStableFunc(fresh, byEnd)
	for _, t := range fresh {
		if err := p.haltSay(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// byEnd orders tasks by their end, then by index.
func byEnd(a, b burst.Task) int {
	if a.EndedAt != nil && b.EndedAt != nil && !a.EndedAt.Equal(*b.EndedAt) {
		return a.EndedAt.Compare(*b.EndedAt)
	}
	return a.Index - b.Index
}

// haltSay says on stderr, with --halt, that task t failed, succeeded or
// ended, naming its command, as GNU parallel 20221122 says each job its
// --halt counts as it ends ("This job failed:", then the command; with
// success=, "This job succeeded:"; with done=, "This job finished:"). A
// task the halt cancelled gets none, as parallel's killed jobs. From the
// one that reaches the limit on, with soon, it says as parallel does how
// many tasks that started before it ended still ran then ("Starting no
// more jobs. Waiting for N jobs to finish."), where any did.
func (p *taskPrinter) haltSay(ctx context.Context, t burst.Task) error {
	if p.o.command == nil || t.State == burst.Cancelled {
		return nil
	}
	var what string
	switch haltOn(p.o.halt) {
	case "fail":
		if t.State == burst.Failed || t.State == burst.Timeout || t.State == burst.Lost {
			what = "failed"
		}
	case burst.HaltOnSuccess:
		if t.State == burst.Succeeded {
			what = "succeeded"
		}
	case burst.HaltOnDone:
		what = "finished"
	}
	if what == "" {
		return nil
	}
	if p.bar != nil {
		p.bar.clear()
	}
	if _, err := fmt.Fprintf(p.stderrAfterStdout(), "burst: This job %s:\n%s\n", what, p.o.command(t)); err != nil {
		return err
	}
	p.nHalt++
	if !p.o.haltSoon || p.o.haltAt == 0 || p.nHalt < p.o.haltAt || t.EndedAt == nil {
		return nil
	}
	n, err := p.runningAt(ctx, *t.EndedAt)
	if err != nil || n == 0 {
		return nil // a line of information: a listing that failed does not end the map's follow
	}
	_, err = fmt.Fprintf(p.stderr, "burst: Starting no more jobs. Waiting for %d jobs to finish.\n", n)
	return err
}

// runningAt is how many of the map's tasks ran at moment at: started by
// then, and ended after it or not yet. The cancelled are not asked for:
// a halted map's are mostly those it never started, and soon cancels none
// that run.
func (p *taskPrinter) runningAt(ctx context.Context, at time.Time) (int, error) {
	n := 0
	err := forTasks(ctx, p.cl, p.id, 0, len(p.taken), []burst.State{burst.Running, burst.Succeeded, burst.Failed, burst.Timeout, burst.Lost}, func(t burst.Task) {
		if t.StartedAt != nil && !t.StartedAt.After(at) && (t.EndedAt == nil || t.EndedAt.After(at)) {
			n++
		}
	})
	return n, err
}

// haltOn is what a map's --halt (as given) counts: fail, success or done
// ("" for none), its short forms read as parallelHalt reads them.
func haltOn(halt string) string {
	switch halt {
	case "", "never", "0":
		return ""
	case "1", "2":
		return "fail"
	case "-1", "-2":
		return burst.HaltOnSuccess
	}
	if strings.HasSuffix(halt, "%") && !strings.Contains(halt, ",") {
		return "fail"
	}
	_, cond, _ := strings.Cut(halt, ",")
	why, _, _ := strings.Cut(cond, "=")
	return why
}

func (p *taskPrinter) take(i int) {
	p.taken[i] = true
	p.nTaken++
}

// timedOut says on stderr that task t's time limit killed it, naming its
// command, in GNU parallel 20221122's words for a job its --timeout killed
// ("parallel: Warning: This job was killed because it timed out:", then
// the command): as the task ends, whatever -k waits for, and not saved by
// --results.
func (p *taskPrinter) timedOut(t burst.Task) error {
	if t.State != burst.Timeout || p.o.command == nil {
		return nil
	}
	if p.bar != nil {
		p.bar.clear()
	}
	_, err := fmt.Fprintf(p.stderrAfterStdout(), "burst: warning: This job was killed because it timed out:\nburst: warning: %s\n", p.o.command(t))
	return err
}

// started notes the tasks that started since the last look, for
// sayStarted: GNU parallel's --verbose prints a job's command as it starts
// (with -j 2, both commands before either's output; with -k too).
func (p *taskPrinter) started(ctx context.Context) error {
	p.unsaid = p.unsaid[:0]
	return forTasks(ctx, p.cl, p.id, p.sayFrom, len(p.said), append([]burst.State{burst.Running}, endedStates...), func(t burst.Task) {
		if t.Index >= 0 && t.Index < len(p.said) && !p.said[t.Index] && t.StartedAt != nil {
			p.unsaid = append(p.unsaid, t)
		}
	})
}

// sayStarted says the command of each task started noted that started
// before by (nil: all of them), in input order, as parallel starts its
// jobs (their start times are each machine's): a task that ended is
// printed after those that started before its end, and before the others.
func (p *taskPrinter) sayStarted(by *time.Time) error {
	keep := p.unsaid[:0]
	for _, t := range p.unsaid {
		if by != nil && t.StartedAt.After(*by) {
			keep = append(keep, t)
		} else if err := p.say(t); err != nil {
			return err
		}
	}
	p.unsaid = keep
	return p.out.Flush()
}

// say writes task t's command on stderr (--verbose), once.
func (p *taskPrinter) say(t burst.Task) error {
	if p.said == nil || p.said[t.Index] {
		return nil
	}
	p.said[t.Index] = true
	p.nSaid++
	p.advance()
	if p.bar != nil {
		p.bar.clear()
	}
	_, err := io.WriteString(p.trackNewline(p.stderrAfterStdout()), p.o.verbose(t)+"\n")
	return err
}

// print writes task t's stdout to stdout, then its stderr to stderr, the
// progress line out of the way meanwhile.
func (p *taskPrinter) print(ctx context.Context, t burst.Task) error {
	f := p.followed(t) // -u, --lb: its output was printed as it came
	if f != nil && f.attempt != t.Attempt {
		// It ran again (its machine lost): the follow's end, an error
		// where the next attempt's bytes differ, tells nothing of the
		// last attempt, which is printed whole.
		f = nil
	}
	if f != nil && f.err != nil {
		var ce *client.Error
		if !errors.As(f.err, &ce) || ce.Status != http.StatusGone {
			return f.err
		}
		p.gone = cmp.Or(p.gone, f.err)
	}
	if t.State == burst.Cancelled {
		// As parallel prints nothing of a job its --halt killed: what a
		// cancelled task wrote stays in burst logs JOB --task N.
		return nil
	}
	if p.bar != nil {
		p.bar.clear()
	}
	var received int64 // of stdout: the joblog's Receive
	stdout, stderr, saved, closeResults, err := p.o.results.writers(t, p.out, p.stderrAfterStdout())
	if err != nil {
		return fmt.Errorf("%w; task %d's output is kept: burst logs %d --task %d", err, t.Index, p.id, t.Index)
	}
	defer closeResults()
	if err := p.say(t); err != nil { // one that started and ended between two looks
		return err
	}
	if f != nil {
		received = f.received
	}
	for _, s := range []struct {
		name, path string
		from, to   int64
		w          io.Writer
	}{{"stdout", t.Stdout, t.StdoutFrom, t.StdoutTo, stdout}, {"stderr", t.Stderr, t.StderrFrom, t.StderrTo, stderr}} {
		if f != nil {
			break
		}
		out := s.w
		if p.o.results != nil {
			// saved, not printed
		} else if out = p.trackNewline(out); p.o.tag != nil {
			out = &tagWriter{w: out, tag: p.o.tag(t), start: true}
		}
		if p.o.verbose != nil && !p.o.verboseErr && s.name == "stdout" {
			// -v: the command first, tagged or saved as the output is
			if _, err := io.WriteString(out, p.o.verbose(t)+"\n"); err != nil {
				return err
			}
		}
		w := &countWriter{w: out} // counts the task's own bytes, not the tags
		if p.local && s.path != "" {
			err := p.copyLocal(s.path, s.from, s.to, w)
			// No file: the task wrote nothing (its files are made at its
			// first byte, its pack range written, before its end is
			// reported).
			// Asking the server would cost two requests per silent task.
			// A file that is gone but held bytes (s.to) is the server's to
			// report.
			if err == nil || errors.Is(err, fs.ErrNotExist) && s.to <= s.from {
				if s.name == "stdout" {
					received = w.n
				}
				continue
			} else if w.n > 0 {
				return fmt.Errorf("read the output of task %d of job %d: %w", t.Index, p.id, err)
			}
		}
		if err := p.cl.Logs(ctx, p.id, client.LogsQuery{Task: t.Index, Stream: s.name, Offset: w.n}, w); err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status == http.StatusGone {
				// Its log was removed after it ended: the other tasks'
				// output still comes, and the map fails at its end.
				if p.gone == nil {
					p.gone = err
				}
				continue
			}
			return err
		}
		if s.name == "stdout" {
			received = w.n
		}
	}
	if err := closeResults(); err != nil {
		return fmt.Errorf("--results: %w", err)
	}
	if saved != "" && p.o.results.paths {
		tag := ""
		if p.o.tag != nil {
			tag = p.o.tag(t)
		}
		if _, err := io.WriteString(p.trackNewline(p.out), tag+saved+"\n"); err != nil {
			return err
		}
	}
	if p.o.joblog != nil {
		w := p.o.joblog.w
		if w == nil {
			w = p.trackNewline(p.out) // --joblog -
		}
		return p.o.joblog.add(w, t, received)
	}
	return nil
}

// joblog is GNU parallel's --joblog file: a header, then a line for each
// task as its output is printed: Seq, Host, Starttime (Unix seconds),
// JobRuntime (seconds), Send, Receive (its stdout's bytes), Exitval,
// Signal, Command (as --dry-run prints it).
type joblog struct {
	w    io.Writer                                      // nil: standard output, after the task's output
	task func(t burst.Task) (command string, seq int64) // a task's command and number
}

const joblogHeader = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

func (l *joblog) add(w io.Writer, t burst.Task, received int64) error {
	if t.State == burst.Cancelled {
		return nil // parallel logs no line for a job its --halt killed, or one never run
	}
	var start, runtime float64
	if t.StartedAt != nil {
		start = float64(t.StartedAt.UnixMilli()) / 1000
		if t.EndedAt != nil {
			runtime = max(t.EndedAt.Sub(*t.StartedAt).Seconds(), 0)
		}
	}
	exit := 0 // a job killed by a signal: 0, the signal in its own column
	switch {
	case t.ExitCode != nil:
		exit = *t.ExitCode
	case t.State == burst.Timeout || t.State == burst.Lost:
		exit = -1 // as parallel writes for a job its --timeout killed
	}
	host := cmp.Or(t.Machine, ":")
	command, seq := l.task(t)
	_, err := fmt.Fprintf(w, "%d\t%s\t%.3f\t%10.3f\t0\t%d\t%d\t%d\t%s\n", seq, host, start, runtime, received, exit, t.Signal, command)
	return err
}

// copyLocal copies bytes [from, to) of the file at path (to 0: its end) to
// w, the file kept open for the scan's next task.
func (p *taskPrinter) copyLocal(path string, from, to int64, w io.Writer) error {
	r, err := p.files.Range(path, from, to)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(w, r, p.buf)
	return err
}

// stderrAfterStdout is stderr, written to only after the stdout buffered
// so far is.
func (p *taskPrinter) stderrAfterStdout() io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		if err := p.out.Flush(); err != nil {
			return 0, err
		}
		return p.stderr.Write(b)
	})
}

// trackNewline wraps w to remember whether the last byte printed ended a
// line, so that the progress line is drawn on a line of its own.
func (p *taskPrinter) trackNewline(w io.Writer) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		if len(b) > 0 {
			p.open = b[len(b)-1] != '\n'
		}
		return w.Write(b)
	})
}

// endLine ends a last output line that had no newline before the progress
// line is drawn below it.
func (p *taskPrinter) endLine() {
	if p.open {
		fmt.Fprintln(p.stderr)
		p.open = false
	}
}

// tagWriter writes tag at the start of each line it passes on, and says
// it wrote what it was given.
type tagWriter struct {
	w     io.Writer
	tag   string
	start bool // the next byte begins a line
	buf   []byte
}

func (t *tagWriter) Write(b []byte) (int, error) {
	t.buf = t.buf[:0]
	for rest := b; len(rest) > 0; {
		if t.start {
			t.buf = append(t.buf, t.tag...)
		}
		line, after, nl := bytes.Cut(rest, []byte{'\n'})
		t.buf = append(t.buf, line...)
		if nl {
			t.buf = append(t.buf, '\n')
		}
		t.start, rest = nl, after
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// mapExit is 0 if every task succeeded, 130 if the map was cancelled, else
// the job's exit status as the server set it (for a map GNU parallel's: the
// number of tasks that failed, timed out or were lost, 101 if more than 100;
// 1 for a job array). Its summary names the failed tasks' inputs (an array's
// indices) and how to read their logs.
func mapExit(ctx context.Context, cl *client.Client, j *burst.Job) error {
	c := j.Tasks
	if j.State == burst.Succeeded {
		return nil
	}
	if j.State == burst.Cancelled {
		return &ExitError{Code: 130, Msg: fmt.Sprintf("job %d was cancelled: %d of %d tasks had succeeded; `burst map --resume %d` runs the rest", j.ID, c.Succeeded, c.Total, j.ID)}
	}
	code := 1
	if j.ExitCode != nil && *j.ExitCode > 0 {
		code = *j.ExitCode
	}
	var bad []burst.Task
	bad, _ = cl.Tasks(ctx, j.ID, 0, 11, burst.Failed, burst.Timeout, burst.Lost)
	array := j.Spec != nil && j.Spec.Map != nil && j.Spec.Map.Array
	var names []string
	for i, t := range bad {
		if i == 10 {
			names = append(names, "...")
			break
		}
		rs, _ := cl.Results(ctx, j.ID, t.Index, 1, false)
		if len(rs) == 1 && rs[0].Index == t.Index && len(rs[0].Input) > 0 {
			names = append(names, inputName(rs[0].Input))
		} else {
			names = append(names, "task "+strconv.Itoa(t.Index))
		}
	}
	msg := fmt.Sprintf("job %d: %d of %d tasks did not succeed (%d failed, %d timed out, %d lost, %d cancelled)",
		j.ID, c.Total-c.Succeeded, c.Total, c.Failed, c.Timeout, c.Lost, c.Cancelled)
	if strings.HasPrefix(j.Reason, "stopped") || strings.HasPrefix(j.Reason, "halted") {
		msg += "; " + j.Reason
	}
	if len(names) > 0 {
		what := "failed inputs"
		if array {
			what = "failed array indices"
		}
		msg += fmt.Sprintf("; %s: %s; see `burst logs %d --task %d --stderr`", what, strings.Join(names, ", "), j.ID, bad[0].Index)
		if bad[0].Reason != "" {
			msg += fmt.Sprintf(" (task %d: %s)", bad[0].Index, bad[0].Reason)
		}
	}
	msg += fmt.Sprintf("; `burst map --resume %d` reruns them", j.ID)
	return mapStatusError{&ExitError{Code: code, Msg: msg}}
}

// inputName writes a task's inputs for a person: the input as it is (quoted
// when it holds a space, a comma or nothing), several groups' as (a, b).
func inputName(in []string) string {
	q := make([]string, len(in))
	for i, s := range in {
		if r := []rune(s); len(r) > 60 { // a summary line, not the input: a 100 KB one is cut
			s = string(r[:57]) + "..."
		}
		q[i] = s
		if s == "" || strings.ContainsAny(s, " ,()\"'\t\n\r") || strconv.Quote(s) != `"`+s+`"` {
			q[i] = strconv.Quote(s)
		}
	}
	if len(q) == 1 {
		return q[0]
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// taskPage is how many tasks forTasks asks for at once.
const taskPage = 10000

// forTasks calls fn with each task of job id at index from or after,
// before index end, in the states given (none: every state), asking for a
// page of taskPage at a time until one comes short.
func forTasks(ctx context.Context, cl *client.Client, id int64, from, end int, states []burst.State, fn func(burst.Task)) error {
	for from < end {
		page, err := cl.Tasks(ctx, id, from, taskPage, states...)
		if err != nil {
			return err
		}
		for _, t := range page {
			fn(t)
		}
		if len(page) < taskPage {
			return nil
		}
		from = page[len(page)-1].Index + 1
	}
	return nil
}
