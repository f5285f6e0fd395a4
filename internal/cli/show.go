package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newShowCmd() *cobra.Command {
	var (
		out   string
		tasks int
	)
	c := &cobra.Command{
		Use:   "show JOB",
		Short: "Show a job: its command, resources, state, timings and tasks",
		Long: `Show a job: who submitted it, its project and cluster, its state and, while
it is queued, why it waits (Waits: a dependency, its --begin time, the
resources it needs), its command, resources, staged files, timings (in your
local time), CPU time, peak memory, cost, and its first tasks (--tasks) with
their machines and exits; a pipe's stages with the bytes each read and wrote;
with --cache, which tasks were cache hits and why the others missed.
The id of one task of a job array (each has its own, as in Slurm: the
SLURM_JOB_ID it saw), or ARRAYID_INDEX, shows that task.`,
		Example: `  burst show 12
  burst show 40_7                          # index 7 of job array 40 (or its own job id)
  burst show 12 -o json | jq .state`,
		Args: argsAtLeast(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			if err := checkJobRefs(args[:1]); err != nil {
				return err
			}
			if tasks < 0 {
				return usage("--tasks %d: give a count of tasks, 0 or more", tasks)
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*jobWithTasks, error) {
				ref, err := resolveJob(ctx, cl, args[0])
				if err != nil {
					return nil, err
				}
				id, from, n := ref.JobID, 0, tasks
				if ref.Task >= 0 { // one task of a job array: that task
					from, n = ref.Task, 1
				}
				j, err := cl.Job(ctx, id)
				if err != nil {
					return nil, err
				}
				ts, err := showTasks(ctx, cl, id, from, n)
				if err != nil {
					return nil, err
				}
				if ts == nil {
					ts = []burst.Task{}
				}
				jt := &jobWithTasks{Job: j, TaskList: ts}
				if j.Spec != nil && j.Spec.Staged() {
					if jt.Outputs, err = cl.Outputs(ctx, id, from, min(max(n, 1), burst.MaxListRows)); err != nil {
						return nil, err
					}
				}
				if ref.Task >= 0 {
					jt.ArrayTask = ref
				}
				if j.Spec != nil && j.Spec.Pipe == nil && j.Spec.Cache != burst.CacheOff {
					if jt.Cache, err = cl.CacheUses(ctx, id); err != nil {
						return nil, err
					}
				}
				return jt, nil
			}, showJob)
		},
	}
	outFlag(c, &out)
	c.Flags().IntVar(&tasks, "tasks", 20, "show at most this many tasks")
	return c
}

// jobWithTasks is a job with its first tasks: what burst show -o json writes.
type jobWithTasks struct {
	*burst.Job
	TaskList []burst.Task `json:"task_list"`
	// ArrayTask is set when the id shown was one task's of a job array.
	ArrayTask *client.IDRef `json:"array_task,omitempty"`
	// Outputs are the staged outputs of the tasks shown.
	Outputs []client.TaskOutputs `json:"outputs,omitempty"`
	// Cache says, for each task checked in the result cache, hit or miss
	// and why (docs/cache.md).
	Cache []client.CacheUse `json:"cache,omitempty"`
}

// signalText says when and to what a job's --signal goes.
func signalText(w *burst.Warning, limit int64) string {
	sig := unix.SignalName(syscall.Signal(w.Signal))
	if sig == "" {
		sig = strconv.Itoa(w.Signal)
	}
	to := "to its steps (what srun started, not the batch shell)"
	if w.Shell {
		to = "to the batch shell"
	}
	if limit <= 0 {
		return fmt.Sprintf("%s %d s before the time limit, %s: never sent, the job has no time limit (--time)", sig, w.BeforeS, to)
	}
	return fmt.Sprintf("%s %d s before the time limit, %s (--signal)", sig, w.BeforeS, to)
}

