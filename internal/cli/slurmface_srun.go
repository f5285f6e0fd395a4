package cli

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/slurmface"
	"github.com/burst-sh/burst/internal/sysuser"
)

func newSrunCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "srun [OPTIONS] COMMAND [ARGS...]",
		Short: "Run a command as Slurm's srun does: a job step, or an interactive job",
		Long: `Run COMMAND as srun does.

Inside a burst job (a task, where BURST_JOB_ID or SLURM_JOB_ID is set) it is
a job step: -n N copies of COMMAND start right there, each with its
SLURM_PROCID, SLURM_LOCALID and SLURM_NTASKS (N defaults to the job's
SLURM_NTASKS, else with -c C as many as the job's CPUs hold (its CPUs / C),
else its SLURM_TASKS_PER_NODE, else 1); srun's stdin goes to
every task (-i N: task N alone; -i FILE: each reads FILE), -o/-e send their
output to files (%t the task, %s the step, %j the job, ...); srun exits with the
highest exit status of its tasks (128+N for one killed by signal N) and
says which task failed on stderr, as srun does. A step that asks for more
CPUs (-n times -c) or memory (--mem) than the job holds is refused. A step
started with --exclusive, --exact or -c holds its CPUs (-n times -c) while
it runs, and one that finds too few free waits for them, as Slurm's does
("srun: Job N step creation temporarily disabled, retrying"): a loop of
` + "`srun -n1 --exclusive TASK &`" + ` then ` + "`wait`" + ` runs as many at once as the job
has CPUs. Other steps (and --overlap ones) hold none and may overlap.

Outside a job it is an interactive job: ` + "`burst run`" + ` attached, with the
step's resources (-n times -c CPUs, --mem, -G, -t), -J, -A (the project),
-p (the cluster of that name; the default one when none is): the output streams here, srun exits with
the job's status, and Ctrl-C cancels it. With -n N above 1 the job holds
the N tasks and runs them as a step inside it (as srun's allocation
does): labels, -K, -o/-e/-i patterns and the exit status are the step's.

Honoured: -n, -c, --mem, --mem-per-cpu, -J, -l/--label ("0: " before each
line), -u/--unbuffered (output is passed on as it comes anyway), --export
(ALL, NONE, NAME, NAME=VALUE), -K/--kill-on-bad-exit (a task exiting
non-zero ends the others and what they started: SIGTERM, SIGKILL after
10 s, with srun's and slurmstepd's lines), -D (a directory the step cannot enter: slurmstepd's
line, and the step runs in /tmp), -t (outside a job the job's limit,
inside one the step's own, in whole minutes), -N 1, --mpi=none,
--exclusive, --exact, --overlap, -m/--distribution (told to the step as
SLURM_DISTRIBUTION; one machine places nothing by it); outside a job also
-A, -p, -G/--gres. Accepted and ignored: --cpu-bind, --mem-bind,
--hint, -Q, -v, -W, --comment, -C, -q,
--threads-per-core, --ntasks-per-core, --propagate, --signal, --cpu-freq,
-X, -k, --gpu-bind, --mincpus, --tmp, --nice, --reservation and the node
layout ones (--tasks-per-node is --ntasks-per-node). Refused, with
the fix: -N above 1, --mpi other than none, --multi-prog, -d, --jobid of
another job than the one srun runs in (its own, $SLURM_JOB_ID, is taken); --pty
from a terminal (with no terminal on its stdin, srun says it disregards
--pty and runs the step, as Slurm's does).`,
		Example: `  srun -n 4 -l hostname                 # in a job script: 4 labelled lines
  srun -n1 --cpu-bind=q python3 step.py  # a step, as Snakemake's --slurm runs it
  burst slurm srun -c 2 --mem 1G python3 fit.py   # outside a job: an interactive job
  burst slurm srun -n 4 -l hostname              # outside a job: a job of 4 tasks, one step`,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			s, err := slurmface.ParseSrun(args)
			switch {
			case errors.Is(err, slurmface.ErrSrunHelp):
				return c.Help()
			case err != nil:
				return optUsage(err)
			case s.WantsVersion():
				fmt.Fprintln(c.OutOrStdout(), slurmVersionLine)
				return nil
			case s.Pty && term.IsTerminal(int(os.Stdin.Fd())):
				return &ExitError{Code: 1, Msg: slurmface.PtyRefusal}
			case s.Pty: // no terminal to give it: srun says so and runs the step all the same
				fmt.Fprint(c.ErrOrStderr(), slurmface.PtyDisregarded)
			}
			if s.Export == "" { // srun(1): SLURM_EXPORT_ENV is --export; sbatch sets it in a job
				s.Export = os.Getenv("SLURM_EXPORT_ENV")
			}
			if os.Getenv("BURST_JOB_ID") != "" || os.Getenv("SLURM_JOB_ID") != "" {
				if err := s.SameJob(cmp.Or(os.Getenv("SLURM_JOB_ID"), os.Getenv("BURST_JOB_ID"))); err != nil {
					return &ExitError{Code: 1, Msg: err.Error()}
				}
				if err := stepNodes(s); err != nil {
					return err
				}
				return runStep(c, s)
			}
			if s.JobID != 0 {
				return usage("srun: --jobid=%d: burst cannot start a step in a job from outside it: run srun in the job's script (burst runs a step only in the job srun is started in)", s.JobID)
			}
			if s.NodeList != "" {
				return usage("srun: -w %s: burst chooses the machine of a job itself: give the cluster with -p CLUSTER (burst cluster list)", s.NodeList)
			}
			return runInteractive(c, s, args)
		},
	}
}

