package cli

import (
	"context"
	"errors"
	"testing"

	"github.com/burst-sh/burst"
)

// A map whose tasks reserve no CPU (burst.Job.CPUs 0) is, to Slurm's face,
// a job of 1 CPU that oversubscribes (Slurm allocates no job fewer), and a
// machine running only such tasks is a node with a CPU allocated (mixed),
// not an idle one.
func TestFaceOfTasksOfNoCPU(t *testing.T) {
	fj := newFaceJobs(context.Background()).job(&burst.Job{ID: 3, User: "root", CPUs: 0, State: burst.Running})
	if fj.CPUs != 1 || !fj.Shared {
		t.Errorf("job of no CPU: CPUs %d, Shared %v; want 1, true", fj.CPUs, fj.Shared)
	}
	if fj := newFaceJobs(context.Background()).job(&burst.Job{ID: 4, User: "root", CPUs: 2}); fj.CPUs != 2 || fj.Shared {
		t.Errorf("job of 2 CPUs: CPUs %d, Shared %v", fj.CPUs, fj.Shared)
	}
	ns := faceNodes([]burst.Machine{
		{ID: "a", State: burst.MachineRunning, CPUs: 2, Tasks: 5},
		{ID: "b", State: burst.MachineRunning, CPUs: 2},
		{ID: "c", State: burst.MachineRunning, CPUs: 2, Tasks: 2, Used: burst.Resources{CPUs: 2}},
	})
	for i, want := range []int{1, 0, 2} {
		if ns[i].UsedCPUs != want {
			t.Errorf("node %s: %d CPUs allocated, want %d", ns[i].Name, ns[i].UsedCPUs, want)
		}
	}
}

// TestFaceCommandHasArguments: a batch job's Command (scontrol show job,
// squeue %o and -O command) is its script and the script's arguments,
// joined by spaces, unquoted, as Slurm 22.05 printed
// "Command=/tmp/s46/a.sh x y z" for `sbatch /tmp/s46/a.sh x "y z"`;
// burst showed the script alone, so a job that resubmits itself from what
// scontrol says lost its arguments.
func TestFaceCommandHasArguments(t *testing.T) {
	spec := &burst.JobSpec{ScriptRef: "/tmp/s46/a.sh", Argv: []string{"x", "y z"}}
	if got := newFaceJobs(context.Background()).job(&burst.Job{ID: 5, User: "root", Spec: spec}).Command; got != "/tmp/s46/a.sh x y z" {
		t.Errorf("Command %q, want %q", got, "/tmp/s46/a.sh x y z")
	}
	spec = &burst.JobSpec{ScriptRef: "/tmp/s46/a.sh"}
	if got := newFaceJobs(context.Background()).job(&burst.Job{ID: 6, User: "root", Spec: spec}).Command; got != "/tmp/s46/a.sh" {
		t.Errorf("Command without arguments %q, want the script alone", got)
	}
}

// TestSqueueNodelistKnown: squeue -w names machines by their names or
// their hosts'; a name that is neither is refused, the first of them in
// the order given, as Slurm 22.05's squeue refused `-w c1,nosuch2`
// (`squeue: error: Invalid node name nosuch2`) and `-w c[1-3]` (`Invalid
// node name c3`), exit 1, where burst listed nothing and exited 0.
func TestSqueueNodelistKnown(t *testing.T) {
	ms := []burst.Machine{{ID: "local-1", Host: "vm"}, {ID: "local-2", Host: "vm"}, {ID: "work-1", Host: "ip-10-0-0-9"}}
	got, err := knownNodes(ms, "squeue", []string{"work-1", "vm"})
	if err != nil || len(got) != 3 || !got["local-1"] || !got["local-2"] || !got["work-1"] {
		t.Errorf("-w work-1 -w vm: %v, %v; want the three machines", got, err)
	}
	for list, bad := range map[string]string{"local-1,nosuch2": "nosuch2", "local-[1-3]": "local-3", "x,y": "x"} {
		_, err := knownNodes(ms, "squeue", []string{list})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 1 || ee.Msg != "squeue: error: Invalid node name "+bad {
			t.Errorf("-w %s: %v; want exit 1, squeue: error: Invalid node name %s", list, err, bad)
		}
	}
}
