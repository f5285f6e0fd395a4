package client

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// JobError is the error of RunCommand and MapCommand when the job ended
// without succeeding; Job says how it ended.
type JobError struct {
	Job *burst.Job
}

func (e *JobError) Error() string {
	j := e.Job
	if j.Kind == burst.KindMap {
		c := j.Tasks
		return fmt.Sprintf("job %d %s: %d of %d tasks did not succeed (%d failed, %d timed out, %d lost, %d cancelled)",
			j.ID, j.State, c.Total-c.Succeeded, c.Total, c.Failed, c.Timeout, c.Lost, c.Cancelled)
	}
	msg := fmt.Sprintf("job %d %s", j.ID, j.State)
	if j.ExitCode != nil && j.State == burst.Failed {
		msg += fmt.Sprintf(" with exit status %d", *j.ExitCode)
	}
	if j.Reason != "" {
		msg += ": " + j.Reason
	}
	return msg
}

// RunCommand runs argv as a job of one task and waits for it to end. The
// command runs directly, never through a shell, in the caller's working
// directory and with the caller's environment (as `burst run` does), with
// the resources res (zero CPUs means 1).
//
// It returns the finished job, whose stdout and stderr Logs reads. The error
// is a *JobError when the command did not succeed (the job is returned
// too), or says why the call failed. If ctx ends first, the job is
// cancelled and ctx's error returned with the job as last seen.
func (c *Client) RunCommand(ctx context.Context, argv []string, res burst.Resources) (*burst.Job, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("RunCommand: no command: give argv, e.g. []string{\"python3\", \"fit.py\"}")
	}
	spec, err := callerSpec(res)
	if err != nil {
		return nil, err
	}
	spec.Argv = argv
	return c.submitWait(ctx, spec)
}

// MapCommand runs template once per input as one map job (a task per
// input) and waits for it to end. Each input is one argument, never shell
// text: it replaces {} (and GNU parallel's other replacement strings: {.}
// {/} {//} {/.} {#}) in template, or is appended when template has none.
// Tasks run directly in the caller's working directory with the caller's
// environment (as `burst map` does), each with the resources res (zero CPUs
// means 1).
//
// It returns the finished job; Results and Output give its tasks' outcomes
// and stdout in input order. The error is a *JobError when any task did not
// succeed (the job is returned too), or says why the call failed. If ctx
// ends first, the job is cancelled and ctx's error returned with the job as
// last seen.
func (c *Client) MapCommand(ctx context.Context, template []string, inputs []string, res burst.Resources) (*burst.Job, error) {
	if len(template) == 0 {
		return nil, fmt.Errorf("MapCommand: no command: give a template, e.g. []string{\"gzip\", \"-9\", \"{}\"}")
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("MapCommand: no inputs: give at least one")
	}
	spec, err := callerSpec(res)
	if err != nil {
		return nil, err
	}
	spec.Map = &burst.MapSpec{Template: template, Sources: [][]string{inputs}}
	return c.submitWait(ctx, spec)
}

// callerSpec is a spec with the caller's environment (less burst's own
// BURST_* variables) and working directory, which tasks inherit.
func callerSpec(res burst.Resources) (*burst.JobSpec, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, "BURST_") {
			env[k] = v
		}
	}
	return &burst.JobSpec{Workdir: wd, Env: env, Resources: res}, nil
}

// submitWait submits spec and waits for the job to end, cancelling it if ctx
// ends first.
func (c *Client) submitWait(ctx context.Context, spec *burst.JobSpec) (*burst.Job, error) {
	job, err := c.Submit(ctx, spec)
	if err != nil {
		return nil, err
	}
	done, err := c.Wait(ctx, job.ID)
	if err != nil {
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			c.Cancel(cctx, job.ID)
			cancel()
			return job, fmt.Errorf("job %d cancelled: %w", job.ID, ctx.Err())
		}
		return job, err
	}
	if done.State != burst.Succeeded {
		return done, &JobError{Job: done}
	}
	return done, nil
}
