package server

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/store"
)

// commit enqueues b under s.mu (which the caller holds) and returns a
// handle to wait on after unlocking.
func (s *Server) commit(b *batch) store.Pending {
	s.ui.bump(s.batchProjects(b)...)
	if b.empty() {
		return nil
	}
	tasks := b.tasks
	jobs := make([]store.JobRow, 0, len(b.jobs))
	for j := range b.jobs {
		jobs = append(jobs, j.row)
	}
	machines, projects, events := b.machines, b.projects, b.events
	outputs, outJobs, writes, uses := b.outputs, b.outJobs, b.writes, b.uses
	bytes := s.newBytes // the logs of the tasks whose ends it holds
	if len(bytes) > 0 {
		s.newBytes = map[[2]string]int64{}
	}
	var flush func(*store.Tx) error
	if len(machines) > 0 {
		// A machine changed state: what the meter charged it so far is
		// written with it (a stop's last charges are not left to a tick).
		flush = s.takeFlush()
	}
	return s.st.Enqueue(func(tx *store.Tx) error {
		for i := range projects {
			if err := store.SaveProject(tx, &projects[i]); err != nil {
				return err
			}
		}
		for i := range events {
			if err := store.AppendEvent(tx, &events[i]); err != nil {
				return err
			}
		}
		for i := range machines {
			if err := store.SaveMachine(tx, &machines[i]); err != nil {
				return err
			}
		}
		for i := range tasks {
			if err := store.SaveTask(tx, &tasks[i]); err != nil {
				return err
			}
		}
		for i := range outputs {
			if err := store.SaveOutputs(tx, outJobs[i], &outputs[i]); err != nil {
				return err
			}
		}
		for i := range jobs {
			if err := store.SaveJob(tx, &jobs[i]); err != nil {
				return err
			}
		}
		for _, u := range uses {
			if err := store.SaveCacheUse(tx, u.job, u.CacheUse); err != nil {
				return err
			}
		}
		for _, w := range writes {
			if err := w(tx); err != nil {
				return err
			}
		}
		for k, n := range bytes {
			if err := store.AddStorage(tx, k[0], k[1], n); err != nil {
				return err
			}
		}
		if flush != nil {
			return flush(tx) // after the machines: its marks are the latest
		}
		return nil
	})
}

// afterCommit tells waiters about the jobs in b and forgets finished ones.
// It takes s.mu.
func (s *Server) afterCommit(b *batch) {
	if len(b.jobs) == 0 && len(b.stops) == 0 && len(b.placed) == 0 && len(b.events) == 0 && len(b.wakes) == 0 {
		return
	}
	s.mu.Lock()
	now := time.Now().UTC()
	if len(b.events) > 0 {
		close(s.events)
		s.events = make(chan struct{})
	}
	var dropped batch
	s.committed(b, now, &dropped)
	if dropped.empty() {
		s.mu.Unlock()
		return
	}
	s.apply(&dropped) // unlocks
}

// apply commits b (s.mu held on entry, released on return) and runs its
// effects: those that need no commit (kills, halts, logs) as soon as the
// lock is released, the others (hand-overs, cancels, wakes, watchers) once
// b is durable. A write that failed (the server stopping under a full
// disk) returns its error and runs none of the effects that follow
// durability: what was never committed is never acknowledged (an agent
// keeps the events it reported and sends them again).
func (s *Server) apply(b *batch) error {
	n := s.countBatch(b) // for /metrics (metrics.go), under s.mu
	p := s.commit(b)
	s.mu.Unlock()
	enqueued := time.Now()
	s.outsideEffects(b)
	return s.settle(b, p, n, enqueued)
}

// applyHeld is apply for a user's cancel while the store holds writes for
// a full disk (disk.go): the agents hear of the cancel at once (stopsNow),
// so that a task can be stopped while the disk is full, and what follows
// durability runs in the background once the batch commits, in its turn
// behind the held writes (or fails, the server stopping). s.mu is held on
// entry, released on return.
func (s *Server) applyHeld(b *batch) {
	s.stopsNow(b)
	n := s.countBatch(b)
	p := s.commit(b)
	s.mu.Unlock()
	enqueued := time.Now()
	s.outsideEffects(b)
	s.background(func(context.Context) { s.settle(b, p, n, enqueued) })
}

// settle waits until b (enqueued as p) is durable and runs what follows:
// its durable work, then afterCommit.
func (s *Server) settle(b *batch, p store.Pending, n counted, enqueued time.Time) error {
	if p != nil {
		if err := p.Wait(); err != nil {
			s.storeFailed(err)
			return err
		}
	}
	durable := time.Now()
	n.durable, n.hasStore = durable.Sub(enqueued), p != nil
	n.add(s.metrics, durable)
	for _, f := range b.durable {
		f()
	}
	s.afterCommit(b)
	return nil
}

// outsideEffects runs what b asks of the world outside memory. It runs
// without s.mu.
func (s *Server) outsideEffects(b *batch) {
	for _, o := range b.kills {
		// Only a process started as that very task: the pid and its start
		// are the agent's word, which a joined machine could bend.
		if err := runner.KillTaskGroup(o.pid, o.pidStart, "BURST_JOB_ID="+strconv.FormatInt(o.ref.Job, 10),
			"BURST_TASK_ID="+strconv.Itoa(o.ref.Index), "BURST_ATTEMPT="+strconv.Itoa(o.ref.Attempt)); err == nil {
			s.log.Info("killed orphaned task", "job", o.ref.Job, "task", o.ref.Index, "pid", o.pid)
		}
	}
	for _, hl := range b.halts {
		if prov, err := s.providers.Get(hl.provider); err == nil {
			h := hl.h
			// Whatever is left of it (a hung agent, an allocation, a VM)
			// must not go on holding resources or costing money unmetered.
			s.background(func(ctx context.Context) { prov.Stop(ctx, h) })
		}
	}
	for _, l := range b.logs {
		s.log.Log(context.Background(), l.level, l.msg, l.args...)
	}
	if !b.wakeAt.IsZero() {
		s.wakeSchedulerAt(b.wakeAt)
	}
}

// machineLost is control's loseMachine now. Called with s.mu held.
func (s *Server) machineLost(m *machineRT, why string, b *batch) {
	s.loseMachine(m, why, time.Now().UTC(), b)
}

// storeFailed ends the server when the store refuses a write: memory has
// moved on and can no longer be trusted to match what is durable, and the
// only safe state to go on from is the store's. The next server (any CLI
// command starts one) recovers from it; agents keep running their tasks.
// A full disk is not such a refusal: the store holds the write until there
// is room (store/full.go), and answers it with an error only when it
// closes, the server stopping.
func (s *Server) storeFailed(err error) {
	if s.closing.Load() && (errors.Is(err, store.ErrClosed) || store.IsFull(err)) {
		// Stopping: the store was closed under a request whose answer
		// cannot reach anyone any more (see close). Any other failure
		// still ends the server at once, answering nobody.
		s.log.Info("a write came after the store closed; the server is stopping", "err", err)
		return
	}
	s.log.Error("the store refused a write; exiting so that the next server recovers from the store", "err", err)
	os.Exit(3)
}
