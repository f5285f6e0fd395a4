// Package session is an agent's side of the agent protocol: it registers a
// machine with a server, leases tasks for it, and reports task events until
// the server has taken them, riding out server restarts (a registration
// carries what runs and every event not yet taken). Both burst's agents
// use it: the one that runs tasks as processes (internal/agent) and the one
// that submits them to Slurm (internal/slurm).
//
// It runs nothing itself: what a lease hands out and what runs are its
// owner's, reached through Owner.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/backoff"
	"github.com/burst-sh/burst/internal/pki"
)

// Owner is the agent a session serves.
type Owner interface {
	// Registration adds what runs here to r (Running; anything else that
	// changes between registrations). It is called with the owner's lock
	// held, so that what runs and the events not yet reported are seen at
	// one instant: a task is never in neither.
	Registration(r *client.Register)
	// Handle takes a lease's cancels and tasks. Called without the lock.
	Handle(l *client.Leased)
	// Kill ends a task the server no longer wants (a registration's Kill
	// list). Called without the lock.
	Kill(ref client.TaskRef)
}

// Config says which server to serve and as which machine.
type Config struct {
	Client *client.Client
	// HostLoad says each lease request tells this host's load (HostLoad):
	// an agent's machine is this host, a native agent's a Slurm cluster.
	HostLoad bool
	// Mu is the owner's lock. It guards the session's state as well, so
	// that the owner can queue an event in the same critical section in
	// which it changes what runs (EmitLocked).
	Mu *sync.Mutex
	// Register is what every registration says: the machine, its cluster,
	// host and the machine's resources. New fills in the agent's pid (this
	// process's) and its start time.
	Register client.Register
	// LeaseWait is how long a lease waits for work at the server.
	LeaseWait time.Duration
	// Linger, when set, says (called with Mu held) how long to gather
	// events before each report: a few milliseconds while a busy agent's
	// tasks end one after the other saves the server a request and a
	// transaction each; 0 reports at once.
	Linger func() time.Duration
	// StartLinger, when set, is how long a task's started event waits
	// for its exit before it is reported: a task that ends meanwhile
	// sends its start and its exit together, one report and one write at
	// the server instead of two, and the start time of its process is
	// never read (Complete). Reports sent meanwhile (other tasks' exits)
	// leave it queued. An exit is never held.
	StartLinger time.Duration
	// Complete, when set, fills in what the events and the running tasks
	// about to be sent leave out (their PIDStart, which the process agent
	// reads only for the tasks still running then, and not under its
	// lock). It is called without Mu, on copies.
	Complete func(evs []client.TaskEvent, running []client.RunningTask)
	// GiveUp, when set, is asked after each failed contact with the
	// server; an error ends Run with it. unreachable is how long since the
	// server last answered.
	GiveUp func(err error, unreachable time.Duration) error
	// Outage, when set, is added to the line logged when the server stops
	// answering (what the owner will do about it, e.g. when it exits).
	Outage string
	// Adopt, when set, is called with the server's home id when the
	// first registration answers and Register.HomeID is empty (an agent
	// started by hand), before any lease: the agent takes the home's
	// identity, and later registrations carry it (a server of another
	// home then refuses them).
	Adopt func(homeID string)
	// Probe, when set, is called before the first registration (and
	// again before the next one until it succeeds): it fills in what the
	// agent learns from the server before it registers (whether it sees
	// the server's home: Register.Remote). An error fails that attempt.
	Probe func(ctx context.Context, r *client.Register) error
	Log   *slog.Logger
}

// outageLogEvery is how often a server that stays unreachable is logged
// again: once when it stops answering, then rarely, never at every retry.
const outageLogEvery = time.Minute

// retryMax is the longest wait between two tries to reach the server.
const retryMax = 2 * time.Second

