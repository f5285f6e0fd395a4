package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
)

// unlease puts what an unacknowledged lease held back in line, for an agent
// that registered again without having received it.
func (m *machineRT) unlease() {
	var back []*taskRT
	for _, t := range m.unacked {
		if t.row.State == burst.Running && !t.delivered {
			back = append(back, t)
		}
	}
	m.outbox = append(back, m.outbox...)
	m.cancels = append(m.unackedC, m.cancels...)
	m.unacked, m.unackedC, m.leaseSeq = nil, nil, 0
}

// takeWork builds a lease from what is unacknowledged and what is new.
// Called with s.mu held.
func (s *control) takeWork(m *machineRT) *client.Leased {
	var live []*taskRT
	for _, t := range m.unacked {
		if t.row.State == burst.Running && !t.delivered {
			live = append(live, t)
		}
	}
	m.unacked = append(live, m.outbox...)
	m.unackedC = append(m.unackedC, m.cancels...)
	m.outbox, m.cancels = nil, nil
	if len(m.unacked) == 0 && len(m.unackedC) == 0 {
		return nil
	}
	m.leaseSeq++
	out := &client.Leased{Seq: m.leaseSeq, Cancel: m.unackedC, Jobs: map[int64]*client.JobContext{}}
	for _, t := range m.unacked {
		out.Tasks = append(out.Tasks, s.assignment(t))
		if out.Jobs[t.row.JobID] == nil {
			out.Jobs[t.row.JobID] = s.jobContext(t.job)
		}
	}
	return out
}

// dropFromOutbox takes t out of its machine's outbox; false if it was not
// there (already leased, or not yet placed in it).
func (s *control) dropFromOutbox(t *taskRT) bool {
	ob := t.machine.outbox[:0]
	found := false
	for _, o := range t.machine.outbox {
		if o != t {
			ob = append(ob, o)
		} else {
			found = true
		}
	}
	t.machine.outbox = ob
	return found
}

// loseMachine marks every task of m lost (requeuing what may run again).
// Their processes, when they run on this host and are still identifiable
// by pid and start time, are killed (an effect, before the commit is
// waited for), and whatever is left of m is stopped by its provider.
func (s *control) loseMachine(m *machineRT, why string, now time.Time, b *batch) {
	s.x.accrue(m, now)
	for _, t := range m.sortedTasks() {
		if m.row.Host == s.host && t.row.PID > 0 {
			b.kills = append(b.kills, orphan{t.ref(), t.row.PID, t.row.PIDStart})
		}
		s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost, Reason: why}, now, b)
	}
	m.outbox, m.cancels, m.unacked, m.unackedC, m.leaseSeq = nil, nil, nil, nil, 0
	if m.row.State == burst.MachinePending && m.cluster != nil && !m.local {
		d := m.cluster.startFailed(now)
		why += fmt.Sprintf(" before it registered (see %s/%s.log); the cluster waits %s before starting another", s.agents, m.row.ID, d)
	}
	if !m.local && m.handle != (provider.Handle{}) {
		// Whatever is left of it (a hung agent, an allocation, a VM) must
		// not go on holding resources or costing money unmetered.
		b.halts = append(b.halts, m)
	}
	m.registered = false
	m.row.State = burst.MachineLost
	m.row.StoppedAt = &now
	b.machine(m)
	if !m.local {
		b.event(eventAt(now, "server", "machine.lost", m.row.Project, m.row.ID, m.row.ID+" lost: "+why))
	}
	b.wake(m)
	b.log(slog.LevelWarn, "machine lost", "machine", m.row.ID, "why", why)
}
