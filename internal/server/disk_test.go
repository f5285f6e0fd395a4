package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/testfs"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/store"
)

// heldServer is fleetServer with its store on a small tmpfs that is full,
// the store holding a write for it (Full is set). release frees the room.
// Mounting needs root: without it the test is skipped, loudly, and under
// BURST_CI=1 it fails.
func heldServer(t *testing.T) (s *Server, release func()) {
	t.Helper()
	dir := testfs.SmallDisk(t, "", "4m", nil)
	s = fleetServer(t)
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.st = st
	ctx := context.Background()
	if err := st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec("CREATE TABLE filler (b BLOB)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	testfs.Fill(t, filler)
	// Writes of 64 KiB each, one after the other, until one is held: its
	// caller waits for room.
	done := make(chan error, 64)
	n := 0
	for st.Full() == nil {
		if n == cap(done) {
			t.Fatal("the store never held a write for the full disk")
		}
		n++
		go func() {
			done <- st.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec("INSERT INTO filler VALUES (randomblob(65536))")
				return err
			})
		}()
		select {
		case err := <-done:
			n--
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Second):
		}
	}
	release = func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		for range n {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("a held write, once there was room: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("a held write did not commit 20 s after room returned")
			}
		}
	}
	t.Cleanup(func() { st.ReleaseHeld(); st.Close() })
	return s, release
}

// While the store holds writes for a full disk, an agent that joined by
// itself (no provider handle: alive while it asks) is still seen: its
// refused reports and registrations refresh lastSeen, and its leases are
// answered (empty), not refused. Before, all three answered 507 without
// touching lastSeen, and the machine was declared lost 30 s into a hold.
// The refusal names the filesystem and is built once per hold.
func TestHoldKeepsAgentsSeen(t *testing.T) {
	s, release := heldServer(t)
	ctx := context.Background()
	m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "hand-1", State: burst.MachineRunning}})
	m.registered = true
	old := time.Now().Add(-time.Minute)
	m.lastSeen = old
	s.mu.Lock()
	s.machines["hand-1"] = m
	s.mu.Unlock()

	err := s.Report(ctx, &client.Report{Machine: "hand-1", BootID: "boot"})
	var ns *apierr.NoSpace
	if !errors.As(err, &ns) {
		t.Fatalf("a report during a hold: %v, want a *apierr.NoSpace", err)
	}
	s.mu.Lock()
	seen := m.lastSeen
	s.mu.Unlock()
	if !seen.After(old) {
		t.Errorf("a refused report left lastSeen at %s", seen)
	}

	m.lastSeen = old
	if _, err := s.Register(ctx, &client.Register{Machine: "hand-1"}); !errors.As(err, &ns) {
		t.Fatalf("a registration during a hold: %v, want a *apierr.NoSpace", err)
	}
	s.mu.Lock()
	seen = m.lastSeen
	s.mu.Unlock()
	if !seen.After(old) {
		t.Errorf("a refused registration left lastSeen at %s", seen)
	}

	m.lastSeen = old
	l, err := s.Lease(ctx, &client.Lease{Machine: "hand-1", BootID: "boot", WaitMS: 20})
	if err != nil || l == nil || len(l.Tasks) != 0 || l.Exit {
		t.Errorf("a lease during a hold: %+v, %v; want an empty lease", l, err)
	}
	s.mu.Lock()
	seen = m.lastSeen
	s.mu.Unlock()
	if !seen.After(old) {
		t.Errorf("a lease during a hold left lastSeen at %s", seen)
	}

	// One refusal per hold: the same error, built once.
	first := s.refuseWrite()
	if first == nil || s.refuseWrite() != first || s.Report(ctx, &client.Report{Machine: "hand-1", BootID: "boot"}) != first {
		t.Errorf("the refusal during one hold was built more than once")
	}
	release()
}

// A batch whose write failed (the store closed under a stopping server)
// makes apply return the error and skip what follows durability: before,
// it returned nil, so a report that was never committed was answered as
// taken and its agent dropped the events.
func TestApplyFailedWriteRunsNoDurableEffects(t *testing.T) {
	s := fleetServer(t)
	ran := false
	var b batch
	b.event(burst.Event{Kind: "test", Message: "never committed"})
	b.durable = append(b.durable, func() { ran = true })
	s.closing.Store(true)
	s.st.Close()
	s.mu.Lock()
	if err := s.apply(&b); !errors.Is(err, store.ErrClosed) {
		t.Errorf("apply of a batch the store refused: %v, want store.ErrClosed", err)
	}
	if ran {
		t.Errorf("apply ran a batch's durable effects although its write failed")
	}
}