// stepNodes checks a step's -w against the job's nodes: a burst job holds
// one machine, so the step may name it (torchrun scripts name the first of
// `scontrol show hostnames`), and any other is refused as srun refuses it.
func stepNodes(s *slurmface.Srun) error {
	if s.NodeList == "" {
		return nil
	}
	want, err := slurmface.HostlistArg(s.NodeList)
	if err != nil {
		return &ExitError{Code: 1, Msg: "srun: error: -w: " + err.Error()}
	}
	have, _ := slurmface.ExpandHostlist(cmp.Or(os.Getenv("SLURM_JOB_NODELIST"), os.Getenv("SLURM_NODELIST"), os.Getenv("SLURMD_NODENAME")))
	for _, h := range want {
		if !slices.Contains(have, h) {
			return &ExitError{Code: 1, Msg: fmt.Sprintf("srun: error: Unable to create step for job %s: Requested node configuration is not available (-w %s: the job holds %s)",
				cmp.Or(os.Getenv("SLURM_JOB_ID"), os.Getenv("BURST_JOB_ID")), h, strings.Join(have, ","))}
		}
	}
	return nil
}

// jobPattern says whether a file name pattern holds %j, %J, %A or %s (a
// width between allowed), which need the job's id.
func jobPattern(v string) bool {
	for i := strings.IndexByte(v, '%'); i >= 0 && i+1 < len(v); i = strings.IndexByte(v, '%') {
		j := i + 1
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		if j < len(v) && strings.IndexByte("jJAs", v[j]) >= 0 {
			return true
		}
		v = v[min(j+1, len(v)):]
	}
	return false
}

// nextStep takes this step's id: the next of its batch task's count (0
// first, as Slurm numbers a job's steps), kept in the file the agent gave
// the task (sbatch.StepCounterEnv, in a directory only the agent writes);
// 0 where there is none.
func nextStep() int {
	p := os.Getenv(sbatch.StepCounterEnv)
	if p == "" || !filepath.IsAbs(p) {
		return 0
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return 0
	}
	defer f.Close() // and its lock with it
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0
	}
	b, _ := io.ReadAll(f)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if _, err := f.WriteAt([]byte(strconv.Itoa(n+1)+"\n"), 0); err != nil {
		return 0
	}
	return n
}

