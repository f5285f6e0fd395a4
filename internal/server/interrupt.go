package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// Spot interruptions. A spot machine is lost with notice: its agent
// (burst agent --spot-notice aws) reads the notice from the instance
// metadata and tells the server (Interrupted) at once. The server then,
// in one batch:
//
//   - requeues every task of the machine as preempted: not counted
//     against --retries (endTask's preempt rule), nor --max-failures;
//     their reason says "attempt N preempted (spot interruption on M)";
//   - charges the machine's time up to now (the meter goes on charging it,
//     idle, until it is gone: its time is charged once) and books what
//     the cut attempts had cost as lost to preemption (ledger kind
//     "preemption", per project: bookPreemption);
//   - marks the machine interrupted (Machine.Interrupted, the notice's
//     time) and stopping: it takes no task, no longer counts towards its
//     cluster's --max, and is stopped through its provider when the
//     notice's time comes (endInterrupted);
//   - asks the autoscaler for a replacement, which sees the requeued
//     demand; the start of the replacement says spot or on-demand and why
//     (cost.Replace over the project's forecast).

// interruptedWhy is the reason of what a spot interruption of m stops.
func interruptedWhy(m *machineRT) string { return "spot interruption on " + m.row.ID }

// Interrupted applies a spot interruption notice an agent read from its
// instance metadata. A notice told again (an agent's retry) changes
// nothing.
func (s *Server) Interrupted(ctx context.Context, n *client.Interruption) (*client.Interrupted, error) {
	if err := n.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	if err := s.refuseAgent(n.Machine); err != nil {
		return nil, err
	}
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	out, err := s.interrupt(n, now, &b)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	s.kickScale()     // the replacement: within a second, not at the next tick
	s.kickScheduler() // the requeued tasks, on machines that have room now
	return out, nil
}

// interrupt is the rule behind Interrupted. Called with s.mu held.
func (s *Server) interrupt(n *client.Interruption, now time.Time, b *batch) (*client.Interrupted, error) {
	m := s.machines[n.Machine]
	switch {
	case m == nil:
		return nil, s.noMachine(n.Machine)
	case m.row.Interrupted != nil:
		return &client.Interrupted{Machine: m.row.ID, Until: *m.row.Interrupted}, nil // told again
	case m.local:
		return nil, badRequest("machine %s is this host, which no spot market takes away: run burst agent --spot-notice on spot machines only", m.row.ID)
	case m.row.State != burst.MachineRunning:
		return nil, badRequest("machine %s is %s: a spot interruption notice changes nothing", m.row.ID, m.row.State)
	}
	until := n.Time.UTC()
	if until.Before(now) {
		until = now // a notice read late: the machine goes now
	}
	s.accrue(m, now) // its time so far, split among what ran, before they go
	why := interruptedWhy(m)
	m.row.Interrupted = &until
	requeued := 0
	for _, t := range m.sortedTasks() {
		t.preempt = why
		if !t.delivered {
			s.dropFromOutbox(t)
		}
		s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: why}, now, b)
		s.bookPreemption(t, now)
		if t.row.State == burst.Queued {
			requeued++
		}
	}
	m.outbox, m.unacked = nil, nil
	m.stopWhy = why
	m.row.State = burst.MachineStopping // taking nothing, charged until it is gone
	m.poke()
	b.machine(m)
	b.event(eventAt(now, "server", "machine.interrupted", m.row.Project, m.row.ID,
		fmt.Sprintf("%s: spot interruption notice (%s at %s): %s requeued as preempted", m.row.ID, n.Action, until.Format(time.RFC3339), burst.Plural(requeued, "task"))))
	if c := m.cluster; c != nil && !c.def.BuiltIn {
		c.replacing = append(c.replacing, m.row.ID)
	}
	return &client.Interrupted{Machine: m.row.ID, Until: until, Requeued: requeued}, nil
}

// notePreempted records that an attempt of task idx was cut short by a
// spot interruption and returns what its reasons say of it from now on.
func (j *jobRT) notePreempted(idx int, what string) string {
	if j.preempted == nil {
		j.preempted = map[int]string{}
	}
	if p := j.preempted[idx]; p != "" {
		what = p + ", " + what
	}
	j.preempted[idx] = what
	return what
}

// preemptedIn is what the reason of a task requeued after spot
// interruptions says of them (notePreempted's words), "" if none: a
// server that starts again takes it back, so that the attempt that ends
// the task still says it.
func preemptedIn(reason string) string {
	what, ok := strings.CutSuffix(reason, "; requeued")
	if !ok || !strings.HasPrefix(what, "attempt ") || !strings.Contains(what, " preempted (") {
		return ""
	}
	return what
}

// bookPreemption moves what t's attempt was charged from the task's line
// of the ledger to the project's loss to preemption: the machine's time
// stays charged once, and what bought nothing says so. Called with s.mu
// held, once t has left its machine.
func (s *Server) bookPreemption(t *taskRT, now time.Time) {
	n := cost.NUSD(t.nusd)
	if n <= 0 {
		return
	}
	j, m := t.job, t.machine
	day := now.UTC().Format("2006-01-02")
	s.charge(store.CostKey{Day: day, Project: j.row.Project, Machine: m.row.ID, User: j.row.User, Job: j.row.ID, Kind: "task"}, -n)
	s.charge(store.CostKey{Day: day, Project: j.row.Project, Machine: m.row.ID, User: j.row.User, Kind: "preemption"}, n)
}

// endInterrupted stops, through their providers, the interrupted machines
// whose notice's time has come (a cloud takes them then anyway; the
// provider's stop makes sure, and the meter stops once it is done).
// Called with s.mu held.
func (s *Server) endInterrupted(now time.Time, b *batch) {
	for _, m := range s.sortedMachines() {
		if m.row.Interrupted != nil && m.row.State == burst.MachineStopping && m.registered && !now.Before(*m.row.Interrupted) {
			s.stopMachine(m, m.stopWhy, "server", true, b)
		}
	}
}

// interrupted reports whether m was interrupted and is not gone yet: it
// no longer counts towards its cluster's --max.
func interrupted(m *machineRT) bool {
	return m.row.Interrupted != nil && live(m.row.State)
}

// replacement is how the autoscaler's next start in c replaces one of its
// interrupted machines, if one waits for it: spot or on demand, and why
// (cost.Replace); ok is false when none waits. Those whose machine is
// gone are forgotten. Called with s.mu held.
func (s *Server) replacement(c *clusterRT, now time.Time) (r cost.Replacement, ok bool) {
	for len(c.replacing) > 0 {
		id := c.replacing[0]
		c.replacing = c.replacing[1:]
		if m := s.machines[id]; m == nil || !interrupted(m) {
			continue
		}
		ask := cost.ReplaceAsk{Machine: id, Fallback: c.def.Fallback == burst.FallbackOnDemand}
		if p := s.projects[c.def.Project]; p != nil && ask.Fallback {
			in := s.forecastInput(p, now)
			in.Machines = append(in.Machines, cost.RunningMachine{Cluster: c.def.Name, PerHour: c.typ.Price(false),
				IdleStop: time.Duration(c.def.IdleStopS) * time.Second, IdleSince: now})
			ask.Budget, ask.OnDemandForecast = p.budget().Amount, cost.Forecasting(in).NUSD
		}
		return cost.Replace(ask), true
	}
	return cost.Replacement{}, false
}
