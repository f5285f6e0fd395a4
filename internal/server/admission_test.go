package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/provider"
)

// job is a run of one task of cpus CPUs on cluster (local when "") for
// project.
func job(project, cluster string, cpus int) *burst.JobSpec {
	return &burst.JobSpec{Kind: burst.KindRun, Name: "j", Project: project, Cluster: cluster, Tasks: 1,
		Argv: []string{"true"}, Resources: burst.Resources{CPUs: cpus}}
}

// The submit event admits what some machine could ever run, for a project
// that may spend, and refuses the rest with one line that names the fix;
// each refusal is in the audit trail, as the refused submit of its actor.
func TestAdmission(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(h *harness)
		spec  *burst.JobSpec
		want  []string // in the error, in order; none: admitted
	}{
		{"fits", nil, job("default", "", 4), nil},
		{"larger than any machine", nil, job("default", "", 64),
			[]string{"no machine can offer 64 CPUs", "ask for at most 4 CPUs"}},
		{"unknown project", nil, job("mars", "", 1),
			[]string{`no project "mars"`, "the projects are default", "`burst project create mars --budget AMOUNT`"}},
		{"unknown cluster", nil, job("default", "gpu", 1),
			[]string{`no cluster "gpu"`, "the clusters are local", "`burst cluster create NAME --type TYPE`"}},
		{"project spent", func(h *harness) {
			p := h.project("default", 10, "")
			p.row.Exhausted, p.spent = true, 10e9
		}, job("default", "", 1), []string{"project default has spent its budget ($10.00 of $10.00)", "`burst project set default --budget AMOUNT`"}},
		{"a lost machine does not count", func(h *harness) {
			h.register("big", 64)
			h.do(func(b *batch) { h.c.loseMachine(h.c.machines["big"], "gone", h.now, b) })
		}, job("default", "", 32), []string{"no machine can offer 32 CPUs", "ask for at most 4 CPUs"}},
		{"a cluster that can grow counts its type", func(h *harness) {
			h.c.clusters["big"] = &clusterRT{def: burst.Cluster{Name: "big", Max: 2}, typ: cost.Type{Name: "x.large", VCPUs: 16, MemBytes: 64 << 30}}
		}, job("default", "big", 16), nil},
		{"beyond what its type has", func(h *harness) {
			h.c.clusters["big"] = &clusterRT{def: burst.Cluster{Name: "big", Max: 2}, typ: cost.Type{Name: "x.large", VCPUs: 16, MemBytes: 64 << 30}}
		}, job("default", "big", 17), []string{"no machine can offer 17 CPUs", "ask for at most 16 CPUs"}},
		{"a cluster whose machines run no agent (elastic Slurm nodes)", func(h *harness) {
			h.c.clusters["elastic"] = &clusterRT{def: burst.Cluster{Name: "elastic", Provider: provider.SlurmNodesName, Max: 2},
				typ: cost.Type{Name: "x.large", VCPUs: 16, MemBytes: 64 << 30}, prov: &provider.SlurmNodes{}}
		}, job("default", "elastic", 1), []string{"cluster elastic is made of slurm-nodes machines, which run no burst agent", "`burst cluster list`"}},
		{"--native on a cluster not of slurm", nil, func() *burst.JobSpec { s := job("default", "", 1); s.Native = true; return s }(),
			[]string{"--native runs a job with sbatch on a cluster of the slurm provider; local is a cluster of the local provider"}},
		{"--native on no cluster", nil, func() *burst.JobSpec { s := job("default", "hpc", 1); s.Native = true; return s }(),
			[]string{"there is no cluster hpc", "burst cluster create hpc --provider slurm"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", 4)
			if c.setup != nil {
				c.setup(h)
			}
			before := len(h.events)
			err := h.admit(c.spec)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(h.events) != before {
					t.Fatalf("an admitted job wrote %v", h.events[before:])
				}
				return
			}
			if err == nil {
				t.Fatal("admitted")
			}
			var bad *errBadRequest
			if !errors.As(err, &bad) {
				t.Errorf("%T %v: want the caller's to fix (400)", err, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("%q: want one line", msg)
			}
			at := 0
			for _, w := range c.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("%q: want %q (after %q)", msg, w, msg[:at])
				}
				at += i + len(w)
			}
			if len(h.events) != before+1 {
				t.Fatalf("audit events: %v, want the refusal", h.events[before:])
			}
			ev := h.events[before]
			if ev.Kind != "job.submit" || ev.Result != "refused" || ev.Actor != "ann" || ev.Message != msg || !ev.At.Equal(h.now) {
				t.Errorf("audit event %+v", ev)
			}
		})
	}
}