// broadcast copies in to every one of outs until in ends, then closes
// them: a task that stops reading (its pipe broken) is dropped, the others
// go on. Ended with the srun process if in never ends (a terminal).
func broadcast(in io.Reader, outs []*os.File) {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			live := outs[:0]
			for _, w := range outs {
				if _, werr := w.Write(buf[:n]); werr != nil {
					w.Close()
					continue
				}
				live = append(live, w)
			}
			outs = live
		}
		if err != nil || len(outs) == 0 {
			break
		}
	}
	for _, w := range outs {
		w.Close()
	}
}

// stepInfo is what a step's -o/-e/-i patterns are filled from: the job's
// (as its batch step's environment says) on this host, step 0.
func stepInfo(host string) sbatch.TaskInfo {
	info := sbatch.TaskInfo{JobID: int64(envInt("SLURM_JOB_ID")), JobName: os.Getenv("SLURM_JOB_NAME"), ArrayTaskID: -1,
		User: cmp.Or(os.Getenv("SLURM_JOB_USER"), os.Getenv("USER")), NodeName: host, Step: "0"}
	if a := os.Getenv("SLURM_ARRAY_TASK_ID"); a != "" {
		info.ArrayJobID, info.ArrayTaskID = int64(envInt("SLURM_ARRAY_JOB_ID")), envInt("SLURM_ARRAY_TASK_ID")
	}
	return info
}

// stepFiles are the files a step's -o/-e/-i name, each opened once (relative
// to the step's directory): tasks writing the same one share it, a whole line
// at a time.
type stepFiles struct {
	dir        string
	appendMode bool
	byPath     map[string]*stepFile
	all        []*os.File
}

type stepFile struct {
	f  *os.File
	mu sync.Mutex
}

func newStepFiles(dir string, appendMode bool) *stepFiles {
	return &stepFiles{dir: dir, appendMode: appendMode, byPath: map[string]*stepFile{}}
}

func (s *stepFiles) path(p string) string {
	if !filepath.IsAbs(p) && s.dir != "" {
		return filepath.Join(s.dir, p)
	}
	return p
}