// Session is a machine's registration with a server and its event queue.
type Session struct {
	cfg   Config
	owner Owner
	wake  chan struct{}
	clock clock // the agent's clock, as the server is told it (clock.go)

	// guarded by cfg.Mu
	bootID string
	ack    uint64 // Seq of the last lease received in this registration
	probed bool   // Probe succeeded (touched by the session's loop alone)
	// load and loadAt: the host's load and when it was read (the loop's
	// alone: hostLoad).
	load   *burst.HostLoad
	loadAt time.Time
	events []seqEvent
	seq    uint64
	// steps: the server of the last registration keeps a task's srun
	// steps (client.Registered.Steps); until one says so, events go
	// without them (withoutSteps).
	steps bool
	// omit: the fields of droppable that a server older than this agent
	// refused; they are left out of what the lease loop sends from then
	// on (the loop's alone: olderServer).
	omit map[string]bool
}

// droppable are the fields this agent sends that a server may do without,
// and what is missing there then: a server that predates one and still
// refused fields it did not know (docs/api.md, Versions) gets the request
// again without it.
// (A list, not a map: a map literal allocates at every start of the
// binary.)
var droppable = [...]struct{ field, missing string }{
	{"os", "scontrol show node's OS= stays empty"},
	{"load", "scontrol show node's CPULoad and FreeMem stay unknown"},
	{"idle_since", "a restart of the server starts the machine's idle time (LastBusyTime, idle-stop) again"},
}

// dropped is what a server goes without when field is left out, and
// whether field is one of droppable.
func dropped(field string) (string, bool) {
	for _, d := range droppable {
		if d.field == field {
			return d.missing, true
		}
	}
	return "", false
}

// olderServer reads err as a server older than this agent refusing a
// field of its request that it does not know. A droppable field is left
// out from then on (logged once) and the request is to be sent again at
// once (true). Any other such refusal (whose message the client gives the
// fix already) is returned with the agent's own fix added; any other
// error, as it is.
func (s *Session) olderServer(err error) (bool, error) {
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return false, err
	}
	field, ok := client.UnknownField(err)
	if !ok {
		return false, err
	}
	if missing, ok := dropped(field); ok && !s.omit[field] {
		if s.omit == nil {
			s.omit = map[string]bool{}
		}
		s.omit[field] = true
		s.cfg.Log.Warn(fmt.Sprintf("the server is older than this agent and does not know its field %q: the agent leaves it out (%s); "+
			"upgrade the server to this agent's burst to have it", field, missing))
		return true, nil
	}
	return false, fmt.Errorf("%w; or run the server's own burst binary as the agent", err)
}

type seqEvent struct {
	seq uint64
	ev  client.TaskEvent
	at  time.Time // when it was queued
}

// New returns a session for owner; Run starts it.
func New(cfg Config, owner Owner) *Session {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.LeaseWait <= 0 {
		cfg.LeaseWait = 10 * time.Second
	}
	// The session's loops own the retrying (and log the outage): its
	// requests are asked once each.
	if cfg.Client != nil {
		cfg.Client = cfg.Client.WithRetry(client.Retry{})
	}
	cfg.Register.PID = os.Getpid()
	cfg.Register.PIDStart, _ = runner.ProcStartTicks(cfg.Register.PID)
	return &Session{cfg: cfg, owner: owner, wake: make(chan struct{}, 1), clock: testClock(cfg.Log)}
}

// EmitLocked queues an event for the server; cfg.Mu must be held. Call
// Wake once the lock is released. Its reason is cut to what the server
// takes (burst.CutReason): a refused report is dropped whole, and the
// task's end with it.
func (s *Session) EmitLocked(ev client.TaskEvent) {
	ev.Reason = burst.CutReason(ev.Reason)
	s.seq++
	s.events = append(s.events, seqEvent{s.seq, ev, time.Now()})
}

// ReplaceLocked queues ev in place of an event of the same kind for the
// same task attempt that the server has not taken yet (cfg.Mu held): a
// running task's progress figures supersede the last ones, so that a
// server out of reach for a while is not sent a backlog of them. The new
// event goes last: it keeps its order after the events queued before it.
func (s *Session) ReplaceLocked(ev client.TaskEvent) {
	for i, e := range s.events {
		if e.ev.Kind == ev.Kind && e.ev.TaskRef == ev.TaskRef {
			ev.Steps = burst.MergeSteps(e.ev.Steps, ev.Steps) // each carries the steps that changed since the one before
			s.events = append(s.events[:i], s.events[i+1:]...)
			break
		}
	}
	s.EmitLocked(ev)
}

