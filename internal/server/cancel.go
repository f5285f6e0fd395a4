package server

import (
	"context"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// Cancel cancels a job's waiting tasks and asks agents to stop its running
// ones. Cancelling a finished job is not an error.
//
// While the store holds writes for a full disk (disk.go) a cancel is not
// refused, as the user's other writes are: its task may be what fills the
// disk. The agents hear of it at once and the cancel is recorded once the
// store can write again; the answer says so (Held, served as 202). So
// too while the filesystem is below the threshold of new work: the cancel's
// own write may be the first to meet the full disk, and its stops must not
// wait for that write to be held and then for room (cancelHold).
func (s *Server) Cancel(ctx context.Context, id int64) (*client.CancelResult, error) {
	return s.cancelBy(ctx, id, s.cancelJob)
}

// CancelWaiting cancels a job's tasks that have not started and lets those
// that have run on (scancel -t PENDING of an array that runs some of its
// tasks). Cancelling a finished job is not an error.
func (s *Server) CancelWaiting(ctx context.Context, id int64) (*client.CancelResult, error) {
	return s.cancelBy(ctx, id, s.cancelWaiting)
}

// cancelBy applies a cancel of job id made by cancel (one of control's:
// the whole job, or its tasks not yet started) for the caller.
func (s *Server) cancelBy(ctx context.Context, id int64, cancel func(int64, string, time.Time, *batch) (burst.State, bool)) (*client.CancelResult, error) {
	held := s.cancelHold()
	s.mu.Lock()
	var b batch
	state, ok := cancel(id, actorFrom(ctx), time.Now().UTC(), &b)
	if !ok {
		s.mu.Unlock()
		row, err := s.readJob(ctx, id)
		if err != nil {
			return nil, err
		}
		return &client.CancelResult{ID: id, State: row.State, AlreadyFinished: row.State.Terminal()}, nil
	}
	return s.applyCancel(&b, held, &client.CancelResult{ID: id, State: state})
}

// Requeue stops task idx of job id and runs it again from the start, its
// attempt not counted against --retries (scontrol requeue).
func (s *Server) Requeue(ctx context.Context, id int64, idx int, hold bool) error {
	s.mu.Lock()
	var b batch
	now, actor := time.Now().UTC(), actorFrom(ctx)
	if err := s.requeueTask(id, idx, actor, now, &b); err != nil {
		s.mu.Unlock()
		return err
	}
	if hold { // in the same batch: the task cannot start again unheld in between
		by := holder{admin: auth.SeesAll(auth.From(ctx)), requeue: true}
		if err := s.holdJob(id, true, by, actor, now, &b); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	return s.apply(&b)
}

// CancelTask cancels one task of a job (one task of a job array, named by
// its own id, as scancel does): a running one is stopped, a waiting one never
// starts; the rest of the job goes on.
func (s *Server) CancelTask(ctx context.Context, id int64, idx int) (*client.CancelResult, error) {
	held := s.cancelHold()
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	res, err := s.cancelTask(id, idx, actorFrom(ctx), now, &b)
	switch {
	case err != nil:
		s.mu.Unlock()
		return nil, err
	case res == nil: // the job as a whole has ended or is ending
		s.mu.Unlock()
		return s.Cancel(ctx, id)
	case res.AlreadyFinished:
		s.mu.Unlock()
		if res.State == "" { // it has ended: its row says how
			res.State = "ended"
			if row, err := s.st.GetTask(ctx, id, idx); err == nil {
				res.State = row.State
			}
		}
		return res, nil
	}
	return s.applyCancel(&b, held, res)
}

// cancelHold says why a cancel is not to wait for its commit before its
// stops go out: the store holds writes for a full disk, or the filesystem
// has less free than new work needs (lowForCancel: read now, outside the
// lock); nil when neither.
func (s *Server) cancelHold() error {
	if err := s.st.Full(); err != nil {
		return err
	}
	return s.lowForCancel()
}

// applyCancel applies a cancel's batch (s.mu held on entry, released on
// return) and answers res: once it is durable, or, while the store holds
// writes for a full disk (held), at once, its stops sent to the agents
// and the answer saying when it will be recorded.
func (s *Server) applyCancel(b *batch, held error, res *client.CancelResult) (*client.CancelResult, error) {
	if held == nil {
		if err := s.apply(b); err != nil {
			return nil, err
		}
		return res, nil
	}
	s.applyHeld(b)
	if store.IsFull(held) {
		res.Held = "its running tasks were told to stop now; the cancel is recorded once the store can write again: " + s.noSpace(held).Error()
	} else {
		res.Held = "its running tasks were told to stop now; the disk is nearly full, and the cancel is recorded as soon as the store can write it: " + held.Error()
	}
	return res, nil
}

// Signal sends sig to job id's running tasks (task idx alone when idx >=
// 0), to the processes scope names, through their agents' next lease
// (scancel --signal): once, as Slurm sends it, with no record. The answer
// counts the tasks signalled; none when the job runs no task now (ended,
// or waiting: AlreadyFinished says which).
func (s *Server) Signal(ctx context.Context, id int64, idx int, sig int, scope client.SignalScope) (*client.SignalResult, error) {
	if sig < 1 || sig > 64 {
		return nil, badRequest("signal %d: give a signal's number, 1 to 64 (e.g. 10, SIGUSR1 on Linux)", sig)
	}
	switch scope {
	case client.SignalSteps, client.SignalBatch, client.SignalAll:
	default:
		return nil, badRequest("scope %q: give steps, batch or all", scope)
	}
	return s.sendSignal(ctx, id, idx, client.TaskSignal{Signal: sig, Scope: scope})
}

// maxNotify bounds a message of scontrol notify (Slurm's own RPC takes
// any; a line of an error file needs no more).
const maxNotify = 4096

// Notify writes msg into the error file of job id's task idx, running a
// batch script, as slurmstepd writes what `scontrol notify` sends
// ("slurmstepd: error: MSG"), through its agent's next lease, once. The
// answer counts the tasks told: none when the task waits (Slurm refuses
// that) or has ended (AlreadyFinished when the job has).
func (s *Server) Notify(ctx context.Context, id int64, idx int, msg string) (*client.SignalResult, error) {
	if msg == "" || len(msg) > maxNotify || strings.ContainsAny(msg, "\n\r") {
		return nil, badRequest("a notify's message is one line of 1 to %d bytes", maxNotify)
	}
	s.mu.Lock()
	var spec *burst.JobSpec
	if j := s.jobs[id]; j != nil {
		spec = j.row.Spec
	}
	s.mu.Unlock()
	var ended *store.JobRow // read once: a job the server no longer holds
	if spec == nil {
		row, err := s.readJob(ctx, id)
		if err != nil {
			return nil, err
		}
		spec, ended = row.Spec, row
	}
	if spec == nil || !spec.SbatchFiles() {
		// Its task writes no error file of its own: a notify would be told
		// delivered and be written nowhere.
		return nil, badRequest("job %d is not a batch script writing its own output files (sbatch -o/-e): scontrol notify writes into those; "+
			"its output is in burst logs %d", id, id)
	}
	if ended != nil {
		return notLive(ended), nil
	}
	return s.sendSignal(ctx, id, idx, client.TaskSignal{Scope: client.SignalBatch, Message: msg})
}

// notLive is the answer to a signal or a notify of a job the server does
// not hold live: nothing signalled, and whether the job has ended.
func notLive(row *store.JobRow) *client.SignalResult {
	return &client.SignalResult{ID: row.ID, State: row.State, AlreadyFinished: row.State.Terminal()}
}

// sendSignal sends ts (its TaskRef filled in for each task) to job id's
// running tasks (task idx alone when idx >= 0): Signal and Notify.
func (s *Server) sendSignal(ctx context.Context, id int64, idx int, ts client.TaskSignal) (*client.SignalResult, error) {
	s.mu.Lock()
	n, state, ok := s.signalJob(id, idx, ts)
	s.mu.Unlock()
	if ok {
		return &client.SignalResult{ID: id, Signalled: n, State: state}, nil
	}
	row, err := s.readJob(ctx, id)
	if err != nil {
		return nil, err
	}
	return notLive(row), nil
}

// Hold holds job id, none of whose tasks has started, until it is
// released (on), or releases it: scontrol hold and release. An admin's
// hold is one only an admin may release, unless user (scontrol uhold).
func (s *Server) Hold(ctx context.Context, id int64, on, user bool) error {
	if _, err := s.readJob(ctx, id); err != nil {
		return err // no such job: 404
	}
	s.mu.Lock()
	var b batch
	by := holder{admin: auth.SeesAll(auth.From(ctx)), user: user}
	if err := s.holdJob(id, on, by, actorFrom(ctx), time.Now().UTC(), &b); err != nil {
		s.mu.Unlock()
		return err
	}
	if err := s.apply(&b); err != nil {
		return err
	}
	if !on {
		s.kickScheduler() // released: placed at the next round, not the tick's
	}
	return nil
}

// Update changes what o names of job id, which has not ended (scontrol
// update): its name at any time, its time limit and its dependencies while
// none of its tasks has started (a task's machine keeps the limit it
// started with), the throttle of a map (an array) at any time. Raising a
// time limit is for admins, as Slurm keeps it for its administrators.
func (s *Server) Update(ctx context.Context, id int64, o client.UpdateOptions) error {
	if _, err := s.readJob(ctx, id); err != nil {
		return err // no such job: 404
	}
	var ended map[int64]jobEnd
	if o.After != nil && strings.TrimSpace(*o.After) != "" {
		deps, anyOf, err := burst.ParseDependencies(*o.After, burst.AfterAny)
		if err != nil {
			return badRequest("%v", err)
		}
		for _, d := range deps {
			if d.Job == id {
				return badRequest("job %d cannot wait for itself: give another job's id", id)
			}
		}
		check := burst.JobSpec{After: deps, AfterAnyOf: anyOf, KeepUnsatisfiable: true}
		if ended, err = s.checkAfter(ctx, &check); err != nil {
			return err
		}
	}
	s.mu.Lock()
	var b batch
	if err := s.updateJob(id, o, auth.SeesAll(auth.From(ctx)), ended, actorFrom(ctx), time.Now().UTC(), &b); err != nil {
		s.mu.Unlock()
		return err
	}
	var late []int64 // a new dependency that ended and left memory since checkAfter read it
	if j := s.jobs[id]; j != nil && o.After != nil {
		late = s.unresolved(j)
	}
	watched := s.unloaded()
	if err := s.apply(&b); err != nil {
		return err
	}
	s.resolveAfter(context.WithoutCancel(ctx), late)
	s.resolveTasks(context.WithoutCancel(ctx), watched)
	s.kickScheduler() // a dependency gone, a throttle raised: placed at the next round
	return nil
}
