package cost

import (
	"fmt"
	"math"
	"time"

	"github.com/burst-sh/burst"
)

// The guards: the guardrail, which warns as spending crosses a project's
// thresholds and acts when its budget is spent, and the forecast guards,
// which refuse a machine or a job that would overspend. Each is a function
// over a snapshot of the control plane that returns what to do; none does
// I/O or reads a clock. The server builds the snapshot under its lock and
// applies the actions.

// Account is a project's money as the guards see it.
type Account struct {
	Name      string
	Budget    Budget
	Spent     NUSD // everything charged, in the ledger or not yet
	LastSpent NUSD // as of the guardrail's last look
	Exhausted bool // the guardrail acted and the budget was not raised since
	// Cancel is --on-exhausted cancel: the guardrail cancels the
	// project's jobs too, instead of holding them.
	Cancel bool
}

// Exhausting reports whether the guardrail exhausts a's budget at its next
// look: it has one, Spent reached it, and it was not exhausted already.
func (a Account) Exhausting() bool {
	return a.Budget.Amount > 0 && a.Spent >= a.Budget.Amount && !a.Exhausted
}

// MachineUse is a machine as the meter and the guardrail see it.
type MachineUse struct {
	ID      string
	Project string  // whose cluster it is: its idle time is that project's
	PerHour float64 // its price
	PerUse  bool    // priced per use (this host): its idle time costs nothing
	// Metering is whether it costs money now (running or stopping).
	Metering bool
	// Stoppable is whether the guardrail stops it when its project's
	// budget is spent: a machine of one of the project's clusters (not
	// this host), live and not stopping already.
	Stoppable  bool
	CPUs, GPUs int
	GPUShare   float64 // what a GPU weighs against the CPUs (Catalog.GPUShare)
	Tasks      []TaskUse
}

// TaskUse is a task placed on a machine.
type TaskUse struct {
	Job        int64
	Index      int
	Project    string
	CPUs, GPUs int
	Started    bool // its agent started it: it is charged
	// Ending is whether it is already being stopped (cancelled, or
	// preempted by its machine's stop): the guardrail leaves it alone.
	Ending bool
}

// JobUse is a job that has not ended and whose cancel was not asked.
type JobUse struct {
	ID      int64
	Project string
}

// Snapshot is what the guardrail looks at: the projects (in the order
// their actions should come), the machines (likewise) and the jobs that
// still run or wait (in submission order).
type Snapshot struct {
	Accounts []Account
	Machines []MachineUse
	Jobs     []JobUse
}

// ActionKind says what an Action asks for.
type ActionKind int

const (
	// ActWarn writes a warning to the audit trail: spending crossed the
	// threshold Threshold of the project's budget.
	ActWarn ActionKind = iota + 1
	// ActCancelJob cancels job Job: its budget is spent and it says cancel.
	ActCancelJob
	// ActStopMachine stops machine Machine: its project's budget is spent.
	// The tasks it runs are requeued once it is gone.
	ActStopMachine
	// ActStopTask stops task Job/Task on machine Machine, which the
	// project does not own and which goes on: the task is requeued.
	ActStopTask
	// ActExhaust marks the project's budget spent: it admits no new job
	// and what waits is held, until the budget is raised. Message is the
	// audit event that says what was done; it comes after the stops.
	ActExhaust
)

// Action is one thing the guardrail asks the server to do.
type Action struct {
	Kind      ActionKind
	Project   string
	Threshold float64 // ActWarn: the fraction of the budget crossed
	Machine   string  // ActStopMachine, ActStopTask
	Job       int64   // ActCancelJob, ActStopTask
	Task      int     // ActStopTask: the task's index
	// Message is the audit event's text (ActWarn, ActExhaust) or why
	// work stops (ActCancelJob, ActStopMachine, ActStopTask).
	Message string
}