// Emit queues an event and wakes the reporter.
func (s *Session) Emit(ev client.TaskEvent) {
	s.cfg.Mu.Lock()
	s.EmitLocked(ev)
	s.cfg.Mu.Unlock()
	s.Wake()
}

// Wake tells the reporter that events are waiting.
func (s *Session) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run registers, leases and reports until ctx ends, the server asks the
// agent to exit (nil), or GiveUp gives up (its error).
func (s *Session) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.reportLoop(ctx) })
	err := s.leaseLoop(ctx)
	cancel()
	wg.Wait()
	return err
}

func (s *Session) leaseLoop(ctx context.Context) error {
	lastContact := time.Now()
	wait := backoff.New(50*time.Millisecond, retryMax)
	var loggedAt time.Time  // when the current outage was last logged; zero: none
	var refusedAt time.Time // when an error the server answered was last logged
	for ctx.Err() == nil {
		var err error
		if boot := s.boot(); boot == "" {
			err = s.register(ctx)
		} else {
			s.cfg.Mu.Lock()
			ack := s.ack
			s.cfg.Mu.Unlock()
			load := s.hostLoad()
			if s.omit["load"] {
				load = nil
			}
			var l *client.Leased
			l, err = s.cfg.Client.Lease(ctx, &client.Lease{Machine: s.cfg.Register.Machine, BootID: boot,
				WaitMS: int(s.cfg.LeaseWait / time.Millisecond), Ack: ack, Load: load})
			var again bool
			if again, err = s.olderServer(err); again {
				continue
			}
			if err == nil {
				if l.Exit {
					s.cfg.Log.Info("server asked the agent to exit")
					return nil
				}
				s.owner.Handle(l)
				s.cfg.Mu.Lock()
				if l.Seq > 0 && s.bootID == boot {
					s.ack = l.Seq
				}
				s.cfg.Mu.Unlock()
			}
		}
		switch {
		case err == nil:
			if !loggedAt.IsZero() {
				s.cfg.Log.Info("server answers again", "after", time.Since(lastContact).Round(time.Millisecond))
				loggedAt = time.Time{}
			}
			lastContact = time.Now()
			wait.Reset()
			continue
		case errors.Is(err, client.ErrReregister):
			s.setBoot("")
			continue
		case ctx.Err() != nil:
			return nil
		case revoked(err):
			err = &refusedError{err}
			s.cfg.Log.Error("the server revoked this machine's credential: it stops asking and exits", "err", err)
			return err
		case errors.As(err, new(*refusedError)):
			s.cfg.Log.Error("the server refused this agent: it stops asking and exits", "err", err)
			return err
		case errors.Is(err, pki.ErrPinMismatch):
			// The address answers with another CA than the one this
			// machine joined (its join URL's pin): the server it joined
			// is gone for good (its home removed and made again, or
			// another server there), and its credential can never serve
			// again. Unreachable, it could be a restart: that waits.
			err = fmt.Errorf("the server at this address is not the one this machine joined (another CA: its home made again?); join again with a new `burst join-token create` URL: %w", err)
			s.cfg.Log.Error("the server this machine joined is gone for good: the agent stops asking and exits", "err", err)
			return err
		}
		answered := serverAnswered(err)
		if answered {
			// A refusal (507 while its disk is full) is the server, alive
			// and keeping what this agent has not reported yet: not an
			// outage to give it up for.
			lastContact = time.Now()
		}
		if s.cfg.GiveUp != nil {
			if err := s.cfg.GiveUp(err, time.Since(lastContact)); err != nil {
				return err
			}
		}
		switch now := time.Now(); {
		case answered:
			if now.Sub(refusedAt) >= outageLogEvery {
				s.cfg.Log.Warn("the server answers with an error; retrying, logged again each minute", "err", err)
				refusedAt = now
			}
		case loggedAt.IsZero():
			msg := fmt.Sprintf("server unreachable; retrying every %s at most, logged again each minute", retryMax)
			if s.cfg.Outage != "" {
				msg += "; " + s.cfg.Outage
			}
			s.cfg.Log.Warn(msg, "err", err)
			loggedAt = now
		case now.Sub(loggedAt) >= outageLogEvery:
			s.cfg.Log.Warn("server still unreachable; retrying", "for", now.Sub(lastContact).Round(time.Second), "err", err)
			loggedAt = now
		}
		if wait.Wait(ctx) != nil {
			return nil
		}
	}
	return nil
}

