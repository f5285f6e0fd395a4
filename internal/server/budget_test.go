package server

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
)

// guard runs the guardrail once, as the meter does after charging.
func (h *harness) guard() { h.do(func(b *batch) { h.srv.guard(h.now, b) }) }

// spend sets what project name has spent to usd dollars.
func (h *harness) spend(name string, usd float64) { h.c.projects[name].spent = cost.NUSD(usd * 1e9) }

// guardEvents are the guardrail's audit events since from, as
// "kind:result".
func (h *harness) guardEvents(from int) []string {
	var out []string
	for _, e := range h.events[from:] {
		if strings.HasPrefix(e.Kind, "guardrail.") {
			out = append(out, e.Kind+":"+e.Result)
		}
	}
	return out
}

// The guardrail as the control sees it, for a $10 budget warned at 50% and
// 80% (README, "Guardrails"): each threshold is recorded once, when spending
// reaches it (not a nano-dollar before); the budget itself exhausts the
// project, whose row says so; crossing every line in one look records each.
func TestGuardThresholds(t *testing.T) {
	steps := []struct {
		spent float64
		want  []string
	}{
		{4.99, nil},
		{5.00, []string{"guardrail.warn:warned"}},
		{5.01, nil},
		{7.999999999, nil},
		{8.00, []string{"guardrail.warn:warned"}},
		{9.999999999, nil},
		{10.00, []string{"guardrail.exhausted:acted"}},
		{12.00, nil},
	}
	h := newHarness(t)
	h.project("default", 10, "")
	for _, s := range steps {
		from := len(h.events)
		h.spend("default", s.spent)
		h.guard()
		if got := h.guardEvents(from); fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("at $%.9f: %v, want %v", s.spent, got, s.want)
		}
		exhausted := s.spent >= 10
		if h.c.projects["default"].row.Exhausted != exhausted || h.projects["default"].Exhausted != exhausted {
			t.Fatalf("at $%.9f: exhausted in memory %v, in its row %v; want %v", s.spent,
				h.c.projects["default"].row.Exhausted, h.projects["default"].Exhausted, exhausted)
		}
	}

	h = newHarness(t)
	h.project("default", 10, "")
	h.spend("default", 10)
	h.guard()
	if got := h.guardEvents(0); fmt.Sprint(got) != "[guardrail.warn:warned guardrail.warn:warned guardrail.exhausted:acted]" {
		t.Fatalf("all at once: %v", got)
	}
}

// A spent budget, as the state machine applies it: with --on-exhausted
// stop (the default) what waits is held (not placed, no machine asked
// for), what runs is stopped and requeued with its attempt (not a
// failure), and once the budget is raised the work runs to the end; with
// --on-exhausted cancel its jobs are cancelled. Work of other projects
// goes on.
func TestExhaustedProject(t *testing.T) {
	for _, on := range []string{burst.OnExhaustedStop, burst.OnExhaustedCancel} {
		t.Run(on, func(t *testing.T) {
			h := newHarness(t)
			h.project("mars", 10, on)
			h.register("a", 2)
			id := h.submit(4, func(s *burst.JobSpec) { s.Project = "mars" })
			h.place()
			seq, refs := h.startAll("a", 0)
			if len(refs) != 2 {
				t.Fatalf("started %v", refs)
			}
			h.spend("mars", 10)
			h.guard()
			l := h.lease("a", seq)
			// The cancels may come in any order: compare them as sets.
			if l == nil || fmt.Sprint(sortedRefs(l.Cancel)) != fmt.Sprint(sortedRefs(refs)) || len(l.Tasks) != 0 {
				t.Fatalf("the agent was not told to stop %v alone: %+v", refs, l)
			}
			var evs []client.TaskEvent
			for _, r := range refs {
				evs = append(evs, client.TaskEvent{TaskRef: r, Kind: client.EventExited, State: burst.Cancelled, EndedAt: &h.now})
			}
			h.report("a", evs...)
			if on == burst.OnExhaustedCancel {
				h.wantTask(id, 0, burst.Cancelled, 1, 0)
				h.wantJob(id, burst.Cancelled, -1)
				if r := h.job(id).Reason; !strings.Contains(r, "budget of project mars spent") {
					t.Fatalf("reason %q", r)
				}
				return
			}
			h.wantTask(id, 0, burst.Queued, 1, 1)
			h.wantTask(id, 1, burst.Queued, 1, 1)
			if st := h.job(id).State; st != burst.Queued {
				t.Fatalf("job %s, want queued (held)", st)
			}
			other := h.submit(1) // project default: not held
			h.place()
			if n := len(h.c.jobs[id].running); n != 0 {
				t.Fatalf("a held job had %d tasks placed", n)
			}
			if n := len(h.c.jobs[other].running); n != 1 {
				t.Fatalf("another project's job had %d tasks placed, want 1", n)
			}
			wantDemand(t, h)
			h.drive("a", 5, always(0))
			h.wantJob(other, burst.Succeeded, 0)

			// The budget raised (UpdateProject lifts the guardrail so).
			p := h.c.projects["mars"]
			p.row.BudgetNUSD, p.row.Exhausted = 20e9, false
			h.drive("a", 10, always(0))
			h.wantTask(id, 0, burst.Succeeded, 2, 1)
			h.wantTask(id, 3, burst.Succeeded, 1, 0)
			h.wantJob(id, burst.Succeeded, 0)
		})
	}
}

// sortedRefs is refs in job, index and attempt order.
func sortedRefs(refs []client.TaskRef) []client.TaskRef {
	out := slices.Clone(refs)
	slices.SortFunc(out, func(a, b client.TaskRef) int {
		return cmp.Or(cmp.Compare(a.Job, b.Job), cmp.Compare(a.Index, b.Index), cmp.Compare(a.Attempt, b.Attempt))
	})
	return out
}
