package client

import (
	"errors"
	"fmt"

	"github.com/burst-sh/burst"
)

// Validate checks what an agent says of itself before the server takes it:
// a machine name as names go (burst.ValidName), what the machine has within
// what a job may ask for (burst.MaxCPUs, MaxGPUs, MaxMemBytes), lists of
// bounded length and events within their bounds. Before, an "agent" named
// with an escape sequence, 2^40 CPUs and 2^62 bytes was registered and
// priced at billions of dollars an hour.
func (r *Register) Validate() error {
	if !validMachine(r.Machine) {
		return fmt.Errorf("register: machine name %.64q: use letters, digits, '-', '_' or '.' (at most %d bytes; not . or ..); start the agent with --machine NAME", r.Machine, burst.MaxNameBytes)
	}
	for _, f := range []struct{ what, v string }{
		{"cluster", r.Cluster}, {"host", r.Host}, {"stream address", r.StreamAddr}, {"home id", r.HomeID},
	} {
		if err := burst.CheckText("register: the "+f.what, f.v, burst.MaxNameBytes, "an agent sends what its machine is called"); err != nil {
			return err
		}
	}
	switch {
	case r.PID < 0:
		return fmt.Errorf("register: pid %d is negative", r.PID)
	case r.CPUs < 0 || r.CPUs > burst.MaxCPUs:
		return fmt.Errorf("register: %d CPUs: a machine has 0 to %d", r.CPUs, burst.MaxCPUs)
	case r.MemBytes < 0 || r.MemBytes > burst.MaxMemBytes:
		return fmt.Errorf("register: %d bytes of memory: a machine has 0 to %d (1 PiB)", r.MemBytes, int64(burst.MaxMemBytes))
	case len(r.GPUs) > burst.MaxGPUs:
		return fmt.Errorf("register: %d GPUs: a machine has at most %d", len(r.GPUs), burst.MaxGPUs)
	case len(r.Running) > burst.MaxAgentTasks:
		return fmt.Errorf("register: %d running tasks; the limit is %d", len(r.Running), burst.MaxAgentTasks)
	}
	for i, g := range r.GPUs {
		if g.Index < 0 || g.MemBytes < 0 || g.MemBytes > burst.MaxMemBytes {
			return fmt.Errorf("register: GPU %d: index %d and %d bytes of memory must be 0 or more, the memory at most 1 PiB", i, g.Index, g.MemBytes)
		}
		for _, f := range []struct{ what, v string }{{"name", g.Name}, {"uuid", g.UUID}} {
			if err := burst.CheckText(fmt.Sprintf("register: GPU %d's %s", i, f.what), f.v, burst.MaxNameBytes, "as nvidia-smi names it"); err != nil {
				return err
			}
		}
	}
	for _, t := range r.Running {
		if err := t.TaskRef.validate(); err != nil {
			return fmt.Errorf("register: running %w", err)
		}
		if t.PID < 0 {
			return fmt.Errorf("register: running task %d.%d: pid %d is negative", t.Job, t.Index, t.PID)
		}
	}
	return validateEvents("register", r.Events)
}

// Validate checks a report's events (TaskEvent.Validate) and their number.
func (r *Report) Validate() error {
	if len(r.Machine) > burst.MaxNameBytes || len(r.BootID) > burst.MaxNameBytes {
		return errors.New("report: the machine name or boot id is too long; an agent sends the ones it registered with")
	}
	return validateEvents("report", r.Events)
}

// Validate checks a lease request's names and wait.
func (l *Lease) Validate() error {
	switch {
	case len(l.Machine) > burst.MaxNameBytes || len(l.BootID) > burst.MaxNameBytes:
		return errors.New("lease: the machine name or boot id is too long; an agent sends the ones it registered with")
	case l.WaitMS < 0:
		return fmt.Errorf("lease: wait_ms %d is negative", l.WaitMS)
	}
	return nil
}

// Validate checks one task event: a known kind and state, no negative
// count, an exit status of 0 to 255, a signal number and a reason of at
// most burst.MaxReasonBytes.
func (e *TaskEvent) Validate() error {
	if err := e.TaskRef.validate(); err != nil {
		return err
	}
	at := fmt.Sprintf("task %d.%d", e.Job, e.Index)
	switch e.Kind {
	case EventStarted, EventExited, EventProgress:
	default:
		return fmt.Errorf("%s: event kind %.32q: give started, progress or exited", at, e.Kind)
	}
	switch e.State {
	case "", burst.Queued, burst.Running, burst.Succeeded, burst.Failed, burst.Cancelled, burst.Timeout, burst.Lost:
	default:
		return fmt.Errorf("%s: state %.32q is not a task state", at, e.State)
	}
	if e.ExitCode != nil && (*e.ExitCode < 0 || *e.ExitCode > 255) {
		return fmt.Errorf("%s: exit status %d: a process exits with 0 to 255", at, *e.ExitCode)
	}
	if e.Signal < 0 || e.Signal > 128 {
		return fmt.Errorf("%s: signal %d: give 0 to 128", at, e.Signal)
	}
	for _, p := range []string{e.OutPack, e.ErrPack} {
		if len(p) > burst.MaxPathBytes {
			return fmt.Errorf("%s: a pack path of %d bytes; the limit is %d", at, len(p), burst.MaxPathBytes)
		}
	}
	if len(e.Reason) > burst.MaxReasonBytes {
		return fmt.Errorf("%s: the reason is %d bytes; the limit is %d", at, len(e.Reason), burst.MaxReasonBytes)
	}
	for _, f := range []struct {
		what string
		v    int64
	}{
		{"pid", int64(e.PID)}, {"user_us", e.UserUS}, {"sys_us", e.SysUS}, {"max_rss", e.MaxRSS},
		{"out_bytes", e.OutBytes}, {"out_from", e.OutFrom}, {"err_from", e.ErrFrom}, {"out_to", e.OutTo},
		{"err_to", e.ErrTo}, {"read_bytes", e.ReadBytes}, {"wrote_bytes", e.WroteBytes},
	} {
		if f.v < 0 {
			return fmt.Errorf("%s: %s %d is negative", at, f.what, f.v)
		}
	}
	return nil
}

func validateEvents(what string, events []TaskEvent) error {
	if len(events) > burst.MaxAgentTasks {
		return fmt.Errorf("%s: %d events; the limit is %d: send them in parts", what, len(events), burst.MaxAgentTasks)
	}
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// validMachine is burst.ValidName with room for a cluster's machines,
// named after a cluster's name of up to 64 bytes and a number.
func validMachine(n string) bool {
	if len(n) <= 64 || len(n) > burst.MaxNameBytes {
		return burst.ValidName(n)
	}
	return burst.ValidName(n[:64]) && burst.ValidName(n[64:])
}

func (t TaskRef) validate() error {
	if t.Job < 0 || t.Index < 0 || t.Attempt < 0 {
		return fmt.Errorf("task %d.%d attempt %d: no number may be negative", t.Job, t.Index, t.Attempt)
	}
	return nil
}
