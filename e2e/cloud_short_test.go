package e2e

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// A map of short tasks on a cloud cluster of three machines (instances of
// the EC2 stand-in, a test double, run as namespace hosts): once the map
// is known to be of short tasks (its first ten end at once), the server
// queues its tasks ahead at the agents, and spreads that queue over the
// three machines. Before, the first machine to free up was handed the
// whole rest of the map (up to 32 tasks): it ran them two at a time while
// the other two had nothing to do (and a cluster's --idle-stop stopped
// them). The held tasks here show where each runs: every wave of six runs
// two on each machine.
func TestCloudMapShortSpreads(t *testing.T) {
	t.Parallel()
	const fast, heldN = 10, 18 // fewer than one machine's prefetch (32) in all
	s := startStandin(t, true)
	h := awsServer(t, s, "")
	h.mustRun("cluster", "create", "c", "--provider", "aws", "--type", "m5.large", "--min", "3", "--max", "3",
		"--image", standinImage)
	h.waitFor("3 machines of c to run", 120*time.Second, func() bool {
		return countState(h.machines("c"), burst.MachineRunning) == 3
	})

	w := newWitness(t)
	// The first tasks end at once (so the map is of short tasks); the
	// others tell the witness where they run and wait to be let go.
	script := "case \"$1\" in fast*) exit 0;; esac\n" + w.reportScript(`read -r code <&3 || exit 98
exit "$code"`)
	args := []string{"map", "-d", "--quiet", "--on", "c", "--cpus", "1", "--retries", "0", "--", "bash", "-c", script, "_", "{}", ":::"}
	for i := range fast {
		args = append(args, fmt.Sprintf("fast-%d", i))
	}
	for i := range heldN {
		args = append(args, fmt.Sprintf("held-%d", i))
	}
	id := mustID(t, h.mustRun(args...).stdout)
	per := map[string]int{} // held tasks running on each machine, as last seen
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("held tasks per machine, as last seen: %v", per)
			t.Logf("--- machines:\n%s\n--- job:\n%s", h.run("machine", "list").stdout, h.run("show", "--tasks", "30", idArg(id)).stdout)
		}
	})

	released := map[*witnessRun]bool{}
	held := func() []*witnessRun { return heldRuns(w, id, released) }
	// The first wave: two held tasks on each machine.
	var rs []*witnessRun
	h.waitFor("6 held tasks to run, two on each of the 3 machines", 30*time.Second, func() bool {
		rs = held()
		clear(per)
		for _, r := range rs {
			per[r.Host]++
		}
		return len(rs) == 6 && len(per) == 3 && !slices.ContainsFunc(rs, func(r *witnessRun) bool { return per[r.Host] != 2 })
	})
	t.Logf("the first wave of held tasks runs on %v", per)
	// The rest: let each go as it shows up, until the map is done.
	for {
		for _, r := range rs {
			r.release(t, 0)
			released[r] = true
		}
		done := false
		h.waitFor("a held task to run, or the map to end", 30*time.Second, func() bool {
			rs = held()
			done = len(rs) == 0 && terminal(h.showTasks(id, 1).State)
			return len(rs) > 0 || done
		})
		if done {
			break
		}
	}
	ranOn := map[string]int{}
	for _, r := range w.runsOf(id) {
		ranOn[r.Host]++
	}
	t.Logf("held tasks ran per machine: %v", ranOn)
	if len(ranOn) != 3 || slices.ContainsFunc(slices.Collect(maps.Values(ranOn)), func(n int) bool { return n < heldN/3-2 }) {
		t.Errorf("the %d held tasks ran %v; want them spread over the 3 machines, at least %d on each", heldN, ranOn, heldN/3-2)
	}
	h.waitFor("the map to succeed", 60*time.Second, func() bool {
		return h.showTasks(id, 1).State == "succeeded" && h.showTasks(id, 1).Tasks.Succeeded == fast+heldN
	})
}

// heldRuns is the runs of job the witness has seen that were not released
// and have not ended.
func heldRuns(w *witness, job int64, released map[*witnessRun]bool) []*witnessRun {
	var out []*witnessRun
	for _, r := range w.runsOf(job) {
		if !released[r] && !r.hasEnded() {
			out = append(out, r)
		}
	}
	return out
}