// Guard is the guardrail: for each account, a warning per threshold that
// spending crossed since the guardrail's last look (LastSpent, in (LastSpent,
// Spent]), and, once Spent reaches the budget, what exhausting it takes. A
// project already exhausted, or without a budget, gets no action beyond its
// warnings. The caller records each account's Spent as its next LastSpent.
func Guard(s Snapshot) []Action {
	var out []Action
	for _, a := range s.Accounts {
		if a.Budget.Amount <= 0 {
			continue
		}
		for _, th := range Crossed(a.Budget, a.LastSpent, a.Spent) {
			if th >= 1 {
				continue // below, with what is done
			}
			out = append(out, Action{Kind: ActWarn, Project: a.Name, Threshold: th,
				Message: fmt.Sprintf("project %s has spent %s, %.0f%% of its %s budget", a.Name, a.Spent, th*100, a.Budget.Amount)})
		}
		if a.Exhausting() {
			out = append(out, exhaust(a, s)...)
		}
	}
	return out
}

// exhaust is what a spent budget takes: with cancel, its jobs are
// cancelled; its machines stop (their tasks are requeued when they are
// gone); its tasks on machines it does not own are stopped and requeued;
// then the project is marked exhausted, which holds what waits.
func exhaust(a Account, s Snapshot) []Action {
	name := a.Name
	why := fmt.Sprintf("budget of project %s spent (%s of %s)", name, a.Spent, a.Budget.Amount)
	var out []Action
	cancelled := map[int64]bool{}
	if a.Cancel {
		for _, j := range s.Jobs {
			if j.Project == name {
				cancelled[j.ID] = true
				out = append(out, Action{Kind: ActCancelJob, Project: name, Job: j.ID, Message: "cancelled: " + why})
			}
		}
	}
	stopped, requeued := 0, 0
	for _, m := range s.Machines {
		if m.Stoppable && m.Project == name {
			for _, t := range m.Tasks {
				if !t.Ending && !cancelled[t.Job] {
					requeued++
				}
			}
			out = append(out, Action{Kind: ActStopMachine, Project: name, Machine: m.ID, Message: why})
			stopped++
			continue
		}
		// Its tasks on machines it does not own stop; the machines go on.
		for _, t := range m.Tasks {
			if t.Project != name || t.Ending || cancelled[t.Job] {
				continue
			}
			out = append(out, Action{Kind: ActStopTask, Project: name, Machine: m.ID, Job: t.Job, Task: t.Index, Message: why})
			requeued++
		}
	}
	msg := fmt.Sprintf("%s: admission stopped, %s stopped, %s requeued", why, burst.Plural(stopped, "machine"), burst.Plural(requeued, "task"))
	if len(cancelled) > 0 {
		msg += fmt.Sprintf(", %s cancelled", burst.Plural(len(cancelled), "job"))
	}
	msg += "; raise the budget with `burst project set " + name + " --budget AMOUNT`"
	return append(out, Action{Kind: ActExhaust, Project: name, Message: msg})
}

// Lifts reports whether changing the budget of a project whose budget is
// spent (spent so far) to amount lifts its guardrail: held work runs again.
// It does with no budget, or one above what was spent; one that is only
// reached would be exhausted again at once.
func Lifts(amount, spent NUSD) bool {
	return amount <= 0 || amount > spent
}

// Burn is what project spends per hour now: its share of the metering
// machines its started tasks use, the part of its own machines (not
// priced per use) that no task uses, and storagePerHour.
func Burn(project string, machines []MachineUse, storagePerHour float64) float64 {
	var perHour float64
	for _, m := range machines {
		if !m.Metering {
			continue
		}
		var loads []Hold
		var mine []bool
		for _, t := range m.Tasks {
			if t.Started {
				loads = append(loads, Hold{t.CPUs, t.GPUs})
				mine = append(mine, t.Project == project)
			}
		}
		used := 0.0
		for i, w := range splitWeights(Shares(nil, loads, m.CPUs, m.GPUs, m.GPUShare)) {
			used += w
			if mine[i] {
				perHour += w * m.PerHour
			}
		}
		if !m.PerUse && m.Project == project && used < 1 {
			perHour += (1 - used) * m.PerHour
		}
	}
	return perHour + storagePerHour
}

