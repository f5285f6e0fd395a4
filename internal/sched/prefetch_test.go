package sched

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
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

// The queue of a map of short tasks is spread over the machines able to
// run it, in proportion to their slots, each getting at most its fair
// share: the first machine to free up no longer takes 32 while the others
// are left to idle once their running tasks end.
func TestPrefetchSpreads(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cpu1 := burst.Resources{CPUs: 1}
	busy := func(id string, cpus, queued int) Machine {
		m := Machine{ID: id, Capacity: burst.Resources{CPUs: cpus}, Accepting: true, Prefetch: 32, Queued: queued}
		m.Running = []Running{{Res: burst.Resources{CPUs: cpus + queued}}}
		return m
	}
	free := busy("c-1", 2, 0)
	free.Running = nil
	boot := func(id string, cpus int) Machine {
		return Machine{ID: id, Capacity: burst.Resources{CPUs: cpus}, Booting: true}
	}
	cases := []struct {
		name     string
		count    int
		machines []Machine
		want     map[string]int // machine → tasks queued there now
		wantNow  int
	}{
		// The cloud's case: c-1 freed up first, c-2 and c-3 still run.
		{"three alike, one free", 24, []Machine{free, busy("c-2", 2, 0), busy("c-3", 2, 0)},
			map[string]int{"c-1": 8, "c-2": 7, "c-3": 7}, 2},
		{"by slots", 30, []Machine{busy("a", 1, 0), busy("b", 4, 0)}, map[string]int{"a": 6, "b": 24}, 0},
		{"what they hold counts", 10, []Machine{busy("a", 2, 8), busy("b", 2, 0)}, map[string]int{"a": 1, "b": 9}, 0},
		{"never past the budget", 200, []Machine{busy("a", 2, 30), busy("b", 2, 0)}, map[string]int{"a": 2, "b": 32}, 0},
		{"a machine without prefetch keeps its share at the server", 30,
			[]Machine{busy("a", 2, 0), func() Machine { m := busy("b", 2, 0); m.Prefetch = 0; return m }()},
			map[string]int{"a": 15}, 0},
		{"one machine takes the whole budget", 100, []Machine{busy("a", 2, 0)}, map[string]int{"a": 32}, 0},
		// The first cloud machine up, two more booting: it starts 2 and
		// queues its third of the rest; the booting ones get nothing yet.
		{"machines still booting keep their shares at the server", 32,
			[]Machine{free, boot("c-2", 2), boot("c-3", 2)}, map[string]int{"c-1": 10}, 2},
		{"a booting machine of another project keeps no share", 32,
			[]Machine{free, func() Machine { m := boot("c-2", 2); m.Project = "venus"; return m }()}, map[string]int{"c-1": 30}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as := Place(now, []Pending{{JobID: 1, Res: cpu1, Count: c.count, Prefetch: true}}, c.machines)
			got, gotNow := map[string]int{}, 0
			for _, a := range as {
				if a.Queued {
					got[a.MachineID]++
				} else {
					gotNow++
				}
			}
			if gotNow != c.wantNow || !maps.Equal(got, c.want) {
				t.Errorf("started %d and queued %v; want %d and %v", gotNow, got, c.wantNow, c.want)
			}
		})
	}
}

