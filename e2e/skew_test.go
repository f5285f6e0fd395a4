package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// skewTask is a task of `burst show -o json --tasks N` with its times.
type skewTask struct {
	Index     int        `json:"index"`
	State     string     `json:"state"`
	Machine   string     `json:"machine"`
	StartedAt *time.Time `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	CostUSD   float64    `json:"cost_usd"`
}

// Agents whose clocks are five minutes behind and ahead of the server's
// (the test hook BURST_TEST_CLOCK_SKEW: test hosts share this host's
// realtime clock) run the same map as an agent whose clock agrees. The
// server judges by its own clock: every task's start and end lie between
// the submission and the end of the wait as the server (and this test)
// see them, its duration is what it ran, and its cost is what the same
// task costs on the agent with the right clock (not a skew charged, nor
// given back as if the server had been out).
func TestClockSkewedAgentsMap(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	agents := []struct {
		host          int
		machine, skew string
	}{
		{1, "skew-none", ""},
		{1, "skew-behind", "-5m"},
		{2, "skew-ahead", "+5m"},
	}
	for _, a := range agents {
		h.mustRun("cluster", "create", a.machine, "--provider", "joined", "--project", "default")
		if a.skew != "" {
			h.setEnv("BURST_TEST_CLOCK_SKEW", a.skew)
		}
		ag := h.startHostAgent(a.host, "--machine", a.machine, "--cluster", a.machine, "--cpus", "2")
		h.setEnv("BURST_TEST_CLOCK_SKEW", "")
		h.waitRegistered(ag)
	}

	const n = 3
	type ran struct {
		tasks    []skewTask
		from, to time.Time
		cost     float64
	}
	runs := map[string]ran{}
	for _, a := range agents {
		from := time.Now()
		c := h.command("map", "-d", "--on", a.machine, "--", "sleep", "{}", ":::", "1", "1", "1")
		c.Dir = "/"
		r := h.exec(c)
		id, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
		if r.code != 0 || err != nil {
			t.Fatalf("map -d on %s: want the job id:\n%s", a.machine, r)
		}
		if r := h.run("wait", idArg(id)); r.code != 0 {
			t.Fatalf("the map on %s:\n%s", a.machine, r)
		}
		to := time.Now()
		out := h.mustRun("show", "-o", "json", "--tasks", strconv.Itoa(n), idArg(id))
		var j struct {
			TaskList []skewTask `json:"task_list"`
		}
		if err := json.Unmarshal([]byte(out.stdout), &j); err != nil || len(j.TaskList) != n {
			t.Fatalf("show -o json --tasks %d %d: %v\n%s", n, id, err, out)
		}
		rn := ran{tasks: j.TaskList, from: from, to: to}
		for _, task := range j.TaskList {
			rn.cost += task.CostUSD
		}
		runs[a.machine] = rn
	}

	// The slack: the test's clock read just before submitting and just
	// after the wait; a second either side for the times' rounding.
	const slack = time.Second
	for _, a := range agents {
		rn := runs[a.machine]
		row := faultRow{Fault: fmt.Sprintf("agent clock %s off the server's (map of %d)", strings.TrimPrefix(a.skew, "+"), n), Tasks: n}
		if a.skew == "" {
			row.Fault = ""
		}
		for _, task := range rn.tasks {
			if task.State != "succeeded" || task.Machine != a.machine {
				row.FailedWrongly++
				t.Errorf("%s: task %d is %s on %s, want succeeded on %s", a.machine, task.Index, task.State, task.Machine, a.machine)
				continue
			}
			if task.StartedAt == nil || task.EndedAt == nil {
				t.Errorf("%s: task %d has no start or end time: %+v", a.machine, task.Index, task)
				continue
			}
			s, e := *task.StartedAt, *task.EndedAt
			if s.Before(rn.from.Add(-slack)) || e.After(rn.to.Add(slack)) {
				t.Errorf("%s (clock %s): task %d ran %s to %s by the server's records, outside its job's time here (%s to %s)",
					a.machine, a.skew, task.Index, s.Format(time.TimeOnly), e.Format(time.TimeOnly), rn.from.Format(time.TimeOnly), rn.to.Format(time.TimeOnly))
			}
			// Its start and its end may come in two reports, each read
			// against its own send time: they may differ by the network's
			// delay (milliseconds), not by the skew.
			if d := e.Sub(s); d < 900*time.Millisecond || d > rn.to.Sub(rn.from)+slack {
				t.Errorf("%s (clock %s): task %d lasted %s by the server's records; it slept 1 s", a.machine, a.skew, task.Index, d)
			}
			if task.CostUSD <= 0 {
				t.Errorf("%s (clock %s): task %d cost %g; want what it ran (a positive share of its machine)", a.machine, a.skew, task.Index, task.CostUSD)
			}
		}
		if right := runs["skew-none"].cost; a.skew != "" && (rn.cost < right/2 || rn.cost > right*2) {
			t.Errorf("%s (clock %s): the map cost $%.9f; the same map on the agent with the right clock cost $%.9f", a.machine, a.skew, rn.cost, right)
		}
		if row.Fault != "" {
			recordFault(t, row)
		}
	}
}
