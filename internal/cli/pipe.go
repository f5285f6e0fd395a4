package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/pipe"
	"github.com/burst-sh/burst/internal/suggest"
)

func newPipeCmd() *cobra.Command {
	var (
		file, name, project, on string
		detach                  bool
		af                      afterFlags
	)
	c := &cobra.Command{
		Use:   "pipe [flags] 'STAGE | [OPTIONS] STAGE | ...'\n  burst pipe [flags] -f PIPELINE.yaml",
		Short: "Run a streaming pipeline whose stages each get the hardware they ask for",
		Long: `Run a Unix pipeline as one job. Each stage may ask for its own resources
with options written before its command (like env or nice), so a program's
own flags are never mistaken for burst's:

  --cpus N  --mem SIZE  --gpus N  --time DURATION  --on CLUSTER
  --parallel N  (N copies; input lines are dealt to them, outputs merged
                 whole lines at a time, in the order the copies give them)
  --name NAME   (how the stage is named in burst show and in logs)
  --stack STACK (the stage runs inside this software stack, NAME, NAME:V
                 or NAME@sha256:HEX, with this directory at /work; see
                 burst stack)

All stages start together or not at all. Stages placed on one machine are
joined by plain OS pipes; stages on different machines by direct TCP
streams between their agents (no copy through the server). The last
stage's output streams here (or goes to the file after >), byte for byte
what the same shell pipeline writes (no newline added; with --parallel,
the same lines in any order); each stage's stderr is kept apart and shown
here prefixed with the stage's name.

Quotes, escapes, $VARIABLES, ~ and globs behave as in a POSIX shell; < FILE
before the first stage's end and > FILE / >> FILE at the end are allowed.
Anything else a shell would do (&&, ;, subshells, $(...), 2>) is refused
with its column and a hint, never handed to a shell.

As with set -o pipefail, the pipe fails with the status of the last stage
that failed; a stage stopped by SIGPIPE because a later one stopped reading
is not a failure. A stage that cannot start (127), runs out of memory (137)
or out of time (124) stops the whole pipe, which ends with that status. If
a stage's machine is lost, the pipe restarts whole. The pipe's stdin is
/dev/null unless the first stage reads a file with <.

A pipeline file (-f) holds the same pipe as YAML:

  name: counts            # job name
  on: hpc                 # default cluster of the stages
  stdin: reads.txt        # like <
  stdout: counts.txt      # like > (append: true for >>)
  stages:
    - run: ./align -      # one command line, same quoting rules
      cpus: 4
      mem: 8G
    - run: cut -f3        # line by line: safe to split over copies
      parallel: 2         # also: gpus, time, on, name, stack
    - run: sort           # one copy: a sort split in two sorts each half alone

or pipe: 'a | --cpus 2 b > out' instead of stages.`,
		Example: `  burst pipe 'seq 1 1000000 | --cpus 2 awk "{s+=\$1} END {print s}"'
  burst pipe 'zcat reads/*.fq.gz | --cpus 4 --mem 8G ./align - | sort -k3 | uniq -c > counts.txt'
  burst pipe 'gen | --parallel 4 --cpus 1 ./score | sort -n'
  burst pipe 'cat reads.txt | --stack py:3 python3 /opt/count.py | sort'
  burst pipe --on hpc 'generate_data | --gpus 1 filter2 > result.bin'
  burst pipe -f pipeline.yaml
  burst pipe -d --after ok:12 'zcat out.gz | ./summarise > sums.txt'   # once job 12 succeeded
  burst pipe -d 'long | pipeline'         # print the job id and return`,
		Args: func(c *cobra.Command, args []string) error {
			switch {
			case file != "" && len(args) > 0:
				return usage("give the pipeline as an argument or with -f, not both")
			case file == "" && len(args) == 0:
				return usage("no pipeline given: burst pipe 'gen | --cpus 2 filter > out.txt' (quote it, so that your shell leaves the | to burst)")
			case len(args) > 1:
				return usage("give the whole pipeline as one argument in single quotes, or your shell takes its | and > for itself: burst pipe '%s | ...'", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			spec, err := baseSpec()
			if err != nil {
				return err
			}
			home, _ := os.UserHomeDir()
			opt := pipe.Options{Getenv: os.LookupEnv, Home: home, Glob: func(p string) ([]string, error) {
				if filepath.IsAbs(p) {
					return filepath.Glob(p)
				}
				m, err := filepath.Glob(filepath.Join(spec.Workdir, p))
				for i := range m {
					m[i], _ = filepath.Rel(spec.Workdir, m[i])
				}
				return m, err
			}}
			var p *pipe.Pipeline
			if file != "" {
				f, err := pipe.LoadFile(file, opt)
				if err != nil {
					return usage("%v", err)
				}
				p = f.Pipeline
				if name == "" {
					name = f.Name
				}
				if on == "" {
					on = f.On
				}
			} else if p, err = pipe.Parse(args[0], opt); err != nil {
				return usage("%v", err)
			}
			spec.Pipe = pipeSpec(p, spec.Workdir)
			spec.Name, spec.Project, spec.Cluster = name, project, on
			if err := af.apply(c, spec); err != nil {
				return err
			}
			return submitAndFollow(c, spec, detach, nil, true)
		},
	}
	c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		msg := err.Error()
		var ne *pflag.NotExistError
		if errors.As(err, &ne) && strings.ContainsAny(ne.GetSpecifiedName(), " |") {
			// The pipeline itself starts with a stage option.
			return usage("a pipeline that starts with a stage option goes after --: burst pipe [flags] -- '--cpus 2 gen | ...'")
		}
		stageOpts := []string{"cpus", "mem", "gpus", "time", "parallel", "stack"}
		for _, o := range stageOpts {
			if strings.Contains(msg, "unknown flag: --"+o) || o == "cpus" && strings.Contains(msg, "shorthand flag: 'c'") {
				return usage("burst pipe has no --%s of its own: each stage asks for its resources, before its command, inside the quotes: burst pipe 'gen | --%s N filter'", o, o)
			}
		}
		if ne != nil && didYouMean(c, err) == "" {
			if o := suggest.Closest(ne.GetSpecifiedName(), stageOpts); len(o) > 0 { // --cpu
				return usage("burst pipe has no --%s of its own: each stage asks for its resources (--%s), before its command, inside the quotes: burst pipe 'gen | --%s N filter'", ne.GetSpecifiedName(), o[0], o[0])
			}
		}
		return flagError(c, err)
	})
	c.Flags().StringVarP(&file, "file", "f", "", "read the pipeline from a YAML file (its format: burst help pipe)")
	c.Flags().StringVarP(&name, "name", "J", "", "job name (default: pipe-FIRSTSTAGE)")
	c.Flags().StringVar(&project, "project", "", "project the job belongs to (default: default)")
	c.Flags().StringVar(&on, "on", "", "`CLUSTER` for the stages that do not name one with --on (default: local)")
	c.Flags().BoolVarP(&detach, "detach", "d", false, "submit, print the job id and return at once")
	af.add(c)
	return c
}