// BootID is the boot id of the server's life this agent registered
// with; "" while it is not registered.
func (s *Session) BootID() string { return s.boot() }

func (s *Session) boot() string {
	s.cfg.Mu.Lock()
	defer s.cfg.Mu.Unlock()
	return s.bootID
}

func (s *Session) setBoot(b string) {
	s.cfg.Mu.Lock()
	s.bootID, s.ack = b, 0
	s.cfg.Mu.Unlock()
	if b != "" {
		s.Wake() // events that came while it registered
	}
}

func (s *Session) register(ctx context.Context) error {
	if s.cfg.Probe != nil && !s.probed {
		if err := s.cfg.Probe(ctx, &s.cfg.Register); err != nil {
			return err
		}
		s.probed = true
	}
	r := s.cfg.Register
	r.Running, r.Events = nil, nil
	s.cfg.Mu.Lock()
	s.owner.Registration(&r)
	var upTo uint64
	r.Events, upTo = s.pendingLocked()
	steps := s.steps
	s.cfg.Mu.Unlock()
	if !steps {
		withoutSteps(r.Events)
	}
	if s.cfg.Complete != nil {
		s.cfg.Complete(r.Events, r.Running)
	}
	r.Events, r.SentAt = s.clock.stamp(r.Events)
	if s.omit["os"] {
		r.OS = ""
	}
	if s.omit["idle_since"] {
		r.IdleSince = nil
	}
	reg, err := s.cfg.Client.Register(ctx, &r)
	if err != nil {
		again, err := s.olderServer(err)
		if again {
			return s.register(ctx)
		}
		var ae *client.Error
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			// The server refuses this agent (it belongs to another home,
			// or its machine is stopped or lost): asking again changes
			// nothing.
			return &refusedError{err}
		}
		return err
	}
	if r.HomeID == "" && reg.HomeID != "" {
		s.cfg.Register.HomeID = reg.HomeID
		if s.cfg.Adopt != nil {
			s.cfg.Adopt(reg.HomeID)
		}
	}
	s.cfg.Mu.Lock()
	s.steps = reg.Steps
	s.cfg.Mu.Unlock()
	s.drop(upTo)
	for _, ref := range reg.Kill {
		s.owner.Kill(ref)
	}
	s.cfg.Log.Info("registered", "machine", r.Machine, "cluster", r.Cluster, "running", len(r.Running),
		"reported", len(r.Events), "kill", len(reg.Kill))
	s.setBoot(reg.BootID)
	return nil
}

// serverAnswered reports whether err is an answer of the server that
// serves this agent: any HTTP status but a gateway's 502 and 504 (the
// server behind it did not answer) and 401 and 403 (it will not serve an
// agent with this token: waiting for it forever would help nobody).
func serverAnswered(err error) bool {
	var ae *client.Error
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusUnauthorized, http.StatusForbidden:
		return false
	}
	return true
}

// revoked says whether err is the server's 401 for a machine credential
// it revoked (`burst machine revoke`): asking again changes nothing.
func revoked(err error) bool {
	var ae *client.Error
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && strings.HasPrefix(ae.Message, client.MachineRevoked)
}

// refusedError is a registration the server refused (HTTP 400).
type refusedError struct{ err error }

