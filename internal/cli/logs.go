package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newLogsCmd() *cobra.Command {
	var (
		followF bool
		stderrF bool
		task    int
		stage   string
	)
	c := &cobra.Command{
		Use:   "logs JOB",
		Short: "Print a job's output (stdout, or stderr with --stderr)",
		Long: `Print what a task of a job wrote. Output is kept in files under
$BURST_HOME/logs (or where an #SBATCH --output said), so it can be read
while the job runs and after it ended. With -f, keep printing new output
until the task ends.`,
		Example: `  burst logs 12
  burst logs 12 -f
  burst logs 40_7                          # index 7 of job array 40 (or its own job id)
  burst logs 12 --stderr
  burst logs 14 --stage align --stderr    # a pipe's stage (NAME#2: its second copy)`,
		Args: argsAtLeast(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkJobRefs(args[:1]); err != nil {
				return err
			}
			if task < 0 {
				return usage("--task %d: tasks are numbered from 0", task)
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			ref, err := resolveJob(c.Context(), cl, args[0])
			if err != nil {
				return err
			}
			id := ref.JobID
			if ref.Task >= 0 { // an array task's own id
				if c.Flags().Changed("task") {
					return usage("%s is one task of job array %d already: drop --task", args[0], id)
				}
				task = ref.Task
				c.Flags().Set("task", strconv.Itoa(task))
			}
			// A map's spec holds its inputs (up to 64 MiB) and nothing logs
			// needs: asked for without it, and again with it for the rest.
			j, err := cl.WithoutSpec().Job(c.Context(), id)
			if err == nil && j.Kind != burst.KindMap {
				j, err = cl.Job(c.Context(), id)
			}
			if err != nil {
				return err
			}
			spec := j.Spec
			if stage != "" || !c.Flags().Changed("task") {
				switch {
				case stage != "":
					if task, err = stageTask(spec, stage); err != nil {
						return err
					}
				case spec != nil && spec.Pipe != nil:
					// A pipe's output is its last stage's.
					task = spec.Pipe.FirstTask(len(spec.Pipe.Stages) - 1)
				}
			}
			defer func() { // said last, under the output it is about
				if spec == nil {
					return // a map's task logs hold its last attempt alone
				}
				if ts, err := cl.Tasks(c.Context(), id, task, 1); err == nil && len(ts) == 1 && ts[0].Index == task {
					if note := rerunNote(spec, ts[0]); note != "" {
						fmt.Fprintln(c.ErrOrStderr(), note)
					}
				}
			}()
			stream, w := "stdout", c.OutOrStdout()
			if stderrF {
				stream = "stderr"
			}
			if followF {
				// Ended at once when its reader goes away, as tail -f is:
				// silently, with the status of a writer killed by SIGPIPE.
				ctx, stop := context.WithCancelCause(c.Context())
				defer stop(nil)
				watchReader(ctx, w, func() { stop(errOutputGone) })
				err := streamLogs(ctx, follows(cl), id, task, stream, w)
				if context.Cause(ctx) == errOutputGone {
					return &ExitError{Code: 141}
				}
				return err
			}
			// Asked again, it goes on from where it was.
			cw := &countWriter{w: w}
			if err := cl.Logs(c.Context(), id, client.LogsQuery{Task: task, Stream: stream}, cw); err != nil {
				return err
			}
			if f, ok := c.ErrOrStderr().(*os.File); ok && cw.n == 0 && term.IsTerminal(int(f.Fd())) {
				// Nothing printed and nothing said would look like a failure.
				fmt.Fprintf(f, "burst: task %d of job %d has written nothing to %s\n", task, id, stream)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&followF, "follow", "f", false, "keep printing output until the task ends, or until nobody reads it (burst logs -f JOB | head -1 ends with head)")
	c.Flags().BoolVar(&stderrF, "stderr", false, "print stderr instead of stdout")
	c.Flags().IntVar(&task, "task", 0, "which task of the job (from 0; default: the first, or a pipe's last stage)")
	c.Flags().StringVar(&stage, "stage", "", "which stage of a pipe (NAME, or NAME#K for the K-th copy of a --parallel stage)")
	return c
}

// stageTask is the task of a pipe's stage NAME or NAME#K.
// rerunNote is what `burst logs` says under a task's output when the task
// ran more than once and its log keeps every attempt's bytes, one after
// the other (a run's, or a file named by --output or #SBATCH
// --open-mode=append: internal/server/env.go): the output of an attempt
// cut short by a lost machine, then the whole output of the next, would
// otherwise read as one run. GNU parallel --retries prints only the last
// attempt's output, and Slurm opens a requeued job's files afresh; burst
// keeps the earlier attempts (a failed one's output says why it failed),
// so it says they are there (`burst show` counts the attempts). ""
// when the log holds one attempt.
func rerunNote(spec *burst.JobSpec, t burst.Task) string {
	if spec == nil || t.Attempt <= 1 || spec.Map != nil || spec.Pipe != nil || (spec.SbatchFiles() && !spec.Batch.Append) {
		return ""
	}
	return fmt.Sprintf("burst: task %d of job %d ran %d attempts (a lost machine, or --retries after a failure, runs a task again); its log holds every attempt's output in turn, the last attempt's at the end",
		t.Index, t.JobID, t.Attempt)
}

func stageTask(spec *burst.JobSpec, stage string) (int, error) {
	if spec == nil || spec.Pipe == nil {
		return 0, usage("--stage: this job is not a pipe; use --task N")
	}
	name, copyS, hasCopy := strings.Cut(stage, "#")
	var names []string
	for i, st := range spec.Pipe.Stages {
		names = append(names, st.Name)
		if st.Name != name {
			continue
		}
		k := 1
		if hasCopy {
			n, err := strconv.Atoi(copyS)
			if err != nil || n < 1 || n > st.Copies() {
				return 0, usage("--stage %s: stage %s has copies #1 to #%d", stage, name, st.Copies())
			}
			k = n
		}
		return spec.Pipe.FirstTask(i) + k - 1, nil
	}
	return 0, usage("--stage %s: the pipe's stages are %s", stage, strings.Join(names, ", "))
}
