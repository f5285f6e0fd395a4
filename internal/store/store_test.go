package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestJobRoundTripAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	spec := &burst.JobSpec{Argv: []string{"echo", "hi"}, Resources: burst.Resources{CPUs: 2, MemBytes: 1 << 30}}
	spec.Defaults()
	now := time.Now()
	var id int64
	if err := s.Write(ctx, func(tx *Tx) (err error) { id, err = InsertJob(tx, spec, "", now); return }); err != nil {
		t.Fatal(err)
	}
	j, err := s.GetJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != burst.Queued || j.Project != "default" || j.CPUs != 2 || j.Tasks.Queued != 1 || j.Spec.Argv[1] != "hi" {
		t.Fatalf("unexpected job %+v", j)
	}
	code := 3
	steps := []burst.Step{{ID: 0, Name: "bash", State: burst.Failed, ExitCode: 3, Tasks: 2, CPUs: 2,
		StartedAt: now.UTC().Truncate(time.Second), EndedAt: now.UTC().Truncate(time.Second).Add(time.Second)}}
	j.State, j.ExitCode, j.Tasks.Failed, j.Dispatched, j.Steps = burst.Failed, &code, 1, 1, steps
	task := &TaskRow{Task: burst.Task{JobID: id, Index: 0, State: burst.Failed, Attempt: 1, ExitCode: &code,
		GPUIDs: []int{0, 2}, UserSeconds: 1.5, Steps: steps}, PIDStart: 12345}
	if err := s.Write(ctx, func(tx *Tx) error {
		if err := SaveTask(tx, task); err != nil {
			return err
		}
		return SaveJob(tx, j)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2 := open(t, path)
	if v, err := s2.SchemaVersion(); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v", v, err)
	}
	j2, err := s2.GetJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j2.State != burst.Failed || *j2.ExitCode != 3 || j2.Tasks.Queued != 0 || j2.Tasks.Failed != 1 || !reflect.DeepEqual(j2.Steps, steps) {
		t.Fatalf("after reopen: %+v", j2)
	}
	got, err := s2.GetTask(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.PIDStart != 12345 || len(got.GPUIDs) != 2 || got.GPUIDs[1] != 2 || got.UserSeconds != 1.5 || !reflect.DeepEqual(got.Steps, steps) {
		t.Fatalf("task after reopen: %+v", got)
	}
	if _, err := s2.GetTask(ctx, id, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing task: %v", err)
	}
	if _, err := s2.GetJob(ctx, id+1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
}

// A failing write in a shared batch must not take the others with it.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Write(ctx, func(tx *Tx) error {
				spec := &burst.JobSpec{Argv: []string{"true"}}
				spec.Defaults()
				if _, err := InsertJob(tx, spec, "", time.Now()); err != nil {
					return err
				}
				if i%10 == 0 {
					return errors.New("boom")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%10 == 0) != (err != nil) {
			t.Fatalf("write %d: err %v", i, err)
		}
	}
	jobs, err := s.ListJobs(ctx, JobFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 180 {
		t.Fatalf("want 180 committed jobs, got %d", len(jobs))
	}
}

// A write alone in its transaction (no SAVEPOINT then) that fails leaves
// nothing behind, and the writes after it commit.
func TestLoneFailedWriteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	insert := func(fail bool) error {
		return s.Write(ctx, func(tx *Tx) error {
			spec := &burst.JobSpec{Argv: []string{"true"}}
			spec.Defaults()
			if _, err := InsertJob(tx, spec, "", time.Now()); err != nil {
				return err
			}
			if fail {
				return errors.New("boom")
			}
			return nil
		})
	}
	for i := range 6 {
		if err := insert(i%2 == 1); (err != nil) != (i%2 == 1) {
			t.Fatalf("write %d: err %v", i, err)
		}
	}
	jobs, err := s.ListJobs(ctx, JobFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Fatalf("want the 3 writes that succeeded, got %d jobs", len(jobs))
	}
}

