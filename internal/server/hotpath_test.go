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

// BenchmarkMapTask is the control's share of one map task's way through
// the server, as an agent with 2 CPUs drives a map of `true`: the report
// of the task's exit (which places the next), the lease that hands it
// over, the report of its start. No store, no HTTP: what the lock holds.
// go test -run '^$' -bench MapTask -benchmem ./internal/server
func BenchmarkMapTask(b *testing.B) {
	s := &Server{catalog: cost.Default(), unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{},
		log: slog.New(slog.DiscardHandler)}
	s.control = newControl("boot", "thishost", "/logs", "/agents", s)
	c := &s.control
	c.clusters[localCluster] = &clusterRT{def: burst.Cluster{Name: localCluster, Provider: "local", BuiltIn: true}}
	c.projects["default"] = &projectRT{row: store.ProjectRow{Project: burst.Project{Name: "default"}},
		bytes: map[string]int64{}, recent: recentSpend{}}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := b.N + 2
	in := make([]string, n)
	for i := range in {
		in[i] = strconv.Itoa(i)
	}
	spec := &burst.JobSpec{Kind: burst.KindMap, Name: "m", Project: "default", Tasks: n,
		Resources: burst.Resources{CPUs: 1}, Map: &burst.MapSpec{Template: []string{"true", "{}"}}}
	c.submit(store.JobRow{Job: burst.Job{ID: 1, Name: "m", Project: "default", State: burst.Queued, Spec: spec,
		Tasks: burst.TaskCounts{Total: n}, SubmittedAt: now}, IDSpan: 1}, [][]string{in})
	commit := func(bt *batch) {
		for {
			var next batch
			c.committed(bt, now, &next)
			if next.empty() {
				return
			}
			bt = &next
		}
	}
	var bt batch
	if _, err := c.register(&client.Register{Machine: "a", Host: "thishost", Cluster: localCluster, CPUs: 2,
		MemBytes: 8 << 30, PID: 100, PIDStart: 1}, now, &bt); err != nil {
		b.Fatal(err)
	}
	commit(&bt)
	bt = batch{}
	c.place(now, &bt)
	commit(&bt)
	var seq uint64
	lease := func() []client.TaskRef {
		m, gen, err := c.beginLease(&client.Lease{Machine: "a", BootID: c.bootID, Ack: seq}, now)
		if err != nil {
			b.Fatal(err)
		}
		out, _, _ := c.leaseWork(m, gen, now)
		c.endLease(m, now)
		if out == nil {
			return nil
		}
		seq = out.Seq
		refs := make([]client.TaskRef, len(out.Tasks))
		for i, a := range out.Tasks {
			refs[i] = a.TaskRef
		}
		return refs
	}
	report := func(evs ...client.TaskEvent) {
		var bt batch
		if err := c.report(&client.Report{Machine: "a", BootID: c.bootID, Events: evs}, now, &bt); err != nil {
			b.Fatal(err)
		}
		commit(&bt)
	}
	// The agent runs 2 at once and holds the rest of what it leased
	// (prefetched) until a slot frees.
	var held, running []client.TaskRef
	startHeld := func() {
		for len(running) < 2 && len(held) > 0 {
			r := held[0]
			held = held[1:]
			running = append(running, r)
			report(started(r, now))
		}
	}
	held = lease()
	startHeld()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := running[0]
		running = running[1:]
		now = now.Add(time.Millisecond)
		report(exited(r, 0, now))
		held = append(held, lease()...)
		startHeld()
	}
}
