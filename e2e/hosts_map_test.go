package e2e

import (
	"fmt"
	"strconv"
	"testing"
)

// A map of 200 tasks over agents on two hosts that share nothing with the
// server: every task runs once, on one of the two, in that host (the host
// name it reports is its machine's host), and ends with its own exit
// status; the job counts them right and `burst map` exits as GNU parallel
// does (man parallel, EXIT STATUS: "1-100 Some of the jobs failed. The exit
// status gives the number of failed jobs"), compared with the real tool.
// Outputs are not asked for: they are written on the hosts, and reach the
// server once the agent protocol carries logs back.
func TestHostsMap(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	w := newWitness(t)
	h.mustRun("cluster", "create", "hostmap", "--provider", "joined")
	agents := map[string]*hostAgent{}
	for _, i := range []int{1, 2} {
		a := h.startHostAgent(i, "--machine", fmt.Sprintf("bh%d-map", i), "--cluster", "hostmap", "--cpus", "2")
		agents[a.machine] = a
	}
	for _, a := range agents {
		h.waitRegistered(a)
	}
	const n = 200
	// Inputs divisible by 5 fail with status 7: 40 of the 200.
	exit := `exit $(( $1 % 5 == 0 ? 7 : 0 ))`
	args := []string{"map", "--on", "hostmap", "--quiet", "--", "bash", "-c", w.reportScript(exit), "_", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	c := h.command(args...)
	c.Dir = "/" // the job's working directory must exist on the hosts (no private one yet)
	r := h.exec(c)
	if r.code != 40 {
		t.Errorf("burst map exited %d, want 40 (the number of failed tasks)\n%s", r.code, r)
	}
	id := jobIDFrom(t, r)
	j := h.showTasks(id, n)
	if j.State != "failed" || j.Tasks.Total != n || j.Tasks.Succeeded != 160 || j.Tasks.Failed != 40 {
		t.Errorf("job %d: %s, tasks %+v; want failed, 200 = 160 succeeded + 40 failed", id, j.State, j.Tasks)
	}
	if len(j.TaskList) != n {
		t.Fatalf("job %d lists %d tasks, want %d", id, len(j.TaskList), n)
	}
	runs := map[int][]*witnessRun{}
	for _, run := range w.runsOf(id) {
		runs[run.Task] = append(runs[run.Task], run)
	}
	perMachine := map[string]int{}
	for _, task := range j.TaskList {
		input := task.Index + 1
		want := 0
		if input%5 == 0 {
			want = 7
		}
		if task.ExitCode == nil || *task.ExitCode != want {
			got := "none"
			if task.ExitCode != nil {
				got = strconv.Itoa(*task.ExitCode)
			}
			t.Errorf("task %d (input %d): exit status %s, want %d (%s: %s)", task.Index, input, got, want, task.State, task.Reason)
		}
		a := agents[task.Machine]
		if a == nil {
			t.Errorf("task %d ran on %q, not on a host's machine", task.Index, task.Machine)
			continue
		}
		perMachine[task.Machine]++
		rs := runs[task.Index]
		switch {
		case len(rs) == 0:
			t.Errorf("task %d (on %s) never reported to the witness", task.Index, task.Machine)
		case len(rs) > 1 || task.Attempt != 1:
			t.Errorf("task %d ran %d times (attempt %d), want once", task.Index, len(rs), task.Attempt)
		case rs[0].Host != fmt.Sprintf("bh%d", a.host) || rs[0].Input != strconv.Itoa(input):
			t.Errorf("task %d: burst says it ran on %s (host bh%d), the task says on %s with input %s (want %d)",
				task.Index, task.Machine, a.host, rs[0].Host, rs[0].Input, input)
		}
	}
	for m := range agents {
		if perMachine[m] == 0 {
			t.Errorf("no task ran on %s: %v", m, perMachine)
		}
	}
	t.Logf("tasks per machine: %v", perMachine)

	// The same command and inputs under GNU parallel exit the same way.
	pargs := []string{"-q", "bash", "-c", exit, "_", "{}", ":::"}
	for i := 1; i <= n; i++ {
		pargs = append(pargs, strconv.Itoa(i))
	}
	if p := parallelRun(t, t.TempDir(), nil, pargs...); p.code != r.code {
		t.Errorf("GNU parallel exited %d, burst map on the hosts %d", p.code, r.code)
	}
}
