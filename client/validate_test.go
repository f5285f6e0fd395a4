package client

import (
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// TestRegisterValidate checks an agent's announcement from both sides of
// each bound: what a real agent sends is taken; an "agent" of 2^40 CPUs,
// an escape sequence in its name or negative figures is refused with a
// message that names the field.
func TestRegisterValidate(t *testing.T) {
	ok := func(f func(*Register)) Register {
		r := Register{Machine: "node-1.example", Cluster: "hpc:native", Host: "node-1", PID: 42, CPUs: 64, MemBytes: 256 << 30,
			GPUs: []burst.GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-1234", MemBytes: 80 << 30}}}
		f(&r)
		return r
	}
	code := func(n int) *int { return &n }
	for _, c := range []struct {
		name string
		r    Register
		want string // "" taken
	}{
		{"a real agent", ok(func(r *Register) {}), ""},
		{"a cluster's machine of a 64-byte cluster name", ok(func(r *Register) { r.Machine = strings.Repeat("c", 64) + "-12" }), ""},
		{"machine with an escape", ok(func(r *Register) { r.Machine = "\x1b[2J" + strings.Repeat("x", 300) }), "machine name"},
		{"machine empty", ok(func(r *Register) { r.Machine = "" }), "machine name"},
		{"machine ..", ok(func(r *Register) { r.Machine = ".." }), "machine name"},
		{"host with a newline", ok(func(r *Register) { r.Host = "a\nb" }), "host holds the control character"},
		{"2^40 CPUs", ok(func(r *Register) { r.CPUs = 1 << 40 }), "a machine has 0 to 65536"},
		{"at the CPU limit", ok(func(r *Register) { r.CPUs = burst.MaxCPUs }), ""},
		{"negative CPUs", ok(func(r *Register) { r.CPUs = -1 }), "CPUs"},
		{"2^62 bytes", ok(func(r *Register) { r.MemBytes = 1 << 62 }), "(1 PiB)"},
		{"negative memory", ok(func(r *Register) { r.MemBytes = -1 }), "memory"},
		{"too many GPUs", ok(func(r *Register) { r.GPUs = make([]burst.GPU, burst.MaxGPUs+1) }), "1025 GPUs"},
		{"GPU name with an escape", ok(func(r *Register) { r.GPUs[0].Name = "\x1b]0;x\x07" }), "GPU 0's name"},
		{"negative pid", ok(func(r *Register) { r.PID = -1 }), "pid -1"},
		{"too many running", ok(func(r *Register) { r.Running = make([]RunningTask, burst.MaxAgentTasks+1) }), "running tasks; the limit"},
		{"running of a negative job", ok(func(r *Register) { r.Running = []RunningTask{{TaskRef: TaskRef{Job: -1}}} }), "negative"},
		{"an exited event", ok(func(r *Register) {
			r.Events = []TaskEvent{{TaskRef: TaskRef{Job: 1, Attempt: 1}, Kind: EventExited, State: burst.Failed, ExitCode: code(1), Reason: "exit 1"}}
		}), ""},
		{"event reason of 1 MiB", ok(func(r *Register) {
			r.Events = []TaskEvent{{TaskRef: TaskRef{Job: 1}, Kind: EventExited, Reason: strings.Repeat("x", 1<<20)}}
		}), "the reason is 1048576 bytes; the limit is 8192"},
		{"event reason of 1 MiB cut as an agent cuts it", ok(func(r *Register) {
			r.Events = []TaskEvent{{TaskRef: TaskRef{Job: 1}, Kind: EventExited, Reason: burst.CutReason(strings.Repeat("é", 1<<19))}}
		}), ""},
		{"event of negative output", ok(func(r *Register) { r.Events = []TaskEvent{{Kind: EventExited, OutBytes: -5}} }), "out_bytes -5 is negative"},
		{"event of an unknown kind", ok(func(r *Register) { r.Events = []TaskEvent{{Kind: "boom"}} }), "event kind"},
		{"event of an unknown state", ok(func(r *Register) { r.Events = []TaskEvent{{Kind: EventExited, State: "won"}} }), "not a task state"},
		{"event exit 256", ok(func(r *Register) { r.Events = []TaskEvent{{Kind: EventExited, ExitCode: code(256)}} }), "exit status 256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.r.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("taken; want an error with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q; want it to say %q", err, c.want)
			case err != nil && (len(err.Error()) > 400 || strings.ContainsAny(err.Error(), "\n\x1b")):
				t.Fatalf("error %q: want one short printable line", err)
			}
		})
	}
}

// TestReportLeaseValidate checks the bounds of a report and a lease.
func TestReportLeaseValidate(t *testing.T) {
	good := Report{Machine: "m", BootID: "b", Events: []TaskEvent{{Kind: EventStarted, PID: 7, OutFrom: 10}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("a real report refused: %v", err)
	}
	for _, r := range []Report{
		{Machine: strings.Repeat("m", 300)},
		{Events: []TaskEvent{{Kind: EventProgress, MaxRSS: -1}}},
		{Events: make([]TaskEvent, burst.MaxAgentTasks+1)},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("report %.80v taken", r)
		}
	}
	if err := (&Lease{Machine: "m", WaitMS: 30000}).Validate(); err != nil {
		t.Fatalf("a real lease refused: %v", err)
	}
	if err := (&Lease{Machine: "m", WaitMS: -1}).Validate(); err == nil {
		t.Error("a lease of negative wait taken")
	}
}