// pipeSpec is the job's view of a parsed pipeline; files are made absolute
// against the submitter's directory.
func pipeSpec(p *pipe.Pipeline, wd string) *burst.PipeSpec {
	abs := func(f string) string {
		if f != "" && !filepath.IsAbs(f) {
			f = filepath.Join(wd, f)
		}
		return f
	}
	ps := &burst.PipeSpec{Stdin: abs(p.Stdin), Stdout: abs(p.Stdout), Append: p.Append, Text: p.String()}
	for _, st := range p.Stages {
		ps.Stages = append(ps.Stages, burst.PipeStage{
			Name: st.Name, Argv: st.Argv, Cluster: st.Cluster, Parallel: st.Parallel,
			Resources: burst.Resources{CPUs: st.CPUs, MemBytes: st.MemBytes, GPUs: st.GPUs, TimeLimit: int64(st.TimeLimit.Seconds())},
		})
		if st.Stack != "" {
			ps.Stages[len(ps.Stages)-1].Stack, _ = burst.ParseStackRef(st.Stack) // checked when parsed
			ps.Stages[len(ps.Stages)-1].Stack.Keep = st.Keep
		}
	}
	return ps
}

// followPipe follows a pipe: the last stage's output to stdout, every
// stage's stderr prefixed with its name; Ctrl-C cancels it.
func followPipe(ctx context.Context, c *cobra.Command, k *client.Client, id int64, p *burst.PipeSpec, in *interrupts) error {
	ctx, out, stop := cancelOnInterrupt(ctx, c.OutOrStdout(), c.ErrOrStderr(), k, id, in)
	defer stop()
	stderr := out.stderr
	fmt.Fprintf(stderr, "burst: job %d\n", id)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cut firstErr
	follow := func(task int, stream string, w io.Writer) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := streamLogs(ctx, k, id, task, stream, w); ctx.Err() == nil {
				cut.set(err)
			}
		}()
	}
	if p.Stdout == "" {
		follow(p.FirstTask(len(p.Stages)-1), "stdout", out.stdout)
	}
	var prefixed []*prefixWriter
	for i, st := range p.Stages {
		for cp := range st.Copies() {
			label := st.Name
			if st.Copies() > 1 {
				label = fmt.Sprintf("%s#%d", st.Name, cp+1)
			}
			pw := &prefixWriter{w: stderr, mu: &mu, prefix: []byte("[" + label + "] ")}
			prefixed = append(prefixed, pw)
			follow(p.FirstTask(i)+cp, "stderr", pw)
		}
	}
	wg.Wait()
	for _, pw := range prefixed {
		pw.flush()
	}
	if ctx.Err() != nil {
		return stoppedWaiting(ctx, id)
	}
	j, err := waitJob(ctx, k, id)
	if err != nil {
		return serverGone(err, id)
	}
	return followEnd(stderr, j, cut.get(), "")
}

// prefixWriter writes whole lines, each behind a prefix, to a writer that
// other prefixWriters share (under mu).
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix []byte
	part   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	p.part = append(p.part, b...)
	for {
		i := bytes.IndexByte(p.part, '\n')
		if i < 0 {
			break
		}
		p.emit(p.part[:i+1])
		p.part = p.part[i+1:]
	}
	return n, nil
}

func (p *prefixWriter) emit(line []byte) {
	p.mu.Lock()
	p.w.Write(append(append([]byte(nil), p.prefix...), line...))
	p.mu.Unlock()
}

func (p *prefixWriter) flush() {
	if len(p.part) > 0 {
		p.emit(append(p.part, '\n'))
		p.part = nil
	}
}