// open opens (once) an output file: overwritten, as srun(1) says, unless
// --open-mode=append.
func (s *stepFiles) open(p string) (io.Writer, *sync.Mutex, error) {
	p = s.path(p)
	if sf := s.byPath[p]; sf != nil {
		return sf.f, &sf.mu, nil
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if s.appendMode {
		mode = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(p, mode, 0o644)
	if err != nil {
		return nil, nil, &ExitError{Code: 1, Msg: fmt.Sprintf("srun: error: cannot open the step's output file: %v", err)}
	}
	sf := &stepFile{f: f}
	s.byPath[p], s.all = sf, append(s.all, f)
	return f, &sf.mu, nil
}

// read opens an input file for one task.
func (s *stepFiles) read(p string) (*os.File, error) {
	f, err := os.Open(s.path(p))
	if err != nil {
		return nil, &ExitError{Code: 1, Msg: fmt.Sprintf("srun: error: cannot open the step's input file: %v", err)}
	}
	s.all = append(s.all, f)
	return f, nil
}

func (s *stepFiles) close() {
	for _, f := range s.all {
		f.Close()
	}
}

// envInt is an integer environment variable, 0 when unset or not one.
func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

// runStep runs a job step inside a job: the tasks on this machine, within
// what the job holds.
func runStep(c *cobra.Command, s *slurmface.Srun) error {
	// The job's tasks: SLURM_NTASKS, else as many as its CPUs hold with -c,
	// else those on this machine (a job of several nodes given no --ntasks
	// has a task per node, all here).
	have := cmp.Or(envInt("SLURM_CPUS_ON_NODE"), envInt("BURST_CPUS"))
	n := s.Tasks(envInt("SLURM_NTASKS"), have, envInt("SLURM_TASKS_PER_NODE"))
	jobID := cmp.Or(os.Getenv("SLURM_JOB_ID"), os.Getenv("BURST_JOB_ID"))
	if have > 0 && s.StepCPUs(n) > have {
		return &ExitError{Code: 1, Msg: fmt.Sprintf("srun: error: Unable to create step for job %s: More processors requested than permitted "+
			"(%d tasks × %d CPUs > the job's %d): ask for fewer with -n/-c, or submit the job with more", jobID, n, max(1, s.CPUsPerTask), have)}
	}
	if have := int64(envInt("SLURM_MEM_PER_NODE")) << 20; have > 0 && s.StepMem(n) > have {
		return &ExitError{Code: 1, Msg: fmt.Sprintf("srun: error: Unable to create step for job %s: Memory required by task is not available "+
			"(%s > the job's %s): ask for less with --mem, or submit the job with more", jobID, slurmface.Mem(s.StepMem(n)), slurmface.Mem(have))}
	}
	holdStepCPUs(s.HeldCPUs(n), have, jobID, c.ErrOrStderr())
	base := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			base[k] = v
		}
	}
	env := base
	if s.Export != "" {
		env = sbatch.ExportEnv(base, s.Export)
		for k, v := range base { // srun: SLURM_* variables are always set
			if strings.HasPrefix(k, "SLURM_") {
				if env == nil {
					env = map[string]string{}
				}
				env[k] = v
			}
		}
	}
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	if s.Chdir != "" {
		if line := stepChdirFailure(host, s.Chdir); line != "" {
			// As slurmstepd: once for the step, once for each task, and
			// the step runs in /tmp.
			for range n + 1 {
				fmt.Fprintln(stderr, line)
			}
			s.Chdir = "/tmp"
		}
	}
	var mu sync.Mutex // one line at a time on each of srun's streams
	cmds := make([]*exec.Cmd, n)
	var outs []*labelWriter
	files := newStepFiles(s.Chdir, s.Append)
	defer files.close()
	var cast, castIn []*os.File // -i all: each task's stdin, written by broadcast, and its read end
	defer func() {
		for _, f := range append(cast, castIn...) {
			f.Close() // a second close of one closed already is a harmless error
		}
	}()
	step := nextStep()
	info := stepInfo(host)
	info.Step = strconv.Itoa(step)
	for i := range cmds {
		cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
		cmd.Dir = s.Chdir
		task := maps.Clone(env)
		if task == nil {
			task = map[string]string{}
		}
		maps.Copy(task, s.TaskEnv(i, n, step, host, base))
		for _, k := range slices.Sorted(maps.Keys(task)) {
			cmd.Env = append(cmd.Env, k+"="+task[k])
		}
		if s.Export != "" {
			// The program is looked for on the step's own PATH, as
			// slurmstepd looks: with --export=NONE (or a list without
			// PATH) a bare name is found nowhere, as in Slurm.
			cmd.Path, cmd.Err = lookPathIn(s.Argv[0], task["PATH"])
		}
		// -o/-e/-i: srun's own streams (stdin to task 0 alone, or to the
		// rank -i names), none, or files named for the task.
		info.Rank = i
		// A file is the task's own descriptor (its lines in the order it
		// wrote them, shared with the tasks writing the same file); srun's
		// own streams and -l pass whole lines.
		dest := func(v string, own io.Writer) (io.Writer, *sync.Mutex, error) {
			switch kind, path := slurmface.StepIO(v, info); kind {
			case slurmface.IONull:
				return nil, nil, nil
			case slurmface.IOFile:
				w, fmu, err := files.open(path)
				if !s.Label {
					fmu = nil
				}
				return w, fmu, err
			}
			return own, &mu, nil
		}
		errSpec := cmp.Or(s.Error, s.Output) // as srun: stderr goes where -o says unless -e is given
		out, outMu, err := dest(s.Output, stdout)
		if err != nil {
			return err
		}
		errw, errMu, err := dest(errSpec, stderr)
		if err != nil {
			return err
		}
		switch kind, path := slurmface.StepIO(s.Input, info); {
		case kind == slurmface.IOFile:
			f, err := files.read(path)
			if err != nil {
				return err
			}
			cmd.Stdin = f
		case kind == slurmface.IOSrun && (s.Input == "" || strings.EqualFold(s.Input, "all")) && n > 1:
			// srun's stdin to every task, as srun(1) broadcasts it by
			// default (-i all); checked with the suite's real Slurm.
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			castIn, cast = append(castIn, r), append(cast, w)
			cmd.Stdin = r
		case kind == slurmface.IOSrun && (i == 0 || s.Input != ""):
			cmd.Stdin = c.InOrStdin()
		}
		cmd.Stdout, cmd.Stderr = out, errw
		if s.Label || n > 1 { // several tasks: whole lines, never two tasks' bytes mixed in one
			prefix := ""
			if s.Label {
				prefix = slurmface.Label(i, n)
			}
			if out != nil && outMu != nil {
				o := &labelWriter{w: out, mu: outMu, prefix: prefix}
				outs = append(outs, o)
				cmd.Stdout = o
			}
			if errw != nil && errMu != nil {
				e := &labelWriter{w: errw, mu: errMu, prefix: prefix}
				outs = append(outs, e)
				cmd.Stderr = e
			}
		}
		cmds[i] = cmd
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var started []*exec.Cmd
	worst := 0
	var report []string
	begun := time.Now()
	recordStep(step, s, n, 0, nil, begun, true, nil)
	var unstarted []slurmface.TaskStatus
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			line, code := stepExecFailure(host, s.Argv[0], cmd.Dir, err)
			report = append(report, line)
			unstarted = append(unstarted, slurmface.TaskStatus{Task: i, Code: code})
			worst = max(worst, code)
			continue
		}
		started = append(started, cmd)
	}
	if len(started) > 0 {
		pids := make([]int, len(started))
		for i, cmd := range started {
			pids[i] = cmd.Process.Pid
		}
		recordStep(step, s, n, 0, nil, begun, true, pids) // its agent reads what they use (sstat)
	}
	if len(cast) > 0 {
		for _, r := range castIn {
			r.Close() // the tasks' own now: a task's end breaks its pipe
		}
		go broadcast(c.InOrStdin(), cast)
	}
	done := make(chan slurmface.TaskStatus, len(started))
	for _, cmd := range started {
		task := slices.Index(cmds, cmd)
		go func() {
			err := cmd.Wait()
			e := slurmface.TaskStatus{Task: task}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					e.Signal = int(ws.Signal())
				} else {
					e.Code = ee.ExitCode()
				}
			} else if err != nil {
				e.Code = 1
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				e.MaxRSS = ru.Maxrss << 10 // kilobytes on Linux
				e.UserUS, e.SysUS = ru.Utime.Nano()/1000, ru.Stime.Nano()/1000
			}
			done <- e
		}()
	}
	below := map[int]uint64{} // the processes the tasks started, with their start times
	killAll := func(sig os.Signal) {
		// As slurmstepd signals every process of the step: what a task
		// started (a shell's sleep) would otherwise outlive it, and srun
		// would wait for it. Those found before are kept: the task's end
		// re-parents them.
		pids := make([]int, len(started))
		for i, cmd := range started {
			pids[i] = cmd.Process.Pid
		}
		for _, p := range runner.Descendants(pids...) {
			if t, err := runner.ProcStartTicks(p); err == nil {
				below[p] = t
			}
		}
		for _, cmd := range started {
			cmd.Process.Signal(sig) // an error: the task has ended already
		}
		for p, t := range below {
			if runner.Alive(p, t) { // not another process given its pid since
				if sig, ok := sig.(syscall.Signal); ok {
					syscall.Kill(p, sig)
				}
			}
		}
	}
	exits := make([]slurmface.TaskStatus, 0, len(started))
	var kill <-chan time.Time // SIGKILL for the tasks SIGTERM left running
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	var limit <-chan time.Time // --time: the step's own limit, in whole minutes as Slurm keeps it
	if s.TimeLimit > 0 {
		t := time.NewTimer(time.Duration(sbatch.MinuteLimit(s.TimeLimit)) * time.Second)
		defer t.Stop()
		limit = t.C
	}
	stepID := jobID + "." + strconv.Itoa(step)
	told := 0 // exits whose lines are written (-K writes them before it ends the step)
	say := func(lines ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range lines {
			fmt.Fprintln(stderr, l)
		}
	}
	// end is how slurmstepd ends the step's tasks (-K, --time): its
	// CANCELLED line where some still run, SIGTERM, SIGKILL after a grace.
	end := func(why string) {
		if len(exits) < len(started) && kill == nil {
			say(fmt.Sprintf("slurmstepd-%s: error: *** STEP %s ON %s CANCELLED AT %s%s ***", host, stepID, host, time.Now().Format("2006-01-02T15:04:05"), why))
		}
		killAll(syscall.SIGTERM)
		if kill == nil {
			grace = time.NewTimer(runner.DefaultGrace)
			kill = grace.C
		}
	}
	bad := func(e slurmface.TaskStatus) bool { return e.Code != 0 || e.Signal != 0 }
	badExit := s.KillOnBadExit && slices.ContainsFunc(unstarted, bad)
	for len(exits) < len(started) || badExit {
		if badExit {
			// As srun -K: the bad exit's line (with those of the tasks
			// that ended with it), then its own, then the step ends.
			badExit = false
			msgs, _ := slurmface.TaskExits(host, append(slices.Clone(exits), unstarted...))
			say(append(report, msgs...)...)
			report, told, unstarted = nil, len(exits), nil
			say("srun: launch/slurm: _step_signal: Terminating StepId=" + stepID)
			end("")
			continue
		}
		select {
		case sig := <-sigs:
			killAll(sig) // Ctrl-C, scancel: the step's tasks get it
		case <-kill:
			killAll(syscall.SIGKILL)
		case <-limit:
			end(" DUE TO TIME LIMIT")
		case e := <-done:
			exits = append(exits, e)
			if s.KillOnBadExit && bad(e) && kill == nil {
				// Tasks ending together are one line in Slurm's.
				for t := time.After(50 * time.Millisecond); len(exits) < len(started); {
					select {
					case e := <-done:
						exits = append(exits, e)
						continue
					case <-t:
					}
					break
				}
				badExit = true
			}
		}
	}
	for _, o := range outs {
		o.flush()
	}
	rest := append(slices.Clone(exits[told:]), unstarted...)
	msgs, _ := slurmface.TaskExits(host, rest)
	_, code := slurmface.TaskExits(host, append(slices.Clone(exits), unstarted...))
	report = append(report, msgs...)
	recordStep(step, s, n, worst, exits, begun, false, nil)
	worst = max(worst, code)
	if slices.ContainsFunc(exits, func(e slurmface.TaskStatus) bool {
		return e.Signal == int(syscall.SIGTERM) || e.Signal == int(syscall.SIGKILL)
	}) {
		// Slurm 22.05's srun says so after a task ended by SIGTERM or
		// SIGKILL, whoever sent it (-K, the time limit, the task itself);
		// not after another signal (SIGSEGV, SIGUSR1).
		report = append(report, "srun: Force Terminated StepId="+stepID)
	}
	say(report...)
	if worst != 0 {
		return &ExitError{Code: worst}
	}
	return nil
}

