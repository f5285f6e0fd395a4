package server

import (
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// mapDriver plays an agent with 2 CPUs running a map of n tasks through a
// control, as the server's hot path sees it: reports of exits (which place
// the tasks that follow), leases woken by what was placed, reports of
// starts. No store, no HTTP: what the lock holds. The agent runs 2 tasks
// at once and holds the rest of what it leased (prefetched) until a slot
// frees, as internal/agent does.
type mapDriver struct {
	tb      testing.TB
	cpus    int // the agent's: it runs as many tasks at once
	c       *control
	now     time.Time
	seq     uint64
	held    []client.TaskRef // leased, not started: the agent's queue
	running []client.TaskRef
	leases  int             // leases that carried work
	wait    <-chan struct{} // the waiting lease request's: closed when it should look again
}

func newMapDriver(tb testing.TB, n, cpus int, spec func(*burst.JobSpec)) *mapDriver {
	s := &Server{catalog: cost.Default(), unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{},
		log: slog.New(slog.DiscardHandler)}
	s.control = newControl("boot", "thishost", "/logs", "/agents", s)
	d := &mapDriver{tb: tb, cpus: cpus, c: &s.control, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := d.c
	c.clusters[localCluster] = &clusterRT{def: burst.Cluster{Name: localCluster, Provider: "local", BuiltIn: true}}
	c.projects["default"] = &projectRT{row: store.ProjectRow{Project: burst.Project{Name: "default"}},
		bytes: map[string]int64{}, recent: recentSpend{}}
	in := make([]string, n)
	for i := range in {
		in[i] = strconv.Itoa(i)
	}
	js := &burst.JobSpec{Kind: burst.KindMap, Name: "m", Project: "default", Tasks: n,
		Resources: burst.Resources{CPUs: 1}, Map: &burst.MapSpec{Template: []string{"true", "{}"}}}
	if spec != nil {
		spec(js)
	}
	c.submit(store.JobRow{Job: burst.Job{ID: 1, Name: "m", Project: "default", State: burst.Queued, Spec: js,
		Tasks: burst.TaskCounts{Total: n}, SubmittedAt: d.now}, IDSpan: 1}, [][]string{in})
	var b batch
	if _, err := c.register(&client.Register{Machine: "a", Host: "thishost", Cluster: localCluster, CPUs: cpus,
		MemBytes: 8 << 30, PID: 100, PIDStart: 1}, d.now, &b); err != nil {
		tb.Fatal(err)
	}
	d.commit(&b)
	b = batch{}
	c.place(d.now, &b)
	d.commit(&b)
	d.lease()
	d.startHeld()
	return d
}

func (d *mapDriver) commit(b *batch) {
	for {
		var next batch
		d.c.committed(b, d.now, &next)
		if next.empty() {
			return
		}
		b = &next
	}
}

// lease is the agent's lease request looking again, if it was woken.
func (d *mapDriver) lease() {
	if d.wait != nil {
		select {
		case <-d.wait:
		default:
			return // still waiting
		}
	}
	m, gen, err := d.c.beginLease(&client.Lease{Machine: "a", BootID: d.c.bootID, Ack: d.seq}, d.now)
	if err != nil {
		d.tb.Fatal(err)
	}
	out, ch, _ := d.c.leaseWork(m, gen, d.now, false)
	d.c.endLease(m, d.now)
	d.wait = ch
	if out == nil {
		return
	}
	d.leases++
	d.seq = out.Seq
	for _, a := range out.Tasks {
		d.held = append(d.held, a.TaskRef)
	}
}

func (d *mapDriver) report(evs ...client.TaskEvent) {
	var b batch
	if err := d.c.report(&client.Report{Machine: "a", BootID: d.c.bootID, Events: evs}, d.now, &b); err != nil {
		d.tb.Fatal(err)
	}
	d.commit(&b)
}

func (d *mapDriver) startHeld() {
	for len(d.running) < d.cpus && len(d.held) > 0 {
		r := d.held[0]
		d.held = d.held[1:]
		d.running = append(d.running, r)
		d.report(started(r, d.now))
	}
}

// step ends the oldest running task a millisecond on, and goes on as the
// agent does; false when nothing runs.
func (d *mapDriver) step() bool {
	if len(d.running) == 0 {
		return false
	}
	r := d.running[0]
	d.running = d.running[1:]
	d.now = d.now.Add(time.Millisecond)
	d.report(exited(r, 0, d.now))
	d.lease()
	d.startHeld()
	d.lease() // a start may have woken it too
	return true
}

// BenchmarkMapTask is the control's share of one map task.
// go test -run '^$' -bench MapTask -benchmem ./internal/server
func BenchmarkMapTask(b *testing.B) {
	d := newMapDriver(b, b.N+2, 2, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d.step()
	}
}

// A map of short tasks is prefetched: the agent holds a queue, refilled as
// tasks end. The refills are handed over in bunches once that queue runs
// low, not in a lease each, and the agent's queue never runs dry before
// the map's end.
func TestPrefetchHandedInBunches(t *testing.T) {
	const n = 2000
	d := newMapDriver(t, n, 2, nil)
	ended := 0
	for d.step() {
		ended++
		if len(d.running) < d.cpus && ended < n-40 {
			t.Fatalf("after %d tasks the agent runs %d with %d queued: its queue ran dry", ended, len(d.running), len(d.held))
		}
	}
	if ended != n {
		t.Fatalf("%d of %d tasks ran", ended, n)
	}
	// About n / (prefetch/2) = 125 leases; one a task before.
	if d.leases > n/10 {
		t.Errorf("%d leases for %d tasks: prefetched tasks are handed over one at a time", d.leases, n)
	}
	if j := d.c.jobs[1]; j != nil && !j.finished {
		t.Errorf("job not finished: %+v", j.row.Tasks)
	}
}

// burst map -j 2 on a machine of 2 CPUs: the cap cannot bind there, so the
// job's tasks are prefetched as an uncapped job's are (GNU parallel's -j
// is how many run at once: see `man parallel`, --jobs); with -j 2 on 4
// CPUs the cap binds, and the agent never holds more than 2 tasks of it.
func TestCappedMapPrefetchedWhereCapCannotBind(t *testing.T) {
	const n = 500
	d := newMapDriver(t, n, 2, func(s *burst.JobSpec) { s.MaxRunning = 2 })
	for d.step() {
	}
	if j := d.c.jobs[1]; j != nil && !j.finished { // a finished job is forgotten once committed
		t.Fatalf("-j 2: map not finished: %+v", j.row.Tasks)
	}
	if d.leases > n/10 {
		t.Errorf("-j 2 on 2 CPUs: %d leases for %d tasks, want bunches (prefetched)", d.leases, n)
	}

	d = newMapDriver(t, n, 4, func(s *burst.JobSpec) { s.MaxRunning = 2 })
	for ended := 0; ; ended++ {
		if got := len(d.running) + len(d.held); got > 2 {
			t.Fatalf("-j 2 on 4 CPUs: after %d tasks the agent holds %d of the job's tasks", ended, got)
		}
		if !d.step() {
			break
		}
	}
	if j := d.c.jobs[1]; j != nil && !j.finished {
		t.Fatalf("-j 2 on 4 CPUs: map not finished: %+v", j.row.Tasks)
	}
}
