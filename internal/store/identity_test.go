package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func TestJudge(t *testing.T) {
	rec := &Identity{HomeID: "x", Place: Place{Home: "/h/a", Host: "n1", Dev: 1, Ino: 10}}
	for _, c := range []struct {
		name string
		rec  *Identity
		here Place
		want Verdict
	}{
		{"nothing recorded", nil, Place{Home: "/h/a", Host: "n1", Dev: 1, Ino: 10}, New},
		{"where it was", rec, Place{Home: "/h/a", Host: "n1", Dev: 1, Ino: 10}, Same},
		{"restored in place", rec, Place{Home: "/h/a", Host: "n1", Dev: 1, Ino: 99}, Same},
		{"renamed home", rec, Place{Home: "/h/b", Host: "n1", Dev: 1, Ino: 10}, Moved},
		{"copied to another home", rec, Place{Home: "/h/b", Host: "n1", Dev: 1, Ino: 11}, Copy},
		{"copied to another filesystem", rec, Place{Home: "/h/b", Host: "n1", Dev: 2, Ino: 10}, Copy},
		{"same path on another host", rec, Place{Home: "/h/a", Host: "n2", Dev: 1, Ino: 77}, Copy},
		// The host renamed (a laptop, a container restarted with its home
		// on a volume): the same file at the same path is the same home.
		{"same file, host renamed", rec, Place{Home: "/h/a", Host: "n1-renamed", Dev: 1, Ino: 10}, Same},
		{"same path, another device, host renamed", rec, Place{Home: "/h/a", Host: "n2", Dev: 2, Ino: 10}, Copy},
		{"same inode on another host", rec, Place{Home: "/h/b", Host: "n2", Dev: 1, Ino: 10}, Copy},
	} {
		if got := Judge(c.rec, c.here); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func copyStoreFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A store copied into another home (state.db and its WAL, as cp copies
// them from under a running server) is judged a copy: it takes a new home
// id and lets go of the jobs, tasks and machines in flight, which stay the
// original's; the original keeps its id and its work.
func TestClaimCopyDetaches(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	homeA, homeB := t.TempDir(), t.TempDir()
	pathA := filepath.Join(homeA, "state.db")
	a := open(t, pathA)
	hereA, err := a.Here(homeA, "n1")
	if err != nil {
		t.Fatal(err)
	}
	first, err := a.Claim(ctx, hereA, now)
	if err != nil || first.Verdict != New || first.Identity.HomeID == "" {
		t.Fatalf("first claim: %+v, %v", first, err)
	}
	again, err := a.Claim(ctx, hereA, now)
	if err != nil || again.Verdict != Same || again.Identity.HomeID != first.Identity.HomeID {
		t.Fatalf("second claim: %+v, %v", again, err)
	}

	// A map of 5: 2 succeeded, 1 running, 1 requeued, 1 never dispatched;
	// a queued job; a finished job; the local machine and a slice, live.
	spec := &burst.JobSpec{Argv: []string{"true"}, Map: &burst.MapSpec{}}
	spec.Defaults()
	var mapID, queuedID, doneID int64
	err = a.Write(ctx, func(tx *Tx) (err error) {
		if mapID, err = InsertJob(tx, spec, "", now); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE jobs SET n_tasks = 5, n_dispatched = 4, n_succeeded = 2, n_running = 1, state = 'running' WHERE id = ?`, mapID); err != nil {
			return err
		}
		for i, st := range []burst.State{burst.Succeeded, burst.Succeeded, burst.Running, burst.Queued} {
			if err := SaveTask(tx, &TaskRow{Task: burst.Task{JobID: mapID, Index: i, State: st, Attempt: 1, Machine: "local-1", PID: 4242}, PIDStart: 99}); err != nil {
				return err
			}
		}
		one := &burst.JobSpec{Argv: []string{"sleep", "1"}}
		one.Defaults()
		if queuedID, err = InsertJob(tx, one, "", now); err != nil {
			return err
		}
		if doneID, err = InsertJob(tx, one, "", now); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE jobs SET state = 'succeeded', n_dispatched = 1, n_succeeded = 1 WHERE id = ?`, doneID); err != nil {
			return err
		}
		for _, m := range []MachineRow{
			{Machine: burst.Machine{ID: "local-1", Cluster: "local", State: burst.MachineRunning, AgentPID: 4000}, AgentStart: 77},
			{Machine: burst.Machine{ID: "small-1", Cluster: "small", State: burst.MachinePending, AgentPID: 4001}, AgentStart: 78},
			{Machine: burst.Machine{ID: "small-2", Cluster: "small", State: burst.MachineStopped}},
		} {
			if err := SaveMachine(tx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Copied while A is open: state.db and state.db-wal, as an attacker's cp.
	pathB := filepath.Join(homeB, "state.db")
	copyStoreFile(t, pathA, pathB)
	if _, err := os.Stat(pathA + "-wal"); err == nil {
		copyStoreFile(t, pathA+"-wal", pathB+"-wal")
	}
	b := open(t, pathB)
	hereB, err := b.Here(homeB, "n1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Claim(ctx, hereB, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Copy || c.Identity.HomeID == first.Identity.HomeID || c.Identity.CopiedFrom != first.Identity.HomeID || c.Identity.CopiedHome != homeA {
		t.Fatalf("claim of the copy: %+v", c)
	}
	if c.Detached != (Detached{Jobs: 2, Tasks: 2, Machines: 2}) {
		t.Fatalf("detached %+v, want 2 jobs, 2 tasks, 2 machines", c.Detached)
	}
	if rec, err := b.Identity(ctx); err != nil || rec.HomeID != c.Identity.HomeID || rec.CopiedFrom != first.Identity.HomeID {
		t.Fatalf("recorded identity of the copy: %+v, %v", rec, err)
	}
	if act, err := b.ActiveJobs(ctx); err != nil || len(act) != 0 {
		t.Fatalf("the copy has active jobs: %d, %v", len(act), err)
	}
	if act, err := b.ActiveTasks(ctx); err != nil || len(act) != 0 {
		t.Fatalf("the copy has active tasks: %d, %v", len(act), err)
	}
	m, err := b.GetJob(ctx, mapID)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != burst.Lost || m.Tasks.Succeeded != 2 || m.Tasks.Lost != 2 || m.Tasks.Cancelled != 1 || m.Tasks.Done() != m.Tasks.Total || m.Tasks.Running != 0 {
		t.Fatalf("the map in the copy: %s %+v", m.State, m.Tasks)
	}
	if q, err := b.GetJob(ctx, queuedID); err != nil || q.State != burst.Lost || q.Tasks.Done() != q.Tasks.Total {
		t.Fatalf("the queued job in the copy: %+v, %v", q, err)
	}
	if d, err := b.GetJob(ctx, doneID); err != nil || d.State != burst.Succeeded {
		t.Fatalf("the finished job in the copy: %+v, %v", d, err)
	}
	ms := listed(t, b)
	if ms["local-1"].State != burst.MachineLost || ms["local-1"].AgentPID != 0 || ms["small-1"].State != burst.MachineLost || ms["small-2"].State != burst.MachineStopped {
		t.Fatalf("machines in the copy: %+v %+v %+v", ms["local-1"], ms["small-1"], ms["small-2"])
	}
	// The original is untouched and still itself.
	if act, err := a.ActiveTasks(ctx); err != nil || len(act) != 2 {
		t.Fatalf("the original's active tasks: %d, %v", len(act), err)
	}
	if c, err := a.Claim(ctx, hereA, now); err != nil || c.Verdict != Same || c.Identity.HomeID != first.Identity.HomeID {
		t.Fatalf("the original after the copy: %+v, %v", c, err)
	}
	// The copy opened again where it now lives is itself: nothing more is
	// detached, its id stays.
	if again, err := b.Claim(ctx, hereB, now); err != nil || again.Verdict != Same || again.Identity.HomeID != c.Identity.HomeID {
		t.Fatalf("the copy reopened: %+v, %v", again, err)
	}
}
