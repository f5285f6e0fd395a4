package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// MaxInput is the largest JSON encoding of one input Map accepts: an input
// is passed to its task as a command-line argument, and Linux refuses
// arguments over 128 KiB.
const MaxInput = 64 << 10

// maxInline is what client.Results returns inline of a task's stdout; an
// output that long may be cut and is read again in full.
const maxInline = 1 << 20

// maxSubmit bounds the JSON of a job spec: the server reads at most 64 MiB
// of a request.
const maxSubmit = 60 << 20

// resultsPage is how many results Map reads per request.
const resultsPage = 256

// Option changes how Map runs its job.
type Option func(*config)

type config struct {
	res     burst.Resources
	retries int
	project string
	name    string
}

// WithCPUs sets the CPU cores of each task (default 1).
func WithCPUs(n int) Option { return func(c *config) { c.res.CPUs = n } }

// WithMem sets the memory of each task in bytes; the task is killed if it
// uses more (default: not limited).
func WithMem(bytes int64) Option { return func(c *config) { c.res.MemBytes = bytes } }

// WithGPUs sets the GPUs of each task (CUDA_VISIBLE_DEVICES names them).
func WithGPUs(n int) Option { return func(c *config) { c.res.GPUs = n } }

// WithTimeLimit stops each task that runs longer than d (rounded up to whole
// seconds): its context is cancelled (SIGTERM), then it is killed; its item
// gets a TaskError with State burst.Timeout.
func WithTimeLimit(d time.Duration) Option {
	return func(c *config) { c.res.TimeLimit = int64((d + time.Second - 1) / time.Second) }
}

// WithRetries runs a failed task again up to n times.
func WithRetries(n int) Option { return func(c *config) { c.retries = n } }

// WithProject puts the job in project p (default "default").
func WithProject(p string) Option { return func(c *config) { c.project = p } }

// WithName names the job (default: the function's name).
func WithName(s string) Option { return func(c *config) { c.name = s } }

// TaskError is why one item of a Map gave no result.
type TaskError struct {
	Job      int64       // the map job
	Index    int         // the item, and its task
	State    burst.State // how the task ended: failed, timeout, lost or cancelled
	ExitCode *int        // the worker's exit status, if it exited
	Reason   string      // burst's reason, e.g. "time limit 5s reached"
	// Message is the function's error message when it returned an error or
	// panicked ("panic: ..."), or what went wrong with the task's output.
	Message string
}

// Error is the function's message when the function failed; otherwise it
// says how the task ended and where its log is.
func (e *TaskError) Error() string {
	if e.State == burst.Failed && e.Message != "" {
		return e.Message
	}
	var b strings.Builder
	switch e.State {
	case burst.Timeout:
		b.WriteString("timed out")
	case burst.Lost:
		b.WriteString("lost (its machine went away)")
	case burst.Cancelled:
		b.WriteString("cancelled")
	case burst.Failed:
		b.WriteString("failed")
		if e.ExitCode != nil {
			fmt.Fprintf(&b, " with exit status %d", *e.ExitCode)
		}
	default:
		fmt.Fprintf(&b, "ended %s", e.State)
	}
	if e.Reason != "" && e.Reason != string(e.State) {
		b.WriteString(": " + e.Reason)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.State != burst.Cancelled {
		fmt.Fprintf(&b, " (see `burst logs %d --task %d --stderr`)", e.Job, e.Index)
	}
	return b.String()
}

// Map runs f once per input as one burst map job, waits for it to end and
// returns the outputs and the errors in the order of the inputs: for each i,
// either errs[i] is nil and outs[i] is f's result for inputs[i], or errs[i]
// is a *TaskError (f returned an error or panicked, the task timed out, was
// lost or cancelled) and outs[i] is the zero Out. errors.Join(errs...) is
// nil when every item succeeded. err is for the call as a whole (the job
// could not be submitted, the server went away, ctx ended); when ctx ends
// Map cancels the job.
//
// With a nil c, Map calls Connect. The program must have called Main, and
// its executable (os.Executable) is what each task runs, with the caller's
// environment (less its BURST_* variables) and working directory: it must
// exist at that path on the machines that run the tasks until the job ends.
// Each input is passed as the JSON of inputs[i] in a command-line argument,
// which must not exceed MaxInput: pass the path of a file instead of large
// data.
func Map[In, Out any](ctx context.Context, c *client.Client, f *Func[In, Out], inputs []In, opts ...Option) ([]Out, []error, error) {
	if f == nil || f.name == "" {
		return nil, nil, errors.New("sdk.Map: no function: pass the *Func that sdk.Register returned")
	}
	if !mainCalled.Load() {
		return nil, nil, errors.New("sdk.Map: call sdk.Main() first in main (and in TestMain for tests): " +
			"the tasks run this same program and sdk.Main is what makes them run the function")
	}
	if run, _ := lookup(f.name); run == nil {
		return nil, nil, fmt.Errorf("sdk.Map: no function named %q is registered in this program", f.name)
	}
	enc := make([]string, len(inputs))
	for i, in := range inputs {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, fmt.Errorf("sdk.Map: input %d cannot be encoded as JSON: %w", i, err)
		}
		if len(b) > MaxInput {
			return nil, nil, fmt.Errorf("sdk.Map: input %d is %d bytes of JSON, over the %d KiB an input may be "+
				"(it is passed as a command-line argument): pass the path of a file holding the data instead", i, len(b), MaxInput>>10)
		}
		enc[i] = string(b)
	}
	if len(inputs) == 0 {
		return []Out{}, []error{}, nil
	}
	spec, err := mapSpec(f.name, enc, opts)
	if err != nil {
		return nil, nil, err
	}
	if b, err := json.Marshal(spec); err != nil {
		return nil, nil, fmt.Errorf("sdk.Map: %w", err)
	} else if len(b) > maxSubmit {
		return nil, nil, fmt.Errorf("sdk.Map: the %d inputs make %d MiB of JSON, more than a job may carry (%d MiB): "+
			"pass paths of files holding the data, or split the inputs over several calls", len(inputs), len(b)>>20, maxSubmit>>20)
	}
	if c == nil {
		if c, err = Connect(ctx); err != nil {
			return nil, nil, err
		}
	}
	job, err := c.Submit(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk.Map: submit: %w", err)
	}
	id := job.ID
	// Each read below rides out a server restart as c's Retry says
	// (client.DefaultRetry: half a minute) and starts a local server anew
	// if c came from Connect.
	job, err = c.Wait(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			c.Cancel(cctx, id)
			cancel()
			return nil, nil, fmt.Errorf("sdk.Map: job %d cancelled: %w", id, ctx.Err())
		}
		return nil, nil, unreachable(id, err)
	}
	outs := make([]Out, len(inputs))
	errs := make([]error, len(inputs))
	for from := 0; from < len(inputs); {
		page, err := c.Results(ctx, id, from, resultsPage, true)
		if err != nil {
			return nil, nil, fmt.Errorf("sdk.Map: read the results of job %d: %w", id, unreachable(id, err))
		}
		if len(page) == 0 {
			return nil, nil, fmt.Errorf("sdk.Map: job %d has %d tasks, not %d: was it submitted by this program?", id, from, len(inputs))
		}
		for _, r := range page {
			if r.Index < 0 || r.Index >= len(inputs) {
				return nil, nil, fmt.Errorf("sdk.Map: job %d has a task %d, beyond its %d inputs", id, r.Index, len(inputs))
			}
			errs[r.Index] = decodeResult(ctx, c, id, r, &outs[r.Index])
			from = r.Index + 1
		}
	}
	return outs, errs, nil
}