// showJob writes a job and its first tasks for people.
func showJob(w io.Writer, jt *jobWithTasks) error {
	j, ts := jt.Job, jt.TaskList
	tw := table(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, clean(v)) }
	row("Job:", fmt.Sprintf("%d (%s)", j.ID, j.Name))
	if a := jt.ArrayTask; a != nil {
		row("Array task:", fmt.Sprintf("job %d = index %d of array job %d (task %d); the array's other tasks: burst show %d", j.ID+int64(a.Task), a.ArrayIndex, j.ID, a.Task, j.ID))
	}
	row("Project:", j.Project)
	if j.User != "" {
		row("User:", j.User)
	}
	if s := j.Spec; s != nil {
		row("Cluster:", clusterOrLocal(s.Cluster))
	}
	row("State:", string(j.State))
	if j.Reason != "" {
		row("Reason:", localTimes(j.Reason))
	}
	if j.Waiting != "" {
		row("Waits:", localTimes(j.Waiting))
	}
	if s := j.Spec; s != nil && len(s.After) > 0 {
		row("After:", afterText(s))
	}
	row("Exit code:", exitText(j.ExitCode))
	if s := j.Spec; s != nil {
		if s.Pipe != nil {
			row("Pipe:", s.Pipe.Text)
		} else if s.ScriptRef != "" {
			row("Script:", strings.TrimSpace(s.ScriptRef+" "+shellJoin(s.Argv)))
		} else if m := s.Map; m != nil && len(m.Template) > 0 {
			how := " ::: (one task per input)"
			if m.Shell {
				how = " ::: (one task per input, through a shell)"
			}
			row("Command:", shellJoin(shortArgs(m.Template, j.ID))+how)
		} else if m != nil && m.Commands {
			row("Command:", "each input (::: or a line of ::::), run as shell text")
		} else {
			row("Command:", shellJoin(shortArgs(s.Argv, j.ID)))
		}
		row("Workdir:", s.Workdir)
		showStaging(row, s, jt.Outputs)
	}
	cpus := fmt.Sprintf("%d CPU", j.CPUs)
	if j.CPUs == 0 {
		cpus = "no CPU reserved (each task shares its machine's: --cpus 0)"
	}
	res := fmt.Sprintf("%s, %s memory, %d GPU", cpus, memText(j.MemBytes), j.GPUs)
	if j.TimeLimitS > 0 {
		res += ", time limit " + durText(j.TimeLimitS)
	}
	row("Resources:", res)
	row("Submitted:", j.SubmittedAt.Local().Format("2006-01-02 15:04:05"))
	if s := j.Spec; s != nil && !s.Begin.IsZero() {
		row("Begin:", s.Begin.Local().Format("2006-01-02 15:04:05")+" (--begin: it starts no earlier)")
	}
	if j.StartedAt != nil {
		row("Started:", j.StartedAt.Local().Format("2006-01-02 15:04:05.000"))
	}
	if j.EndedAt != nil {
		row("Ended:", j.EndedAt.Local().Format("2006-01-02 15:04:05.000"))
	}
	row("Duration:", jobDuration(*j))
	row("CPU time:", fmt.Sprintf("%.2fs", j.CPUSeconds))
	row("Peak memory:", bytesHuman(j.MaxRSSBytes))
	row("Cost:", usd(j.CostUSD)+" (its tasks' share of the machines they ran on, so far)")
	if len(jt.Cache) > 0 {
		row("Cache:", cacheSummary(jt.Cache))
	}
	tc := j.Tasks
	row("Tasks:", fmt.Sprintf("%d total: %d queued, %d running, %d succeeded, %d failed, %d timeout, %d cancelled, %d lost",
		tc.Total, tc.Queued, tc.Running, tc.Succeeded, tc.Failed, tc.Timeout, tc.Cancelled, tc.Lost))
	if s := j.Spec; s != nil {
		if s.MaxRunning > 0 {
			row("At once:", fmt.Sprintf("at most %s (-j %d)", burst.Plural(s.MaxRunning, "task"), s.MaxRunning))
		}
		if d := s.Map.Delay(); d > 0 {
			row("Delay:", fmt.Sprintf("a task starts at most every %s (--delay)", d))
		}
		if s.Batch != nil && s.Batch.Warn != nil {
			row("Signal:", signalText(s.Batch.Warn, s.Resources.TimeLimit))
		}
		if s.Batch != nil {
			for _, w := range s.Batch.Ignored {
				row("Ignored:", w)
			}
		}
	}
	tw.Flush()
	if len(ts) == 0 {
		return nil
	}
	if s := j.Spec; s != nil && s.Pipe != nil {
		return showStages(w, s.Pipe, ts)
	}
	fmt.Fprintln(w)
	tw = table(w)
	fmt.Fprintln(tw, "TASK\tSTATE\tATTEMPT\tMACHINE\tPID\tEXIT\tCPU\tPEAK RSS\tGPUS\tREASON")
	for _, t := range ts {
		gpus := "-"
		if len(t.GPUIDs) > 0 {
			gpus = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(t.GPUIDs)), ","), "[]")
		}
		pid := "-"
		if t.PID > 0 {
			pid = fmt.Sprint(t.PID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%.2fs\t%s\t%s\t%s\n", t.Index, t.State, t.Attempt,
			dash(t.Machine), pid, exitText(t.ExitCode), t.UserSeconds+t.SysSeconds, bytesHuman(t.MaxRSSBytes),
			gpus, clean(localTimes(t.Reason)))
	}
	if j.Tasks.Total > len(ts) && jt.ArrayTask == nil {
		fmt.Fprintf(tw, "... %d more (show more with --tasks N)\n", j.Tasks.Total-len(ts))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return showCache(w, jt.Cache, ts)
}

