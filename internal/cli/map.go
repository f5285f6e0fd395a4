package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/mapspec"
)

func newMapCmd() *cobra.Command {
	var (
		rf          resFlags
		shell       bool
		keepOrder   bool
		maxFailures string
		resume      int64
		over        []string
		quiet       bool
		detach      bool
		jobs        int
	)
	c := &cobra.Command{
		Use:   "map [flags] -- COMMAND [ARGS with {}...] ::: INPUTS... [::: INPUTS...] [:::: FILE]",
		Short: "Run a command once per input, in parallel (GNU parallel's syntax)",
		Long: `Run a command over many inputs: one task per input, as many at once as the
machines' free resources allow. The inputs follow ::: (as arguments) or ::::
(one per line of a file, - for standard input), or come from --over GLOB;
with none of these, lines of standard input are the inputs. Several :::
groups make every combination (the last varies fastest).

Replacement strings in the command, as in GNU parallel:
  {}     the input          {.}   without extension     {/}  basename
  {//}   dirname            {/.}  basename, no extension
  {#}    task number (1-based)
  {1} {2} ...               the n-th input group (also {1.} {1/} {1//} {1/.})
With none of them, the inputs are appended as arguments. Each input is one
argument, never shell text: an input '; rm -rf ~' is just a strange file
name. --shell runs the command through sh -c with every input shell-quoted.

On a terminal a progress bar shows done, failed, running and queued tasks,
the rate and the time left. Exit status: 0 if every task succeeded, 1 if any
failed (the summary says which and how to see their logs), 2 for bad input.`,
		Example: `  burst map -- ./simulate --seed {} ::: $(seq 1 1000)
  burst map --cpus 2 -- python3 fit.py {} :::: samples.txt
  burst map -- gzip -9 {} ::: data/*.csv
  burst map --over 'data/*.csv' -- gzip -9 {}
  burst map -- convert {} {.}.png ::: img/*.tif
  burst map -- ./sweep {1} {2} ::: 0.1 0.2 0.3 ::: a b
  burst map --retries 2 --max-failures 5% -- ./flaky {} ::: $(seq 100)
  burst map -k -- sh -c 'echo $1 | md5sum' _ {} ::: a b c   # outputs in input order
  burst map --resume 12                                     # rerun what failed or never ran`,
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			if resume > 0 {
				if len(args) > 0 {
					return usage("--resume %d takes no command: the job keeps its own", resume)
				}
				return startMap(c, detach, keepOrder, quiet, func(cl *client.Client) (*burst.Job, error) {
					return cl.Resume(ctx, resume)
				})
			}
			spec, err := baseSpec()
			if err != nil {
				return err
			}
			if c.ArgsLenAtDash() != 0 {
				if len(args) == 0 {
					return usage("no command given: put it after --, e.g. `burst map -- ./simulate {} ::: 1 2 3`")
				}
				return usage("put the command after --, e.g. `burst map -- %s ...`", args[0])
			}
			tmpl, sources, err := mapspec.Parse(args, readInputFile(c.InOrStdin()))
			if err != nil {
				return usage("%v", err)
			}
			for _, pat := range over {
				files, err := filepath.Glob(pat)
				if err != nil {
					return usage("--over %q: %v", pat, err)
				}
				if len(files) == 0 {
					return usage("--over %q matches no file: check the pattern (quote it so that burst, not the shell, expands it)", pat)
				}
				sources = append(sources, files)
			}
			if len(sources) == 0 {
				if f, ok := c.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return usage("no inputs: give them after ::: (e.g. `::: a b c`), after :::: FILE, with --over GLOB, or on standard input")
				}
				data, err := io.ReadAll(c.InOrStdin())
				if err != nil {
					return usage("read inputs from standard input: %v", err)
				}
				_, src, _ := mapspec.Parse([]string{"x", "::::", "-"}, func(string) ([]byte, error) { return data, nil })
				sources = src
			}
			m := &burst.MapSpec{Template: tmpl, Shell: shell}
			for _, s := range sources {
				m.Sources = append(m.Sources, s)
			}
			if err := parseMaxFailures(maxFailures, m); err != nil {
				return err
			}
			spec.Map = m
			if jobs < 0 {
				return usage("--jobs %d: use 0 (no cap) or more", jobs)
			}
			spec.MaxRunning = jobs
			if err := rf.apply(c, spec); err != nil {
				return err
			}
			spec.Defaults()
			if err := spec.Validate(); err != nil {
				return usage("%v", err)
			}
			if n, err := mapspec.Count(sources, 10_000_000); err != nil {
				return usage("%v", err)
			} else if n == 0 {
				return usage("no inputs: the input groups are empty")
			}
			if err := mapspec.Validate(tmpl, len(sources)); err != nil {
				return usage("%v", err)
			}
			return startMap(c, detach, keepOrder, quiet, func(cl *client.Client) (*burst.Job, error) {
				return cl.Submit(ctx, spec)
			})
		},
	}
	c.Flags().SetInterspersed(false)
	rf.add(c)
	f := c.Flags()
	f.BoolVar(&shell, "shell", false, "run the command through sh -c, inputs shell-quoted")
	f.BoolVarP(&keepOrder, "keep-order", "k", false, "print each task's output in input order as tasks finish")
	f.StringVar(&maxFailures, "max-failures", "", "stop the map once more tasks failed than this: a count (5) or a share (5%)")
	f.Int64Var(&resume, "resume", 0, "run again the tasks of map JOB that failed or never ran")
	f.StringArrayVar(&over, "over", nil, "inputs: the files matching GLOB (burst expands it; repeatable)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar, even on a terminal")
	f.BoolVarP(&detach, "detach", "d", false, "submit, print the job id and return at once")
	f.IntVarP(&jobs, "jobs", "j", 0, "run at most this many tasks at once (0: as many as fit)")
	return c
}