// An array of N tasks holds N job ids, one per task (its SLURM_JOB_IDs), and
// ResolveID finds the task of each; the next job's id comes after them, also
// after the store is reopened.
func TestArrayJobIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	insert := func(s *Store, spec *burst.JobSpec) int64 {
		t.Helper()
		spec.Defaults()
		var id int64
		if err := s.Write(ctx, func(tx *Tx) (err error) { id, err = InsertJob(tx, spec, "", time.Now()); return }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	plain := func() *burst.JobSpec { return &burst.JobSpec{Argv: []string{"true"}} }
	a := insert(s, plain())
	arr := insert(s, &burst.JobSpec{Script: "#!/bin/sh\n", Tasks: 5, Map: &burst.MapSpec{Array: true}})
	after := insert(s, plain())
	if arr != a+1 || after != arr+5 {
		t.Fatalf("ids %d, %d, %d: want the job after a 5-task array 5 ids on", a, arr, after)
	}
	for _, c := range []struct {
		id, job int64
		index   int
	}{{a, a, -1}, {arr, arr, -1}, {arr + 1, arr, 1}, {arr + 4, arr, 4}, {after, after, -1}} {
		job, idx, err := s.ResolveID(ctx, c.id)
		if err != nil || job != c.job || idx != c.index {
			t.Errorf("ResolveID(%d) = %d, %d, %v; want %d, %d", c.id, job, idx, err, c.job, c.index)
		}
	}
	if _, _, err := s.ResolveID(ctx, after+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveID of an id no job holds: %v, want ErrNotFound", err)
	}
	s.Close()
	s2 := open(t, path)
	if next := insert(s2, &burst.JobSpec{Script: "#!/bin/sh\n", Tasks: 3, Map: &burst.MapSpec{Array: true}}); next != after+1 {
		t.Errorf("after reopening: id %d, want %d", next, after+1)
	}
	if next := insert(s2, plain()); next != after+4 {
		t.Errorf("after a reopened 3-task array: id %d, want %d", next, after+4)
	}
}

// ListJobs leaves each job's spec in the store: a listing shows none, and a
// spec may be megabytes (a script of control bytes, which JSON writes six
// bytes each). Before, 12 jobs of 4 MiB specs cost every `burst jobs` 48 MiB
// read from the store.
func TestListJobsReadsNoSpec(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	const n, size = 12, 4 << 20
	for range n {
		spec := &burst.JobSpec{Argv: []string{"true"}, Script: strings.Repeat("\x01", size/6)}
		spec.Defaults()
		if err := s.Write(ctx, func(tx *Tx) error { _, err := InsertJob(tx, spec, "", time.Now()); return err }); err != nil {
			t.Fatal(err)
		}
	}
	s.ListJobs(ctx, JobFilter{}) // warm the statement cache
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	jobs, err := s.ListJobs(ctx, JobFilter{})
	runtime.ReadMemStats(&after)
	if err != nil || len(jobs) != n {
		t.Fatalf("%d jobs, %v; want %d", len(jobs), err, n)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > size {
		t.Errorf("listing %d jobs allocated %d MiB; want less than one spec (%d MiB)", n, got>>20, size>>20)
	}
	for _, j := range jobs {
		if j.Spec != nil {
			t.Errorf("job %d listed with its spec", j.ID)
		}
	}
}

// A map's inputs and its spec come back from the store byte for byte,
// bytes that are not UTF-8 included (a Latin-1 file name): before, JSON
// turned each such byte into U+FFFD, so a resumed map ran over other names.
func TestInputsAndSpecBytesExact(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	sources := [][]string{{"caf\xe9.txt", "plain"}, {"x\xffy"}}
	spec := &burst.JobSpec{Map: &burst.MapSpec{Template: []string{"cat", "{}", "\xfe"}, Sources: sources},
		Env: map[string]string{"K": "v\xff"}, Workdir: "/d/\xe9"}
	spec.Defaults()
	var id int64
	if err := s.Write(ctx, func(tx *Tx) (err error) {
		if id, err = InsertJob(tx, spec, "", time.Now()); err != nil {
			return err
		}
		return SaveInputs(tx, id, sources)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Inputs(ctx, id)
	if err != nil || len(got) != 2 || got[0][0] != sources[0][0] || got[1][0] != sources[1][0] {
		t.Errorf("inputs read back %q, %v; want %q", got, err, sources)
	}
	j, err := s.GetJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Spec.Map.Template[2] != "\xfe" || j.Spec.Env["K"] != "v\xff" || j.Spec.Workdir != "/d/\xe9" {
		t.Errorf("spec read back: template %q, env %q, workdir %q", j.Spec.Map.Template, j.Spec.Env, j.Spec.Workdir)
	}
}

// GetJobHead reads a job's spec only for the kinds asked for, in one
// query: the logs of a run read none, those of a map read its spec.
func TestGetJobHeadSpecOfKinds(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	ids := map[string]int64{}
	for kind, spec := range map[string]*burst.JobSpec{
		burst.KindRun: {Argv: []string{"true"}},
		burst.KindMap: {Map: &burst.MapSpec{Template: []string{"echo", "{}"}, Sources: [][]string{{"a"}}}},
	} {
		spec.Defaults()
		if err := s.Write(ctx, func(tx *Tx) (err error) { ids[kind], err = InsertJob(tx, spec, "", time.Now()); return }); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		kind     string
		kinds    []string
		wantSpec bool
	}{
		{burst.KindRun, nil, false}, {burst.KindMap, nil, false},
		{burst.KindRun, []string{burst.KindMap, burst.KindPipe}, false},
		{burst.KindMap, []string{burst.KindMap, burst.KindPipe}, true},
	} {
		j, err := s.GetJobHead(ctx, ids[c.kind], c.kinds...)
		if err != nil || j.Kind != c.kind || (j.Spec != nil) != c.wantSpec {
			t.Errorf("GetJobHead(%s job, %v) = kind %q, spec %v, %v; want spec read: %v", c.kind, c.kinds, j.Kind, j.Spec != nil, err, c.wantSpec)
		}
		if c.wantSpec && (j.Spec.Map == nil || j.Spec.Map.Template[0] != "echo") {
			t.Errorf("map's spec read wrong: %+v", j.Spec)
		}
	}
}

// A job's stop is kept as one code (cancel_requested): a user's cancel,
// a --max-failures stop, a cancel that let run what it had handed out, and
// a map halted by its --halt success= or done= each come back as they were
// saved.
func TestJobStopRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	for _, want := range []JobRow{{}, {CancelRequested: true}, {CancelRequested: true, Stopped: true},
		{CancelRequested: true, LetRun: true}, {CancelRequested: true, Halted: true}} {
		spec := &burst.JobSpec{Argv: []string{"true"}}
		spec.Defaults()
		var id int64
		if err := s.Write(ctx, func(tx *Tx) (err error) { id, err = InsertJob(tx, spec, "", time.Now()); return }); err != nil {
			t.Fatal(err)
		}
		j, err := s.GetJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		j.CancelRequested, j.Stopped, j.LetRun, j.Halted = want.CancelRequested, want.Stopped, want.LetRun, want.Halted
		if err := s.Write(ctx, func(tx *Tx) error { return SaveJob(tx, j) }); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.CancelRequested != want.CancelRequested || got.Stopped != want.Stopped || got.LetRun != want.LetRun || got.Halted != want.Halted {
			t.Errorf("saved cancel %v stopped %v letrun %v halted %v; read back %v %v %v %v", want.CancelRequested, want.Stopped, want.LetRun, want.Halted,
				got.CancelRequested, got.Stopped, got.LetRun, got.Halted)
		}
	}
}
