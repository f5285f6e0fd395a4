package sched

import (
	"slices"
	"strings"
	"testing"
)

// homely is an accepting machine of cluster "c" whose agent sees the
// server's home (on its host, or a Slurm pilot on its filesystem).
func homely(id string, cpus int) Machine {
	m := mach(id, cpus, 0)
	m.Cluster, m.SeesHome = "c", true
	return m
}

// untrusted marks p as a job of a user who is not an admin.
func untrusted(p Pending) Pending {
	p.Untrusted = true
	return p
}

// TestPlaceUntrustedOffHome: a job of a user who is not an admin is
// never placed on a machine that sees the server's home, alone, as a gang
// part or prefetched; an admin's is; the reason names the way out.
func TestPlaceUntrustedOffHome(t *testing.T) {
	home, far := homely("h", 4), mach("r", 4, 0)
	far.Cluster = "c"
	if got := show(Place(t0, []Pending{untrusted(task(1, 1, 0, 2)), task(2, 1, 0, 1)}, []Machine{home})); !slices.Equal(got, []string{"2@h"}) {
		t.Errorf("one home machine: got %v, want only the admin's job 2 there", got)
	}
	if got := show(Place(t0, []Pending{untrusted(task(1, 1, 0, 2))}, []Machine{home, far})); !slices.Equal(got, []string{"1@r", "1@r"}) {
		t.Errorf("home and remote machines: got %v, want both tasks on r", got)
	}
	h := home
	h.Prefetch = 10
	if as := Place(t0, []Pending{untrusted(Pending{JobID: 1, Res: task(1, 1, 0, 1).Res, Count: 20, Prefetch: true})}, []Machine{h}); len(as) != 0 {
		t.Errorf("prefetched onto a home machine: %v", show(as))
	}
	if as := Place(t0, []Pending{untrusted(gang(1, part(1, 0, 1, ""), part(1, 0, 1, "")))}, []Machine{home}); len(as) != 0 {
		t.Errorf("a gang started on a home machine: %v", showParts(as))
	}
	_, why := Explain(t0, []Pending{untrusted(Pending{JobID: 7, Res: task(1, 1, 0, 1).Res, Count: 1, Cluster: "c"})}, []Machine{home}, 10)
	// --on is the flag that names a job's cluster (run, map, pipe); there is no --cluster.
	if r := why[7]; !strings.Contains(r, "share the server's files") || !strings.Contains(r, "--trust-members-on") ||
		!strings.Contains(r, "(--on NAME)") || strings.Contains(r, "--cluster") {
		t.Errorf("reason = %q", r)
	}
}