// exhaustedMsg is the refusal of a project whose budget is spent.
func exhaustedMsg(a Account, what string) string {
	return fmt.Sprintf("project %s has spent its budget (%s of %s): %s. Raise it with `burst project set %s --budget AMOUNT`",
		a.Name, a.Spent, a.Budget.Amount, what, a.Name)
}

// MachineAsk is a machine about to start, for the forecast guard.
type MachineAsk struct {
	Type    string  // its machine type's name, for the message
	PerHour float64 // its price
	// IdleStop is how long it stays once its work ends; 0: it does not
	// stop for idleness.
	IdleStop time.Duration
}

// AdmitMachine is the forecast guard for a new machine of a's: refused
// (the error says why and what to do) when its project's budget is spent,
// or when an hour of it, or its idle-stop if shorter (the least it runs
// once its work ends), would cost more than the project has left.
func AdmitMachine(a Account, m MachineAsk) error {
	if a.Exhausted {
		return fmt.Errorf("%s", exhaustedMsg(a, "no machine starts for it"))
	}
	if a.Budget.Amount <= 0 {
		return nil
	}
	d := time.Hour
	if m.IdleStop > 0 && m.IdleStop < d {
		d = m.IdleStop
	}
	want := Accrue(m.PerHour, d)
	left := a.Budget.Amount - a.Spent
	if want > left {
		return fmt.Errorf("project %s has spent %s of its %s budget (%s left); a %s machine for %s would cost %s: raise the budget with `burst project set %s --budget AMOUNT`, or pick a cheaper --type",
			a.Name, a.Spent, a.Budget.Amount, left, m.Type, d, want, a.Name)
	}
	return nil
}

// JobAsk is a job about to be admitted, for the forecast guard: its tasks
// and what each asks for, and the cheapest machine it could run on.
type JobAsk struct {
	Tasks      int
	CPUs, GPUs int
	TimeLimit  time.Duration // 0: none, and no forecast
	Cluster    string        // for the message
	PerHour    float64       // the machine's price
	CapCPUs    int           // the machine's CPUs
	CapGPUs    int           // and GPUs
	GPUShare   float64       // what a GPU weighs there (Catalog.GPUShare)
}

// AdmitJob is the forecast guard for a new job of a's: refused when its
// project's budget is spent, or when its tasks, each at most its time limit
// on its share of the machine, could cost more than the project has left.
// A job without a time limit cannot be forecast: the guardrail stops it
// when the budget is spent.
func AdmitJob(a Account, j JobAsk) error {
	if a.Exhausted {
		return fmt.Errorf("%s", exhaustedMsg(a, "no new work is admitted"))
	}
	if a.Budget.Amount <= 0 || j.TimeLimit <= 0 {
		return nil
	}
	share := Weight(j.CPUs, j.GPUs, j.CapCPUs, j.CapGPUs, j.GPUShare)
	per := Accrue(j.PerHour*share, j.TimeLimit)
	n := max(j.Tasks, 1)
	want := per * NUSD(n)
	if per > 0 && NUSD(n) > math.MaxInt64/per {
		want = math.MaxInt64 // more than any budget; the product would wrap
	}
	left := a.Budget.Amount - a.Spent
	if want > left {
		return fmt.Errorf("project %s has spent %s of its %s budget (%s left); this job could cost up to %s (%d tasks × %s × $%.4g/h on %s): raise the budget with `burst project set %s --budget AMOUNT`, or ask for less time",
			a.Name, a.Spent, a.Budget.Amount, left, want, n, j.TimeLimit, j.PerHour*share, j.Cluster, a.Name)
	}
	return nil
}