// stepExecFailure is what slurmstepd writes for a task whose program
// cannot be started, and the task's exit code, execve's errno, as Slurm
// 22.05 has them: `slurmstepd-c1: error: execve(): nosuchprog: No such file
// or directory` (code 2), `execve(): /w/./prog: Permission denied` (13, a
// relative path shown under the step's directory); srun's own `Exited with
// exit code` line for the tasks follows (TaskExits).
func stepExecFailure(host, prog, dir string, err error) (string, int) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = syscall.ENOENT // not found on the step's PATH
	}
	shown := prog
	if strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
		if dir == "" {
			dir, _ = os.Getwd()
		}
		shown = dir + "/" + prog
	}
	return slurmface.StepdExecve(host, shown, errno), int(errno)
}

// stepChdirFailure is slurmstepd's line for a step directory (srun -D)
// it cannot enter, as Slurm 22.05 has it: `slurmstepd-c1: error: couldn't
// chdir to `/w/sub': No such file or directory: going to /tmp instead` (a
// relative one under srun's); "" where the directory can be entered.
func stepChdirFailure(host, dir string) string {
	if !filepath.IsAbs(dir) {
		wd, _ := os.Getwd()
		dir = wd + "/" + dir
	}
	return slurmface.StepdChdir(host, dir)
}

