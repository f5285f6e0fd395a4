package server

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/burst-sh/burst"
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
	if err := s.identify(ctx); err != nil {
		return err
	}
	ms, err := s.st.ListMachines(ctx)
	if err != nil {
		return fmt.Errorf("load machines: %w", err)
	}
	var gone []*machineRT // stopped, terminated or lost: listed, not served
	for _, row := range ms {
		m := newMachineRT(*row)
		if c := s.clusters[row.Cluster]; c != nil && ofCluster(*row, c.def) {
			m.setCluster(c)
		}
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
	inputs := map[int64][][]string{}
	ahead := map[int64][]int{}
	runTimes := map[int64][]time.Duration{}
	for _, row := range jobs {
		if row.Spec.Map != nil {
			if inputs[row.ID], err = s.st.Inputs(ctx, row.ID); err != nil {
				return fmt.Errorf("load inputs of job %d: %w", row.ID, err)
			}
			if row.Spec.Map.TimeoutPct > 0 {
				// --timeout N%: the median goes on from the run times it had
				// (since its last resume).
				if runTimes[row.ID], err = s.st.RunTimes(ctx, row.ID, row.Spec.Map.TimeoutSinceUS); err != nil {
					return fmt.Errorf("load run times of job %d: %w", row.ID, err)
				}
			}
		}
		switch {
		case row.CancelRequested:
		case gated(row.Spec): // a map let through task by task: every task with a row is past its gate
			if ahead[row.ID], err = s.st.TasksAhead(ctx, row.ID, row.Dispatched); err != nil {
				return fmt.Errorf("load tasks of job %d: %w", row.ID, err)
			}
		case row.IDSpan > 1: // tasks of an array cancelled alone before their turn
			if ahead[row.ID], err = s.st.CancelledAhead(ctx, row.ID, row.Dispatched); err != nil {
				return fmt.Errorf("load cancelled tasks of job %d: %w", row.ID, err)
			}
		}
	}
	tasks, err := s.st.ActiveTasks(ctx)
	if err != nil {
		return fmt.Errorf("load tasks: %w", err)
	}
	var b batch
	now := time.Now().UTC()
	s.restore(jobs, inputs, ahead, tasks, now, &b)
	for id, ds := range runTimes {
		if j := s.jobs[id]; j != nil {
			for _, d := range ds {
				j.runTimes.Add(d)
			}
		}
	}
	var late []int64
	for _, j := range s.deps.held {
		late = append(late, s.unresolved(j)...)
	}
	s.learnEnded(s.endedStates(ctx, late)) // no agent nor request is served yet
	s.learnAllTasks(s.readTasks(ctx, s.unloaded()))
	for _, m := range gone {
		m.meterAt = time.Time{}
		if m.row.State == burst.MachineStopped && ofDeletedCluster(m) {
			// Stopped before its cluster was deleted, by a server that
			// left it so: it can never start again (startRefusal).
			m.row.State = burst.MachineTerminated
			b.machine(m)
		}
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

// identify records whose the store is before anything recorded in it is
// acted on (store.Claim). A store copied from another home takes a new
// home id and lets go of that home's jobs, tasks and machines in flight:
// they run there, and nothing here waits for, signals, stops or reruns
// them (`burst map --resume ID` runs a map here, on request). From here on the
// server signals only processes that carry its home id (runner.KillGroup,
// the local provider's Stop), and starts agents that carry it.
func (s *Server) identify(ctx context.Context) error {
	here, err := s.st.Here(s.realHome, s.host)
	if err != nil {
		return err
	}
	c, err := s.st.Claim(ctx, here, time.Now().UTC())
	if err != nil {
		return err
	}
	s.homeID = c.Identity.HomeID
	runner.SetIdentity(s.homeID, s.log)
	switch c.Verdict {
	case store.Copy:
		s.copyOf = c.Identity.CopiedHome
		s.log.Warn("this store is a copy of another home's: it took a new home id and touches nothing of that home",
			"copy_of", c.Identity.CopiedHome, "home_id", s.homeID, "was", c.Was.HomeID,
			"jobs_let_go", c.Detached.Jobs, "tasks_let_go", c.Detached.Tasks, "machines_let_go", c.Detached.Machines,
			"rerun", "burst map --resume ID runs one of those maps here; submit others again")
	case store.Moved:
		s.log.Info("the home moved: its store keeps its identity", "from", c.Was.Home, "to", c.Identity.Home, "home_id", s.homeID)
	default:
		s.log.Info("store identity", "home_id", s.homeID, "verdict", c.Verdict.String())
	}
	return nil
}

// logsAhead finds the logs of jobs the store does not have: a job's row is
// committed before any of its tasks writes a log, so logs of a job above
// the store's highest id mean the store lost what it had recorded (its
// state.db-wal cut, damaged or removed: SQLite drops a WAL from its first bad
// frame; an older or empty state.db put in its place).
// SQLite reads such a store as whole: nothing else tells. Those jobs'
// logs are moved aside (their ids will be given again, and their logs must
// not become a new job's), and the loss is said: in server.log, and by the
// command that started this server (server.json's store_behind).
func (s *Server) logsAhead(ctx context.Context) error {
	dir := filepath.Join(string(s.home), "logs-ahead-of-store-"+time.Now().UTC().Format("20060102T150405Z"))
	dir, ids, err := store.MoveLogsAbove(ctx, s.home.DB(), s.home.Logs(), dir)
	if err != nil {
		// A check, not a condition to serve: said, and the server starts.
		s.log.Warn("the store was not checked against the logs of its jobs (a store that lost jobs would give their ids again): "+
			"see that "+s.home.Logs()+" and its folders can be read and moved", "err", err)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	jobs := fmt.Sprintf("job %d", ids[0])
	if len(ids) > 1 {
		jobs = fmt.Sprintf("jobs %d to %d (%d with logs)", ids[0], ids[len(ids)-1], len(ids))
	}
	s.behind = fmt.Sprintf("the store %s lacks %s, whose logs are in %s: it lost what was recorded from their submission on "+
		"(it was emptied, its -wal file cut, damaged or removed, or an older copy put in its place, while no server ran). "+
		"Their ids will be given again; their logs are kept in %s. "+
		"If you have a newer copy of the store: burst server stop, then burst server restore FILE",
		s.home.DB(), jobs, s.home.Logs(), dir)
	s.log.Error("store behind its logs: jobs lost", "jobs", len(ids), "first", ids[0], "last", ids[len(ids)-1], "logs_kept_in", dir, "what", s.behind)
	return nil
}
