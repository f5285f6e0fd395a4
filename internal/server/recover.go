package server

import (
	"context"
	"fmt"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
)

// adoptGrace is how long an agent that outlived a server restart has to
// register again before its tasks are given up as lost.
const adoptGrace = 10 * time.Second

// recover loads active jobs, their tasks and the machines from the store.
// Tasks recorded as running stay running on their machine: the machine's
// agent, if it still lives, registers again and keeps them; otherwise they
// are lost and requeued. Nothing stays running forever.
func (s *Server) recover(ctx context.Context) error {
	ms, err := s.st.ListMachines(ctx)
	if err != nil {
		return fmt.Errorf("load machines: %w", err)
	}
	var gone []*machineRT // stopped, terminated or lost: listed, not served
	for _, row := range ms {
		m := newMachineRT(*row)
		m.cluster = s.clusters[row.Cluster]
		m.handle = provider.RestoreHandle(row.Handle, row.AgentPID, row.AgentStart)
		m.gpuShare = s.catalog.GPUShare(row.CPUs, len(row.GPUs))
		m.idleSince = time.Now()
		m.startedBy = time.Now() // a pending machine gets its full time to register
		// A machine a person stopped stays stopped across the restart: the
		// autoscaler reads manual (scale.Plan).
		m.manual = row.StoppedBy != ""
		if row.MeteredUntil != nil {
			m.meterAt = *row.MeteredUntil // the meter goes on from its last mark
			m.flushedAt = m.meterAt
		}
		s.machines[row.ID] = m
		if !live(row.State) && row.ID != localMachine {
			gone = append(gone, m)
		}
	}
	jobs, err := s.st.ActiveJobs(ctx)
	if err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	for _, row := range jobs {
		j := newJobRT(*row)
		if row.Spec.Map != nil {
			if j.sources, err = s.st.Inputs(ctx, row.ID); err != nil {
				return fmt.Errorf("load inputs of job %d: %w", row.ID, err)
			}
		}
		if row.IDSpan > 1 && !row.CancelRequested { // tasks of an array cancelled alone before their turn
			idx, err := s.st.CancelledAhead(ctx, row.ID, row.Dispatched)
			if err != nil {
				return fmt.Errorf("load cancelled tasks of job %d: %w", row.ID, err)
			}
			for _, i := range idx {
				if j.skip == nil {
					j.skip = map[int]bool{}
				}
				j.skip[i] = true
			}
		}
		s.jobs[row.ID] = j
		s.order = append(s.order, row.ID)
	}
	tasks, err := s.st.ActiveTasks(ctx)
	if err != nil {
		return fmt.Errorf("load tasks: %w", err)
	}
	var b batch
	now := time.Now().UTC()
	var orphans []*taskRT
	for _, row := range tasks {
		j := s.jobs[row.JobID]
		if j == nil {
			continue // job already final: a stale row
		}
		if row.State == burst.Queued {
			j.requeueTask(*row)
			continue
		}
		m := s.machines[row.Machine]
		t := &taskRT{row: *row, job: j, delivered: true, cancel: j.row.CancelRequested || row.CancelRequested, started: row.StartedAt != nil}
		j.running[row.Index] = t
		if m == nil {
			m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: row.Machine, State: "lost"}})
			t.machine = m
			orphans = append(orphans, t)
			continue
		}
		t.machine = m
		m.tasks[taskKey{row.JobID, row.Index}] = t
		if p := s.projects[j.row.Project]; p != nil && p.row.Exhausted && !j.row.CancelRequested {
			t.preempt = "budget of project " + p.row.Name + " spent" // it was being stopped: requeue it when it ends
		}
	}
	// Running counts are recomputed from what memory holds.
	for _, j := range s.jobs {
		n := 0
		for _, t := range j.running {
			if t.started {
				n++
			}
		}
		if j.row.Tasks.Running != n {
			j.row.Tasks.Running = n
			b.job(j)
		}
	}
	for _, t := range orphans {
		s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost, Reason: "its machine is gone"}, now, &b)
	}
	for _, m := range gone {
		m.meterAt = time.Time{}
	}
	for _, m := range s.machines {
		if !live(m.row.State) && m.row.ID != localMachine {
			continue
		}
		if m.cluster != nil && !m.cluster.caps().Agent && !m.cluster.def.BuiltIn {
			// A machine without an agent (an elastic Slurm node's slurmd)
			// lives while its provider says so.
			if prov := s.machineProvider(m); prov != nil && prov.Alive(ctx, m.handle) && m.row.State != burst.MachineStopping {
				continue
			}
		}
		if m.row.State == burst.MachineStopping {
			// The server died while stopping it: finish the stop.
			if prov := s.machineProvider(m); prov != nil {
				prov.Stop(ctx, m.handle)
			}
			s.machineGone(m, false, now, &b)
			continue
		}
		if m.row.AgentPID > 0 && m.row.Host == s.host && runner.Alive(m.row.AgentPID, m.row.AgentStart) {
			m.waitUntil = now.Add(adoptGrace)
			s.log.Info("agent outlived the server; waiting for it to register", "machine", m.row.ID, "pid", m.row.AgentPID)
			continue
		}
		if prov := s.machineProvider(m); prov != nil && m.row.State == burst.MachinePending && prov.Alive(ctx, m.handle) {
			m.waitUntil = now.Add(pendingLimit) // started, not yet registered
			continue
		}
		if m.row.Host != s.host && m.row.Host != "" {
			m.waitUntil = now.Add(3 * adoptGrace) // remote agents retry on their own
			continue
		}
		// When it died is unknown: the meter stops at its last mark rather
		// than charge the time the server was down.
		m.meterAt = time.Time{}
		s.machineLost(m, "agent on "+m.row.ID+" is gone", &b)
	}
	s.mu.Lock()
	err = s.apply(&b)
	return err
}