// recordStep writes what step id ran and how it ended beside its batch
// task's step counter (sbatch.StepsFile), for sacct's N.ID line: its
// name (-J, else its program's, as Slurm names a step), tasks and CPUs, the highest exit code of its tasks (unstarted
// ones' unstarted as sbatch's srun says, 2), the signal that ended one, and
// its state as Slurm records it (COMPLETED, FAILED; CANCELLED when a
// signal srun passed on ended it), and what its tasks used (the largest
// resident set of one, their CPU time together). With starting, that it runs, for a
// sacct in the job meanwhile, with its tasks' processes once they started
// (pids). Nothing outside a batch task.
func recordStep(id int, s *slurmface.Srun, n, unstarted int, exits []slurmface.TaskStatus, begun time.Time, starting bool, pids []int) {
	counter := os.Getenv(sbatch.StepCounterEnv)
	if counter == "" || !filepath.IsAbs(counter) {
		return
	}
	st := burst.Step{ID: id, Name: cmp.Or(s.Name, filepath.Base(s.Argv[0])), Tasks: n, CPUs: s.StepCPUs(n), ExitCode: unstarted,
		StartedAt: begun.UTC(), EndedAt: time.Now().UTC(), State: burst.Succeeded}
	if starting {
		st.State, st.EndedAt, st.PIDs = burst.Running, time.Time{}, pids
		sbatch.AppendStep(sbatch.StepsFile(counter), st)
		return
	}
	for _, e := range exits {
		st.ExitCode = max(st.ExitCode, e.Code)
		if e.Signal != 0 && st.Signal == 0 {
			st.Signal = e.Signal
		}
		st.MaxRSS = max(st.MaxRSS, e.MaxRSS)
		st.UserUS += e.UserUS
		st.SysUS += e.SysUS
	}
	switch {
	case st.Signal == int(syscall.SIGTERM) || st.Signal == int(syscall.SIGINT) || st.Signal == int(syscall.SIGHUP):
		st.State = burst.Cancelled
	case st.ExitCode != 0 || st.Signal != 0:
		st.State = burst.Failed
	}
	sbatch.AppendStep(sbatch.StepsFile(counter), st) // best effort: the step's own end matters more than its record
}