// startMap connects, starts the map with start (a submit or a resume), and
// prints its id (-d) or follows it to the end.
func startMap(c *cobra.Command, detach, keepOrder, quiet bool, start func(*client.Client) (*burst.Job, error)) error {
	ctx, stderr := c.Context(), c.ErrOrStderr()
	cl, err := connect(ctx, stderr)
	if err != nil {
		return err
	}
	j, err := start(cl)
	if err != nil {
		return err
	}
	if detach {
		fmt.Fprintln(c.OutOrStdout(), j.ID)
		return nil
	}
	return followMap(ctx, c, &conn{c: cl, stderr: stderr}, j, keepOrder, quiet)
}

// readInputFile reads a :::: file, "-" being standard input.
func readInputFile(stdin io.Reader) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if p == "-" {
			return io.ReadAll(stdin)
		}
		return os.ReadFile(p)
	}
}

func parseMaxFailures(s string, m *burst.MapSpec) error {
	if s == "" {
		return nil
	}
	bad := usage("--max-failures %q: give a count (5) or a share of the tasks (5%%)", s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 {
			return bad
		}
		m.MaxFailuresPct = v
		if v == 0 {
			m.MaxFailures = 0
			m.MaxFailuresPct = 1e-9 // 0%: the first failure stops the map
		}
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return bad
	}
	if v == 0 {
		m.MaxFailuresPct = 1e-9 // 0: the first failure stops the map
		return nil
	}
	m.MaxFailures = v
	return nil
}

// followMap shows a map's progress until it ends (with -k, its outputs in
// input order on stdout) and exits 0 if every task succeeded, 1 otherwise.
func followMap(ctx context.Context, c *cobra.Command, cl *conn, j *burst.Job, keepOrder, quiet bool) error {
	stderr := c.ErrOrStderr()
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	show := tty && !quiet
	if show {
		fmt.Fprintf(stderr, "burst: job %d: %d tasks\n", j.ID, j.Tasks.Total)
	}
	ctx, stop := cancelOnInterrupt(ctx, stderr, cl, j.ID)
	defer stop()
	outDone := make(chan error, 1)
	if keepOrder {
		go func() { outDone <- cl.get().Output(ctx, j.ID, 0, true, c.OutOrStdout()) }()
	} else {
		outDone <- nil
	}
	var bar *progress
	if show {
		bar = newProgress(stderr, j.Tasks.Total)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := j
	for !last.State.Terminal() {
		select {
		case <-ctx.Done():
			return &ExitError{Code: 130, Msg: fmt.Sprintf("stopped waiting; job %d goes on (burst cancel %d to stop it)", j.ID, j.ID)}
		case <-tick.C:
		}
		cur := cl.get()
		nj, err := cur.Job(ctx, j.ID)
		if err != nil {
			if !cl.retry(ctx, err, cur) {
				return err
			}
			continue
		}
		last = nj
		if bar != nil {
			bar.update(last.Tasks)
		}
	}
	if bar != nil {
		bar.finish(last.Tasks)
	}
	<-outDone
	return mapExit(ctx, cl.get(), last)
}

// mapExit is 0 if every task succeeded; otherwise 1 with a summary naming
// the first failed tasks and how to read their logs.
func mapExit(ctx context.Context, cl *client.Client, j *burst.Job) error {
	c := j.Tasks
	if j.State == burst.Succeeded {
		return nil
	}
	if j.State == burst.Cancelled {
		return &ExitError{Code: 130, Msg: fmt.Sprintf("job %d was cancelled: %d of %d tasks had succeeded; `burst map --resume %d` runs the rest", j.ID, c.Succeeded, c.Total, j.ID)}
	}
	bad, _ := cl.Tasks(ctx, j.ID, 0, 0, burst.Failed, burst.Timeout, burst.Lost)
	var ids []string
	for i, t := range bad {
		if i == 10 {
			ids = append(ids, "...")
			break
		}
		ids = append(ids, strconv.Itoa(t.Index))
	}
	msg := fmt.Sprintf("job %d: %d of %d tasks did not succeed (%d failed, %d timed out, %d lost, %d cancelled)",
		j.ID, c.Total-c.Succeeded, c.Total, c.Failed, c.Timeout, c.Lost, c.Cancelled)
	if j.Reason != "" && strings.HasPrefix(j.Reason, "stopped") {
		msg += "; " + j.Reason
	}
	if len(ids) > 0 {
		msg += fmt.Sprintf("; tasks %s; see `burst logs %d --task %d --stderr`", strings.Join(ids, ", "), j.ID, bad[0].Index)
	}
	msg += fmt.Sprintf("; `burst map --resume %d` reruns them", j.ID)
	return &ExitError{Code: 1, Msg: msg}
}