// mapSpec is the job: this executable over the encoded inputs, with the
// caller's environment and directory (as `burst map` does).
func mapSpec(name string, enc []string, opts []Option) (*burst.JobSpec, error) {
	cfg := config{name: name}
	for _, o := range opts {
		o(&cfg)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sdk.Map: cannot find this program's executable: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("sdk.Map: current directory: %w", err)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, "BURST_") {
			env[k] = v
		}
	}
	env[EnvFunc] = name
	spec := &burst.JobSpec{
		Name:      cfg.name,
		Project:   cfg.project,
		Kind:      burst.KindMap,
		Env:       env,
		Workdir:   wd,
		Resources: cfg.res,
		Retries:   cfg.retries,
		Map:       &burst.MapSpec{Template: []string{exe, "{}"}, Sources: [][]string{enc}},
	}
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("sdk.Map: %w", err)
	}
	return spec, nil
}

// decodeResult fills out from a finished task, or says why it cannot.
func decodeResult[Out any](ctx context.Context, c *client.Client, id int64, r client.Result, out *Out) error {
	te := &TaskError{Job: id, Index: r.Index, State: r.State, ExitCode: r.ExitCode, Reason: r.Reason}
	stdout, err := taskStdout(ctx, c, id, r)
	if r.State != burst.Succeeded {
		var rep errorReply
		if err == nil && json.Unmarshal(bytes.TrimSpace(stdout), &rep) == nil {
			te.Message = rep.Error
		}
		if te.State == burst.Failed && te.Message == "" && te.Reason == "" && te.ExitCode == nil {
			te.Reason = "the task gave no reason"
		}
		return te
	}
	if err != nil {
		te.State, te.Message = burst.Failed, "cannot read its output: "+err.Error()
		return te
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		te.State, te.Message = burst.Failed, fmt.Sprintf("cannot decode its output %s as %T: %v", abbrev(bytes.TrimSpace(stdout)), *out, err)
		return te
	}
	return nil
}

// taskStdout is a finished task's stdout: inline in r, or read in full when
// the inline copy may be cut or is missing.
func taskStdout(ctx context.Context, c *client.Client, id int64, r client.Result) ([]byte, error) {
	if r.Output != nil && len(*r.Output) < maxInline {
		return []byte(*r.Output), nil
	}
	if r.Output == nil && r.State != burst.Succeeded {
		return nil, errors.New("no output")
	}
	var buf bytes.Buffer
	err := c.Logs(ctx, id, client.LogsQuery{Task: r.Index}, &buf) // goes on from where it was if asked again
	return buf.Bytes(), unreachable(id, err)
}

// unreachable says what to do when the server stopped answering for
// longer than the client rides out: the job goes on without this program.
// The server's own answers pass unchanged.
func unreachable(id int64, err error) error {
	var ae *client.Error
	if err == nil || errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("the burst server stopped answering (%w); job %d goes on if it comes back: "+
		"`burst results %d` shows its results", err, id, id)
}
