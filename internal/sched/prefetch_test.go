package sched

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func TestPrefetch(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cpu1 := burst.Resources{CPUs: 1}
	m := func(prefetch, queued int, running int) Machine {
		mm := Machine{ID: "a", Capacity: burst.Resources{CPUs: 2, MemBytes: 4 << 30}, Accepting: true, Prefetch: prefetch, Queued: queued}
		for range running {
			mm.Running = append(mm.Running, Running{Res: cpu1})
		}
		return mm
	}
	count := func(as []Assignment) (now, queued int) {
		for _, a := range as {
			if a.Queued {
				queued++
			} else {
				now++
			}
		}
		return
	}
	cases := []struct {
		name             string
		pending          []Pending
		machine          Machine
		wantNow, wantQue int
	}{
		{"fills then queues up to the budget", []Pending{{JobID: 1, Res: cpu1, Count: 100, Prefetch: true}}, m(10, 0, 0), 2, 10},
		{"budget counts what is queued", []Pending{{JobID: 1, Res: cpu1, Count: 100, Prefetch: true}}, m(10, 6, 8), 0, 4},
		{"no prefetch for jobs not known short", []Pending{{JobID: 1, Res: cpu1, Count: 100}}, m(10, 0, 0), 2, 0},
		{"never past a task that may not be prefetched",
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 2}, Count: 5}, {JobID: 2, Res: cpu1, Count: 5, Prefetch: true}}, m(10, 0, 0), 1, 0},
		{"tasks with GPUs are never prefetched", []Pending{{JobID: 1, Res: burst.Resources{CPUs: 1, GPUs: 1}, Count: 5, Prefetch: true}}, m(10, 0, 2), 0, 0},
		{"only what fits the machine's capacity", []Pending{{JobID: 1, Res: burst.Resources{CPUs: 4}, Count: 5, Prefetch: true}}, m(10, 0, 0), 0, 0},
		{"prefetch off", []Pending{{JobID: 1, Res: cpu1, Count: 100, Prefetch: true}}, m(0, 0, 0), 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as := Place(now, c.pending, []Machine{c.machine})
			gotNow, gotQ := count(as)
			if gotNow != c.wantNow || gotQ != c.wantQue {
				t.Errorf("placed %d now and %d queued; want %d and %d (%+v)", gotNow, gotQ, c.wantNow, c.wantQue, as)
			}
		})
	}
}