// The meter's refund for a late exit (outageAfter) sees the hold: a task
// that ended during it, or just before, was out for the server's outage;
// one that ended well before or after it was not. The hold is recorded
// before Full says nil, so that a report let in at once finds it.
func TestOutageAfterFullDiskHold(t *testing.T) {
	s, release := heldServer(t)
	s.started = time.Now().Add(-time.Hour) // this server's start is no outage
	seen := make(chan [2]time.Time, 1)
	go func() {
		for deadline := time.Now().Add(30 * time.Second); s.st.Full() != nil && time.Now().Before(deadline); {
			runtime.Gosched()
		}
		from, until := s.st.LastHold()
		seen <- [2]time.Time{from, until}
	}()
	release()
	h := <-seen
	if h[0].IsZero() || h[1].IsZero() {
		t.Fatalf("Full said nil before LastHold had the hold: %v", h)
	}
	from, until := h[0], h[1]
	for _, c := range []struct {
		end  time.Time
		want bool
	}{
		{from.Add(-time.Minute), false},
		{from.Add(-lateReport / 2), true},
		{from.Add(until.Sub(from) / 2), true},
		{until, true},
		{until.Add(time.Second), false},
	} {
		if got := s.outageAfter(c.end); got != c.want {
			t.Errorf("outageAfter(%s, hold %s to %s) = %v, want %v", c.end.Format("15:04:05.000"), from.Format("15:04:05.000"), until.Format("15:04:05.000"), got, c.want)
		}
	}
}

// An agent that outlived a server restart and knocks while a full disk
// holds writes keeps its grace: its refused registration extends it, so
// the agent is not declared lost (and its held results rerun elsewhere)
// for a hold it cannot end. (Before: the grace ran out 10 s after the
// restart, a fresh agent was started, and the old one's tasks ran twice.)
func TestHoldExtendsAdoptGrace(t *testing.T) {
	s, _ := heldServer(t)
	ctx := context.Background()
	m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "local-9", State: burst.MachineRunning}})
	expiring := time.Now().Add(time.Second)
	m.waitUntil = expiring // the grace recover gave it, about to run out
	s.mu.Lock()
	s.machines["local-9"] = m
	s.mu.Unlock()
	var ns *apierr.NoSpace
	if _, err := s.Register(ctx, &client.Register{Machine: "local-9"}); !errors.As(err, &ns) {
		t.Fatalf("a registration during a hold: %v, want a *apierr.NoSpace", err)
	}
	s.mu.Lock()
	until := m.waitUntil
	s.mu.Unlock()
	if !until.After(expiring.Add(5 * time.Second)) {
		t.Errorf("a refused registration left the agent's grace at %s (was %s): it would be declared lost", until, expiring)
	}
}

// A cancel while the store holds writes for a full disk is taken, not
// refused: the task's agent is told at once (its machine's cancels), the
// answer says the cancel is recorded once there is room, and it is
// recorded (the job's watchers told) once there is, the agent told once
// only. Before, it was refused with 507, and the task that filled the disk
// could not be stopped.
func TestCancelDuringHoldStopsAtOnce(t *testing.T) {
	s, release := heldServer(t)
	m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "hand-1", State: burst.MachineRunning}})
	m.registered = true
	j := newJobRT(store.JobRow{Job: burst.Job{ID: 7, State: burst.Running, Spec: &burst.JobSpec{Argv: []string{"sleep", "1000"}}}})
	j.row.Tasks.Total, j.row.Dispatched = 1, 1
	task := &taskRT{job: j, machine: m, started: true, delivered: true,
		row: store.TaskRow{Task: burst.Task{JobID: 7, Index: 0, Attempt: 1, State: burst.Running}}}
	s.mu.Lock()
	s.machines["hand-1"] = m
	s.jobs[7] = j
	s.order = append(s.order, 7)
	j.running[0] = task
	m.tasks[taskKey{7, 0}] = task
	changed := j.changed
	s.mu.Unlock()

	res, err := s.Cancel(context.Background(), 7)
	if err != nil || res == nil || !strings.Contains(res.Held, "recorded once the store can write again") {
		t.Fatalf("a cancel during a hold: %+v, %v; want it taken, saying when it is recorded", res, err)
	}
	s.mu.Lock()
	cancels := slices.Clone(m.cancels)
	s.mu.Unlock()
	if len(cancels) != 1 || cancels[0] != task.ref() {
		t.Errorf("the agent's cancels during the hold: %v; want %v at once", cancels, task.ref())
	}
	select {
	case <-changed:
		t.Errorf("the cancel was taken as recorded while the store still holds writes")
	default:
	}
	release()
	select {
	case <-changed:
	case <-time.After(20 * time.Second):
		t.Fatal("the cancel was not recorded 20 s after room returned")
	}
	s.mu.Lock()
	cancels = slices.Clone(m.cancels)
	s.mu.Unlock()
	if len(cancels) != 1 {
		t.Errorf("the agent's cancels once recorded: %v; want the one sent during the hold, not sent again", cancels)
	}
}