// A map of short tasks run by the server (Place whenever a task ends) and
// agents (each starts what it holds as slots free up) on machines of random
// sizes whose first tasks end a round apart: no machine is handed more
// than its fair share of the queue; whenever a machine has a slot free and
// nothing to start, no other machine holds more than two rounds of queued
// tasks (one, and the round by which its first task ended later, which the
// server cannot know); and the map ends within two rounds of the best
// split.
func TestPrefetchNoMachineIdles(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	cpu1 := burst.Resources{CPUs: 1}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 3))
		type agent struct {
			slots   int
			running []int // steps at which its running tasks end
			queue   int   // tasks it holds queued
		}
		agents := make([]*agent, 2+r.IntN(5))
		slots := 0
		for i := range agents {
			a := &agent{slots: 1 + r.IntN(8)}
			for range a.slots {
				a.running = append(a.running, 1+r.IntN(2)) // the first wave, staggered
			}
			agents[i] = a
			slots += a.slots
		}
		n := 1 + r.IntN(40*slots)
		left := n
		done := -slots // the first wave is other work: it ends all the same
		startQueued := func(step int) {
			for _, a := range agents {
				for a.queue > 0 && len(a.running) < a.slots {
					a.running = append(a.running, step+1)
					a.queue--
				}
			}
		}
		step := 0
		for ; done < n; step++ {
			if step > 4+2*n {
				t.Fatalf("seed %d: %d of %d tasks done after %d steps", seed, done, n, step)
			}
			for _, a := range agents {
				a.running = slices.DeleteFunc(a.running, func(end int) bool {
					if end <= step {
						done++
						return true
					}
					return false
				})
			}
			startQueued(step)
			if left > 0 {
				ms := make([]Machine, len(agents))
				for i, a := range agents {
					ms[i] = Machine{ID: strconv.Itoa(i), Capacity: burst.Resources{CPUs: a.slots}, Accepting: true,
						Prefetch: max(32, 8*a.slots), Queued: a.queue}
					for range len(a.running) + a.queue {
						ms[i].Running = append(ms[i].Running, Running{Res: cpu1, JobID: 1})
					}
				}
				held := left
				for _, a := range agents {
					held += a.queue
				}
				before := make([]int, len(agents))
				for i, a := range agents {
					before[i] = a.queue
				}
				for _, as := range Place(t0, []Pending{{JobID: 1, Res: cpu1, Count: left, Prefetch: true}}, ms) {
					a := agents[must(strconv.Atoi(as.MachineID))]
					if as.Queued {
						a.queue++
					} else {
						a.running = append(a.running, step+1)
					}
					left--
				}
				for i, a := range agents {
					if share := ceilDiv(held*a.slots, slots); a.queue > max(before[i], share) {
						t.Fatalf("seed %d step %d: machine %d (%d slots) was handed %d queued tasks, holds %d: its fair share of %d is %d",
							seed, step, i, a.slots, a.queue-before[i], a.queue, held, share)
					}
				}
			}
			startQueued(step)
			for i, b := range agents {
				if len(b.running) == b.slots || b.queue > 0 || left > 0 {
					continue
				}
				for j, a := range agents {
					if a.queue > 2*a.slots {
						t.Fatalf("seed %d step %d: machine %d (%d slots) has a slot free and nothing to start, while machine %d (%d slots) holds %d queued",
							seed, step, i, b.slots, j, a.slots, a.queue)
					}
				}
			}
		}
		// The best split ends the map ceil(n/slots) rounds after the
		// first wave (which ends by step 2); step is one past the last.
		if best := 2 + ceilDiv(n, slots) + 1; step > best+2 {
			t.Errorf("seed %d: %d tasks on %d slots took %d steps; the best split takes %d", seed, n, slots, step, best)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkPlacePrefetch is the scheduler's round while a map of short
// tasks runs: one machine of 2 CPUs, full, whose agent holds half its
// queue (the dispatch path of bench/map), and 100 machines of 8 CPUs,
// full, with empty queues (a cloud cluster's), each given its share of
// 100,000 tasks.
func BenchmarkPlacePrefetch(b *testing.B) {
	t0 := time.Unix(1_700_000_000, 0)
	full := func(id string, cpus, queued int) Machine {
		return Machine{ID: id, Capacity: burst.Resources{CPUs: cpus}, Accepting: true, Prefetch: max(32, 8*cpus), Queued: queued,
			Running: []Running{{Res: burst.Resources{CPUs: cpus + queued}, JobID: 1}}}
	}
	for _, c := range []struct {
		name     string
		machines []Machine
	}{
		{"one", []Machine{full("a", 2, 16)}},
		{"hundred", func() []Machine {
			ms := make([]Machine, 100)
			for i := range ms {
				ms[i] = full(strconv.Itoa(i), 8, 0)
			}
			return ms
		}()},
	} {
		b.Run(c.name, func(b *testing.B) {
			pending := []Pending{{JobID: 1, Res: burst.Resources{CPUs: 1}, Count: 100_000, Prefetch: true}}
			b.ReportAllocs()
			placed := 0
			for b.Loop() {
				placed = len(Place(t0, pending, c.machines))
			}
			b.ReportMetric(float64(placed), "tasks/op")
		})
	}
}