// cacheSummary counts a job's hits and misses and what the hits saved.
func cacheSummary(uses []client.CacheUse) string {
	hits, saved := 0, 0.0
	for _, u := range uses {
		if u.Hit {
			hits++
			saved += u.SavedUSD
		}
	}
	misses := fmt.Sprintf("%d misses", len(uses)-hits)
	if len(uses)-hits == 1 {
		misses = "1 miss"
	}
	return fmt.Sprintf("%s, %s; saved %s", burst.Plural(hits, "hit"), misses, usd(saved))
}

// showCache writes, for the tasks shown, hit or miss and why.
func showCache(w io.Writer, uses []client.CacheUse, ts []burst.Task) error {
	shown := map[int]bool{}
	for _, t := range ts {
		shown[t.Index] = true
	}
	tw := table(w)
	head := false
	for _, u := range uses {
		if !shown[u.Task] {
			continue
		}
		if !head {
			fmt.Fprintln(w)
			fmt.Fprintln(tw, "TASK\tCACHE\tWHY")
			head = true
		}
		what := "miss"
		if u.Hit {
			what = "hit"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", u.Task, what, clean(u.Why))
	}
	return tw.Flush()
}

func clusterOrLocal(s string) string {
	if s == "" {
		return "local"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func memText(b int64) string {
	if b == 0 {
		return "unlimited"
	}
	return bytesHuman(b)
}

func durText(sec int64) string {
	return durHuman(time_(sec))
}

func time_(sec int64) time.Duration { return time.Duration(sec) * time.Second }

// showStages writes a pipe's stages: per copy, where it ran, how it ended,
// what went through its stdin and stdout and at what rate. Those bytes are
// counted only where burst can see them (a file: the pipe's input, its
// output, the log of the last stage); through an OS pipe or a TCP stream
// between stages they are not counted, and show as "-". A running stage
// shows what it used so far (its agent sends its figures about once a
// second).
func showStages(w io.Writer, p *burst.PipeSpec, ts []burst.Task) error {
	fmt.Fprintln(w)
	tw := table(w)
	fmt.Fprintln(tw, "STAGE\tCPUS\tSTATE\tMACHINE\tEXIT\tREAD\tWRITTEN\tRATE OUT\tCPU TIME\tPEAK RSS\tCOST\tREASON")
	for _, t := range ts {
		st, cp := p.StageOf(t.Index)
		if st < 0 {
			continue
		}
		name := p.Stages[st].Name
		if p.Stages[st].Copies() > 1 {
			name = fmt.Sprintf("%s#%d", name, cp+1)
		}
		rate := "-"
		if t.StartedAt != nil {
			end := time.Now() // running: its figures so far, sent by its agent about once a second
			if t.EndedAt != nil {
				end = *t.EndedAt
			}
			if d := end.Sub(*t.StartedAt).Seconds(); d > 0 && t.WroteBytes > 0 {
				rate = bytesHuman(int64(float64(t.WroteBytes)/d)) + "/s"
			}
		}
		cpus := "shared"
		if c := p.Stages[st].Resources.CPUs; c > 0 {
			cpus = fmt.Sprint(c)
		}
		cost := "-"
		if t.EndedAt != nil {
			cost = usd(t.CostUSD)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2fs\t%s\t%s\t%s\n", name, cpus, t.State, dash(t.Machine),
			exitText(t.ExitCode), bytesHuman(t.ReadBytes), bytesHuman(t.WroteBytes), rate,
			t.UserSeconds+t.SysSeconds, bytesHuman(t.MaxRSSBytes), cost, clean(localTimes(t.Reason)))
	}
	return tw.Flush()
}

// shortArgs stands in for each argument of argv that is a program of many
// lines (python -c's source: a Python map's worker is some 200 lines) with
// a line saying what it is and where it is whole, and cuts an argument of
// one line past 256 bytes (a pickled function in base64) to its start, so
// that show's page keeps its shape.
func shortArgs(argv []string, id int64) []string {
	var out []string
	for i, a := range argv {
		n := strings.Count(a, "\n")
		if n < 3 && len(a) <= 256 || len(a) <= 160 {
			continue
		}
		if out == nil {
			out = append([]string(nil), argv...)
		}
		if n >= 3 {
			out[i] = fmt.Sprintf("<a program of %d lines, %d bytes: burst show %d -o json has it>", n+1, len(a), id)
		} else {
			out[i] = fmt.Sprintf("%s...<%d bytes: burst show %d -o json has it>", strings.ToValidUTF8(a[:64], ""), len(a), id)
		}
	}
	if out == nil {
		return argv
	}
	return out
}

// showTasks reads n tasks of job id from index from, a page of at most
// burst.MaxListRows at a time (the server's bound on one listing); n 0 is
// the server's default page.
func showTasks(ctx context.Context, cl *client.Client, id int64, from, n int) ([]burst.Task, error) {
	if n == 0 {
		return cl.Tasks(ctx, id, from, 0)
	}
	var out []burst.Task
	for len(out) < n {
		want := min(n-len(out), burst.MaxListRows)
		page, err := cl.Tasks(ctx, id, from+len(out), want)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < want {
			break
		}
	}
	return out, nil
}
