package sched

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// joined is an accepting machine of cluster "lab" bound to project (a
// machine that joined for it).
func joined(id string, cpus int, project string, running ...Running) Machine {
	m := mach(id, cpus, 0, running...)
	m.Cluster, m.Project = "lab", project
	return m
}

// of sets p's project.
func of(project string, p Pending) Pending {
	p.Project = project
	return p
}

// TestPlaceBoundMachines: a machine bound to a project takes that
// project's work only, whether placed now, prefetched, as a gang's part,
// or reserved for by a head that waits; and another project's work waits
// with a reason that says so.
func TestPlaceBoundMachines(t *testing.T) {
	tests := []struct {
		name     string
		machines []Machine
		pending  []Pending
		want     []string
	}{
		{"its project's task goes there, another's does not",
			[]Machine{joined("j", 4, "mars")},
			[]Pending{of("venus", task(1, 1, 0, 2)), of("mars", task(2, 1, 0, 1))},
			[]string{"2@j"}},
		{"a task of any cluster skips machines bound to another project",
			[]Machine{joined("j", 8, "mars"), mach("a", 1, 0)},
			[]Pending{of("venus", Pending{JobID: 1, Res: task(1, 1, 0, 1).Res, Count: 3})},
			[]string{"1@a"}},
		{"unbound machines take every project's work",
			[]Machine{mach("a", 2, 0)},
			[]Pending{of("venus", task(1, 1, 0, 1)), of("mars", task(2, 1, 0, 1))},
			[]string{"1@a", "2@a"}},
		{"another project's head reserves nothing there",
			// Job 1 (venus) can never run on j; if it reserved j, job 2
			// (no time limit) would be kept off it.
			[]Machine{joined("j", 2, "mars", busy(1, time.Hour))},
			[]Pending{of("venus", task(1, 2, 0, 1)), of("mars", task(2, 1, 0, 1))},
			[]string{"2@j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := show(Place(t0, tt.pending, tt.machines))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("prefetch skips machines bound to another project", func(t *testing.T) {
		j := joined("j", 1, "mars")
		j.Prefetch = 10
		as := Place(t0, []Pending{of("venus", Pending{JobID: 1, Res: task(1, 1, 0, 1).Res, Count: 20, Prefetch: true})}, []Machine{j})
		if len(as) != 0 {
			t.Errorf("venus's tasks placed on mars's machine: %v", show(as))
		}
		as = Place(t0, []Pending{of("mars", Pending{JobID: 1, Res: task(1, 1, 0, 1).Res, Count: 20, Prefetch: true})}, []Machine{j})
		if len(as) != 11 {
			t.Errorf("mars's tasks: placed %d (%v), want 1 now and 10 queued", len(as), show(as))
		}
	})

	t.Run("a gang's parts skip machines bound to another project", func(t *testing.T) {
		ms := []Machine{joined("j", 8, "mars"), mach("a", 2, 0)}
		g := of("venus", gang(1, part(1, 0, 1, ""), part(1, 0, 2, "")))
		if as := Place(t0, []Pending{g}, ms); len(as) != 0 {
			t.Errorf("venus's gang started: %v", showParts(as))
		}
		g.Project = "mars"
		if got := showParts(Place(t0, []Pending{g}, ms)); !slices.Equal(got, []string{"1/0@a", "1/1@a", "1/1@j"}) {
			t.Errorf("mars's gang: got %v", got)
		}
	})

	t.Run("the reason names the project the machines are bound to", func(t *testing.T) {
		_, why := Explain(t0, []Pending{of("venus", Pending{JobID: 7, Res: task(1, 1, 0, 1).Res, Count: 1, Cluster: "lab"})},
			[]Machine{joined("j", 4, "mars")}, 10)
		if r := why[7]; !strings.Contains(r, "cluster lab run only project mars's work") || !strings.Contains(r, `of project "venus"`) ||
			!strings.Contains(r, "(--on NAME)") || strings.Contains(r, "--cluster") {
			t.Errorf("reason = %q", r)
		}
	})
}