// runInteractive is srun outside a job: an attached burst run of the
// command with the step's resources. A step of several tasks (-n N) is a
// job holding them all whose script runs the step with srun's own
// arguments (args), as srun makes an allocation and runs its step in it:
// the copies, their SLURM_PROCID, -l's labels, -K and the exit status are
// the step's, inside the job.
func runInteractive(c *cobra.Command, s *slurmface.Srun, args []string) error {
	n := s.Tasks(0, 0, 1)
	spec, err := baseSpec()
	if err != nil {
		return err
	}
	spec.Argv = s.Argv
	spec.Name = cmp.Or(s.Name, filepath.Base(s.Argv[0])) // srun(1): -J defaults to the program's name
	spec.SrunStep = true                                 // listed as its step N.0, with no N.batch
	spec.Project = s.Account
	spec.Resources.CPUs = s.StepCPUs(n)
	spec.Resources.MemBytes = s.StepMem(n)
	spec.Resources.GPUs = s.GPUs
	spec.Resources.TimeLimit = sbatch.MinuteLimit(s.TimeLimit)
	if s.Chdir != "" {
		spec.Workdir = s.Chdir
	}
	if s.Export != "" {
		spec.Env = sbatch.ExportEnv(spec.Env, s.Export)
	}
	if n == 1 { // the job runs the command itself: srun's variables go with it (n > 1: the step's srun sets them)
		if spec.Env == nil {
			spec.Env = map[string]string{}
		}
		host, _ := os.Hostname()
		user := ""
		if u, err := sysuser.Current(c.Context()); err == nil {
			user = u.Name
		}
		maps.Copy(spec.Env, s.AllocEnv(spec.Name, user, spec.Workdir, host))
	}
	if s.Partition != "" { // one no cluster is named after runs on the default, as sbatch's
		cl, err := connect(c.Context(), c.ErrOrStderr())
		if err != nil {
			return err
		}
		spec.Cluster = partitionCluster(c.Context(), cl, s.Partition)
		spec.Partition = s.Partition // the job's partition, as sbatch -p's (partitionOf)
	}
	spec.Local = localPaths(spec.Workdir, spec.Argv)
	if n > 1 {
		// srun's own options but --pty, whose two lines were said here,
		// then the command as given.
		opts := args[:len(args)-len(s.Argv)]
		opts = slices.DeleteFunc(slices.Clone(opts), func(o string) bool { return o == "--pty" })
		spec.Script = "#!/bin/sh\nexec srun " + shellquote.Join(append(opts, args[len(args)-len(s.Argv):]...)) + "\n"
		spec.Argv = nil
		spec.Batch = &burst.BatchOptions{NTasks: n, CPUsPerTask: s.CPUsPerTask, Logs: true}
		submittedFrom(c.Context(), spec.Batch)
	}
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return usage("srun: %v", err)
	}
	if n > 1 { // -o/-e/-i and -l are the step's, inside the job
		return submitAndFollow(c, spec, false, nil, false)
	}
	// -o/-e outside a job: the attached run's output goes there (none:
	// nowhere), as srun writes it on the host it runs on.
	files := newStepFiles(spec.Workdir, s.Append)
	defer files.close()
	host, _ := os.Hostname()
	info := sbatch.TaskInfo{JobName: spec.Name, ArrayTaskID: -1, User: os.Getenv("USER"), NodeName: host, Step: "0"}
	for _, o := range []struct {
		v   string
		set func(io.Writer)
	}{{s.Output, c.SetOut}, {cmp.Or(s.Error, s.Output), c.SetErr}} {
		if jobPattern(o.v) {
			return usage("srun: -o/-e %s outside a job: the job's id is not known before it is submitted; give a name without %%j, %%J, %%A or %%s, or submit with sbatch (inside a job srun takes every pattern)", o.v)
		}
		switch kind, path := slurmface.StepIO(o.v, info); kind {
		case slurmface.IONull:
			o.set(io.Discard)
		case slurmface.IOFile:
			w, _, err := files.open(path)
			if err != nil {
				return err
			}
			o.set(w)
		}
	}
	if kind, _ := slurmface.StepIO(s.Input, info); kind == slurmface.IOFile {
		return usage("srun: -i %s outside a job: burst's run reads no standard input; read the file in the command (srun sh -c 'CMD < FILE'), or submit with sbatch, whose steps take -i", s.Input)
	}
	if s.Label {
		lw := &labelWriter{w: c.OutOrStdout(), mu: &sync.Mutex{}, prefix: slurmface.Label(0, 1)}
		le := &labelWriter{w: c.ErrOrStderr(), mu: lw.mu, prefix: lw.prefix}
		defer lw.flush()
		defer le.flush()
		c.SetOut(lw)
		c.SetErr(le)
	}
	return submitAndFollow(c, spec, false, nil, false) // srun prints no job line
}

// labelWriter passes a task's output on a whole line at a time, each
// prefixed (srun -l); the last line, if unterminated, at flush.
type labelWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	buf    []byte
}

func (l *labelWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	i := bytes.LastIndexByte(l.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	var out bytes.Buffer
	for line := range bytes.Lines(l.buf[:i+1]) {
		out.WriteString(l.prefix)
		out.Write(line)
	}
	l.buf = append(l.buf[:0], l.buf[i+1:]...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (l *labelWriter) flush() {
	if len(l.buf) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s%s", l.prefix, l.buf)
	l.buf = nil
}

// lookPathIn finds name as execvp does on the PATH path (a name with a
// slash is taken as it is): the first executable file of that name in its
// directories; none when path is empty.
func lookPathIn(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if path == "" {
			break
		}
		p := filepath.Join(cmp.Or(dir, "."), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
	}
	return name, &exec.Error{Name: name, Err: exec.ErrNotFound}
}