func (e *refusedError) Error() string { return "the server refused this agent: " + e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// pendingLocked is the events the server has not taken, and the seq of
// the last of them (cfg.Mu held).
func (s *Session) pendingLocked() ([]client.TaskEvent, uint64) {
	if len(s.events) == 0 {
		return nil, 0
	}
	evs := make([]client.TaskEvent, len(s.events))
	for i, e := range s.events {
		evs[i] = e.ev
	}
	return evs, s.events[len(s.events)-1].seq
}

// withoutSteps leaves out the srun steps of evs (copies of the queued
// events) for a server that does not keep them: it would refuse the
// events whole, and their tasks would never end there.
func withoutSteps(evs []client.TaskEvent) {
	for i := range evs {
		evs[i].Steps = nil
	}
}

// refused says whether err is the server's refusal of a request (4xx):
// sent again as it is, it would be refused again.
func refused(err error) bool {
	var ae *client.Error
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500
}

// reportEach sends evs a report each, after the server refused them
// together. An event it refuses alone is sent again bare (bareEvent: an
// older server refuses a field it does not know, and a task's end matters
// more than what came with it), and dropped if refused even so, with an
// error logged. It returns the first error that is no refusal (the
// server out of reach, or asking the agent to register again): all of
// evs are sent again later, those it took too, which the server takes
// once.
func (s *Session) reportEach(ctx context.Context, boot string, evs []client.TaskEvent) error {
	send := func(ev client.TaskEvent) error {
		rep := &client.Report{Machine: s.cfg.Register.Machine, BootID: boot}
		rep.Events, rep.SentAt = s.clock.stamp([]client.TaskEvent{ev})
		return s.cfg.Client.ReportEvents(ctx, rep)
	}
	for _, ev := range evs {
		err := send(ev)
		if refused(err) {
			if bare := bareEvent(ev); !reflect.DeepEqual(bare, ev) {
				s.cfg.Log.Warn("server refused a task event; sending it bare", "err", err, "job", ev.Job, "task", ev.Index, "kind", ev.Kind)
				err = send(bare)
			}
		}
		if refused(err) {
			s.cfg.Log.Error("server refused a task event; dropping it", "err", err, "job", ev.Job, "task", ev.Index, "kind", ev.Kind)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bareEvent is ev with only what every burst server has taken of a task
// event: which attempt, what happened, its process, state, exit, reason and
// times. Its output's places, usage, outputs, stack changes and steps are
// left out.
func bareEvent(ev client.TaskEvent) client.TaskEvent {
	return client.TaskEvent{TaskRef: ev.TaskRef, Kind: ev.Kind, PID: ev.PID, PIDStart: ev.PIDStart, State: ev.State,
		ExitCode: ev.ExitCode, Signal: ev.Signal, Reason: ev.Reason, StartedAt: ev.StartedAt, EndedAt: ev.EndedAt}
}

// drop forgets the events up to seq upTo: the server has them.
func (s *Session) drop(upTo uint64) {
	s.cfg.Mu.Lock()
	defer s.cfg.Mu.Unlock()
	i := 0
	for i < len(s.events) && s.events[i].seq <= upTo {
		i++
	}
	s.events = append(s.events[:0:0], s.events[i:]...)
}

// dropSent forgets the events whose seqs (in increasing order) were
// sent: the server has them.
func (s *Session) dropSent(seqs []uint64) {
	s.cfg.Mu.Lock()
	defer s.cfg.Mu.Unlock()
	kept := s.events[:0:0]
	for _, e := range s.events {
		for len(seqs) > 0 && seqs[0] < e.seq {
			seqs = seqs[1:]
		}
		if len(seqs) == 0 || seqs[0] != e.seq {
			kept = append(kept, e)
		}
	}
	s.events = kept
}

// heldLocked reports whether e is a start that waits for its task's exit
// (cfg.Mu held): younger than StartLinger, with no exit of its task
// queued after it. Until then its task's start time is not even read.
//
// No start is held past a task that did not succeed, queued after it: a
// failure may stop its job (a map's --halt soon,fail=), and the server then
// lets run to their ends only the tasks it knows started. A start held
// behind it would have the server cancel a task that ran (its output
// dropped, as if it never started, while a later one's is kept).
func (s *Session) heldLocked(i int, now time.Time) bool {
	e := s.events[i]
	if e.ev.Kind != client.EventStarted || s.cfg.StartLinger <= 0 || now.Sub(e.at) >= s.cfg.StartLinger {
		return false
	}
	for _, x := range s.events[i+1:] {
		if x.ev.Kind == client.EventExited && (x.ev.TaskRef == e.ev.TaskRef || x.ev.State != burst.Succeeded) {
			return false
		}
	}
	return true
}

// dueLocked is what to report now (cfg.Mu held): every event queued but
// the starts still held (heldLocked), with their seqs; and when the first
// of those held becomes due (zero: none held).
func (s *Session) dueLocked(now time.Time) (evs []client.TaskEvent, seqs []uint64, next time.Time) {
	for i, e := range s.events {
		if s.heldLocked(i, now) {
			if at := e.at.Add(s.cfg.StartLinger); next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		evs, seqs = append(evs, e.ev), append(seqs, e.seq)
	}
	return evs, seqs, next
}

// gather waits, before a report, for more events to go with it: for
// Linger, then while every event queued is a start still held
// (heldLocked), until one is due or an event that is comes. false: ctx
// ended.
//
// Linger comes before every report, not only the first after a wake:
// while a busy agent's tasks end faster than a report's round trip, the
// reports would otherwise follow one another back to back, each with the
// few exits of one round trip (2.3 tasks a report in a map of `true`),
// and each report is a request and a transaction at the server.
func (s *Session) gather(ctx context.Context) bool {
	s.cfg.Mu.Lock()
	var d time.Duration
	if s.cfg.Linger != nil {
		d = s.cfg.Linger()
	}
	s.cfg.Mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	for {
		s.cfg.Mu.Lock()
		evs, _, next := s.dueLocked(time.Now())
		s.cfg.Mu.Unlock()
		if len(evs) > 0 || next.IsZero() {
			return true
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		case <-s.wake:
			t.Stop()
		}
	}
}

// reportLoop sends events as they come; those that pile up while a report
// is in flight go together in the next one. Without a registration it
// waits: registering carries them.
func (s *Session) reportLoop(ctx context.Context) {
	wait := backoff.New(100*time.Millisecond, retryMax)
	var warnedAt time.Time // the last failed report logged: one line a minute at most
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			// Every report, not only the first after a wake, lingers and
			// holds back starts alone: those of the tasks started while
			// the last report was in flight would otherwise go on their
			// own.
			if !s.gather(ctx) {
				return
			}
			s.cfg.Mu.Lock()
			boot := s.bootID
			evs, sent, _ := s.dueLocked(time.Now())
			queued, steps := len(s.events), s.steps
			s.cfg.Mu.Unlock()
			if !steps {
				withoutSteps(evs)
			}
			n := len(evs)
			if queued == 0 || boot == "" {
				break
			}
			if n == 0 {
				continue // only starts still held: gather waits for them
			}
			if s.cfg.Complete != nil {
				s.cfg.Complete(evs, nil)
			}
			rep := &client.Report{Machine: s.cfg.Register.Machine, BootID: boot}
			rep.Events, rep.SentAt = s.clock.stamp(evs)
			err := s.cfg.Client.ReportEvents(ctx, rep)
			if err == nil {
				s.dropSent(sent)
				wait.Reset()
				continue
			}
			if refused(err) {
				// The server will never take these together: one it
				// refuses must not take the others with it, nor a task's
				// end stay untold (the task would run there for good).
				if err = s.reportEach(ctx, boot, evs); err == nil {
					s.dropSent(sent)
					continue
				}
			}
			if errors.Is(err, client.ErrReregister) {
				s.cfg.Mu.Lock()
				if s.bootID == boot {
					s.bootID, s.ack = "", 0
				}
				s.cfg.Mu.Unlock()
				break // the lease loop registers again, with the events
			}
			if ctx.Err() != nil {
				return
			}
			if now := time.Now(); now.Sub(warnedAt) >= outageLogEvery {
				s.cfg.Log.Warn("reporting task events failed; retrying", "err", err, "events", n)
				warnedAt = now
			}
			if wait.Wait(ctx) != nil {
				return
			}
		}
	}
}
