package server

import (
	"testing"

	"github.com/burst-sh/burst"
)

// burst map -j 8 on a machine of 2 CPUs, its tasks reserving none (GNU
// parallel's -j 8: eight at once whatever the CPUs): eight run at once,
// never more, though the tasks are short (a capped job's tasks are
// prefetched where the cap cannot bind, but nothing holds back a task of
// no CPU at its agent); -j 0 runs as many as burst.MaxSharedRunning.
func TestSharedMapRunsItsCap(t *testing.T) {
	for _, c := range []struct {
		name       string
		n, jobs    int
		wantAtOnce int
	}{
		{"-j 8", 500, 8, 8},
		{"-j 0", 3000, 0, burst.MaxSharedRunning},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newMapDriver(t, c.n, 2, func(s *burst.JobSpec) {
				s.SharedCPUs, s.Resources.CPUs, s.MaxRunning = true, 0, c.jobs
			})
			d.cpus = c.n // the agent starts each task of no CPU as it comes
			d.lease()
			d.startHeld()
			most := 0
			for ended := 0; ; ended++ {
				at := len(d.running) + len(d.held)
				if at > c.wantAtOnce {
					t.Fatalf("after %d tasks the agent holds %d of the job's tasks, more than %d", ended, at, c.wantAtOnce)
				}
				most = max(most, at)
				if ended == 0 {
					var shared int
					for _, v := range d.c.machineViews(d.now) {
						for _, r := range v.Running {
							if r.Res.CPUs == 0 {
								shared += r.Count
							}
						}
					}
					if shared != c.wantAtOnce {
						t.Errorf("the scheduler's view counts %d tasks of no CPU on the machine, want %d", shared, c.wantAtOnce)
					}
				}
				if !d.step() {
					break
				}
			}
			if most != c.wantAtOnce {
				t.Errorf("at most %d ran at once, want %d", most, c.wantAtOnce)
			}
			if j := d.c.jobs[1]; j != nil && !j.finished {
				t.Fatalf("map not finished: %+v", j.row.Tasks)
			}
		})
	}
}
