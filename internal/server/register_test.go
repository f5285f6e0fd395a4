package server

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
)

// TestRegisterRefusals: an agent is turned away, saying what to do, when
// its machine is still being started, stopped by its provider, being
// stopped, an agent that came back too late (a new one serves the host),
// or a joined machine that a person or a guardrail stopped (until `burst
// machine start` lets it back) or terminated (a new token joins it again).
func TestRegisterRefusals(t *testing.T) {
	reg := func(h *harness, machine, cluster string, pid int) error {
		var err error
		h.do(func(b *batch) {
			_, err = h.c.register(&client.Register{Machine: machine, Host: "thishost", Cluster: cluster, CPUs: 2,
				MemBytes: 8 << 30, PID: pid, PIDStart: 1}, h.now, b)
		})
		return err
	}
	for _, c := range []struct {
		name    string
		cluster string
		set     func(m *machineRT)
		pid     int
		refused string // "" when taken
	}{
		{"a running machine", "lab", func(*machineRT) {}, 100, ""},
		{"being started", "lab", func(m *machineRT) { m.starting = true }, 100, "still being started"},
		{"its agent came back too late", localCluster, func(m *machineRT) { m.doomed = 100 }, 100, "came back too late"},
		{"a new agent after one doomed", localCluster, func(m *machineRT) { m.doomed = 100 }, 101, ""},
		{"a joined machine terminated", "lab", func(m *machineRT) { m.row.State = burst.MachineTerminated }, 100, "join it again with a new token"},
		{"a joined machine stopped", "lab", func(m *machineRT) { m.row.State = burst.MachineStopped }, 100, "let it back with `burst machine start"},
		{"a joined machine stopped, let back", "lab", func(m *machineRT) { m.row.State, m.mayReturn = burst.MachineStopped, true }, 100, ""},
		{"a joined machine stopping", "lab", func(m *machineRT) { m.row.State = burst.MachineStopping }, 100, "is stopping"},
		{"a provider's machine stopped", "cloud", func(m *machineRT) { m.row.Provider, m.row.State = "aws", burst.MachineStopped }, 100, "start it with `burst machine start"},
	} {
		h := newHarness(t)
		h.c.clusters["lab"] = &clusterRT{def: burst.Cluster{Name: "lab", Provider: "joined"}, prov: &provider.Joined{}}
		h.c.clusters["cloud"] = &clusterRT{def: burst.Cluster{Name: "cloud", Provider: "aws"}}
		if err := reg(h, "a", c.cluster, 100); err != nil {
			t.Fatalf("%s: the first register: %v", c.name, err)
		}
		c.set(h.c.machines["a"])
		err := reg(h, "a", c.cluster, c.pid)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: refused (%v); want it taken", c.name, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: %v; want refused saying %q", c.name, err, c.refused)
		}
	}
}

// TestRegisterRecords: what a register records of a machine: a joined one
// is "joined" and its cluster's project's; a machine of Slurm's own queue
// says so; one of a cluster the server does not know is the default
// project's; a machine is up (its
// meter running) from its first register, not from each one after.
func TestRegisterRecords(t *testing.T) {
	h := newHarness(t)
	h.c.clusters["lab"] = &clusterRT{def: burst.Cluster{Name: "lab", Provider: "joined", Project: "mars"}, prov: &provider.Joined{}}
	h.c.clusters["hpc:native"] = &clusterRT{def: burst.Cluster{Name: "hpc:native", Provider: "slurm", Project: "venus"}}
	reg := func(machine, cluster string) {
		t.Helper()
		h.do(func(b *batch) {
			if _, err := h.c.register(&client.Register{Machine: machine, Host: "h-" + machine, Cluster: cluster, CPUs: 2,
				MemBytes: 8 << 30, PID: 100, PIDStart: 1}, h.now, b); err != nil {
				t.Fatal(err)
			}
		})
	}
	first := h.now
	reg("j", "lab")
	reg("n", "hpc:native")
	reg("u", "unknown")
	for _, c := range []struct{ id, typ, project string }{
		{"j", "joined", "mars"}, {"n", "Slurm's own jobs", "venus"}, {"u", "", "default"},
	} {
		m := h.c.machines[c.id]
		if c.typ != "" && m.row.Type != c.typ || m.row.Project != c.project {
			t.Errorf("machine %s: type %q, project %q; want %q, %q", c.id, m.row.Type, m.row.Project, c.typ, c.project)
		}
	}
	h.tick(time.Minute)
	reg("j", "lab") // its agent again, the machine still up
	if at := h.c.machines["j"].row.StartedAt; at == nil || !at.Equal(first) {
		t.Errorf("machine j, registered again while up: started at %v; want %v, its first register", at, first)
	}
}
