package scale

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Cluster is what the autoscaler needs to know about one cluster now.
type Cluster struct {
	Name     string
	Min, Max int
	IdleStop time.Duration   // 0 = never stop idle machines
	Capacity burst.Resources // one machine of the cluster's type
	On       bool            // the schedule says on now
	// Why describes the schedule's state for the reason of stops while
	// off, e.g. Schedule.Status: "off until Mon 08:00". Empty: "off".
	Why string
	// Blocked, when not empty, says why no machine may start (e.g. "budget
	// exhausted: $100.00 of $100.00 spent"); it is the reason of stops too.
	Blocked string
	// StopBlocked, with Blocked, also stops every live machine now.
	StopBlocked bool
	// KeepPending is how many pending machines are kept whatever the need
	// now: the need of the last WithdrawGrace (RecentNeed), so that a queue
	// that empties and fills again a moment later (a workflow's next
	// stage) finds its pilots still in their provider's queue, where they
	// would otherwise be withdrawn and asked for again, at the back.
	KeepPending int
	// NoRoom, when not empty, says why no machine fits where the cluster
	// starts them now (its host is full); unlike Blocked, Min and idle
	// stops apply as usual.
	NoRoom string
	// Yield, when not empty, says what other work waits for the place the
	// cluster's machines hold in their provider (a native Slurm job
	// pending in the partition its pilots fill): its idle machines give
	// way at once rather than after IdleStop (even with IdleStop 0), and
	// pending ones no work needs are withdrawn without KeepPending's
	// grace. Min still holds.
	Yield string
}

// Machine is what the autoscaler needs to know about one machine.
type Machine struct {
	ID, Cluster string
	State       State // Pending, Running, Stopping, Stopped, Terminated or Lost
	Busy        bool  // runs or holds tasks
	// Free is what the machine can take now: its capacity less what its
	// tasks hold, for a running machine that takes tasks (registered, not
	// draining); zero otherwise. Plan nets waiting work against it.
	Free      burst.Resources
	IdleSince time.Time // when it last became idle (or started); zero: not known, never stopped for idleness
	// PendingSince is when a Pending machine was asked to start. When
	// pending machines are withdrawn, the latest asked go first (an
	// earlier one is nearer the front of its provider's queue); zero sorts
	// as the earliest.
	PendingSince time.Time
	// Manual marks a machine a person started or stopped last. A manually
	// started machine is stopped for idleness like any other. A manually
	// stopped one (Stopping or Stopped) stays stopped until a person starts
	// it: the autoscaler never starts it again, and it still counts towards
	// Min, so that no other machine starts to undo the person's decision.
	// Waiting work may still start other machines, within Max.
	Manual bool
}

// Demand is Count tasks of one shape that wait in Cluster. Plan takes off
// what running machines can take now (their Free), and counts the pending
// machines as taking work when they come up.
type Demand struct {
	Cluster string
	Res     burst.Resources
	Count   int
}

// Action is one decision: start a machine in Cluster, or stop Machine.
type Action struct {
	Start   bool   // true: start a machine in Cluster; false: stop Machine
	Cluster string // always set
	// Machine is the machine to stop, or the stopped (or lost) machine to
	// start again; empty: start a new one.
	Machine string
	// Reason is for people and the audit trail, e.g. "3 tasks wait (1 CPU
	// each); 1 machine of 2 CPUs takes 2", "idle 5m0s (idle-stop 5m0s)",
	// "schedule: off until Mon 08:00", "below min 1".
	Reason string
}

// Fits returns how many tasks of res fit on one machine of capacity at
// once. A task that reserves no CPU (CPUs 0: a map's --cpus 0, bounded by
// its -j) takes none of the machine's: as many fit as its memory and GPUs
// allow, any number (Unbounded) if it declares neither, so that one
// machine is asked for them, not none and not one a task. Memory is counted
// only when both the task and the machine declare it (zero: not declared);
// GPUs only when the task asks for some. TimeLimit plays no part. 0 means a
// task of res never fits this machine.
func Fits(res, capacity burst.Resources) int {
	n := Unbounded
	if res.CPUs > 0 {
		n = capacity.CPUs / res.CPUs
	}
	if res.MemBytes > 0 && capacity.MemBytes > 0 {
		n = min(n, int(capacity.MemBytes/res.MemBytes))
	}
	if res.GPUs > 0 {
		n = min(n, capacity.GPUs/res.GPUs)
	}
	return max(n, 0)
}

// Unbounded is what Fits returns for tasks that no resource of a machine
// bounds.
const Unbounded = math.MaxInt32

// Plan decides which machines to start and stop now. It is a pure function
// of its arguments; the server applies the actions. Machines and demand of
// clusters not listed are ignored. Rules, per cluster:
//
//   - Blocked with StopBlocked: stop every live machine (reason: Blocked),
//     start none.
//   - Not On (the schedule says off): stop every live machine, busy or not
//     (reason "schedule: " + Why), start none; Min does not apply. The server
//     requeues what ran there.
//   - Demand is netted first: what the cluster's running machines can take
//     now (Free, machines by ID, entries in order) does not wait for a new
//     machine; the scheduler places it on its next round.
//   - Starts, unless Blocked or NoRoom: the larger of
//     (a) Min minus the serving machines (State.Serving) and the manually
//     stopped ones (reason "below min N"), and
//     (b) for waiting work: per Demand entry, ceil(Count / Fits(Res,
//     Capacity)) machines, summed over the entries, minus the pending
//     machines (those being started included), which will take work when
//     they come up. An entry that fits no machine of this type is ignored:
//     admission tells the user.
//     Never more than Max minus the serving machines: Max 0 means the
//     cluster never grows. A start reuses a stopped or lost machine of the cluster,
//     lowest ID first, but never one a person stopped (Manual); else it
//     starts a new one.
//   - Withdrawals, when nothing starts: the pending machines beyond those
//     the waiting work needs (as counted for starts: the sum over the
//     entries, after netting) and beyond KeepPending (the need of the last
//     WithdrawGrace) are stopped before they come up, the latest
//     asked first (PendingSince, then the higher ID), as long as the live
//     machines stay at least Min (reason "withdrawn while pending: " and
//     what waits). A pilot still queued in Slurm, or a VM still booting,
//     that the work it was started for no longer needs (the machines up
//     took it) is cancelled now, not once it has come up and idled for
//     IdleStop. A Busy one, or one a person started (Manual), is kept.
//   - Stops for idleness, only when nothing starts and no Demand entry that
//     fits the type waits: with IdleStop > 0, a running machine that is not
//     Busy and has been idle for at least IdleStop is stopped, oldest idle
//     first, as long as the live machines stay at least Min (Min does not
//     hold while Blocked: no work can start anyway).
//   - With Yield: when no Demand entry that fits the type waits, every
//     running machine that is not Busy (and whose IdleSince is known) is
//     stopped at once, however long it
//     has been idle and whatever IdleStop, and pending machines are
//     withdrawn as if KeepPending were 0 (reason: Yield); Min holds.
//
// So a cluster never gets both starts and stops in one Plan. Output order is
// deterministic: clusters in the order given; within a cluster, starts, or
// stops ordered by machine ID.
func Plan(now time.Time, clusters []Cluster, machines []Machine, demand []Demand) []Action {
	ms := map[string][]Machine{}
	for _, m := range machines {
		ms[m.Cluster] = append(ms[m.Cluster], m)
	}
	ds := map[string][]Demand{}
	for _, d := range demand {
		ds[d.Cluster] = append(ds[d.Cluster], d)
	}
	for name := range ds {
		ds[name] = Net(ds[name], ms[name])
	}
	var out []Action
	seen := map[string]bool{}
	for _, c := range clusters {
		if seen[c.Name] {
			continue // a name listed twice is planned once
		}
		seen[c.Name] = true
		out = append(out, planCluster(now, c, ms[c.Name], ds[c.Name])...)
	}
	return out
}

func planCluster(now time.Time, c Cluster, machines []Machine, demand []Demand) []Action {
	machines = slices.Clone(machines)
	slices.SortFunc(machines, func(a, b Machine) int { return cmp.Compare(a.ID, b.ID) })
	live, pending, manualStopped := 0, 0, 0
	for _, m := range machines {
		switch {
		case m.State == Pending:
			live++
			pending++
		case m.State.Serving():
			live++
		case m.Manual && (m.State == Stopped || m.State == Stopping):
			manualStopped++
		}
	}

	stopAll := func(reason string) []Action {
		var out []Action
		for _, m := range machines {
			if m.State.Serving() {
				out = append(out, Action{Cluster: c.Name, Machine: m.ID, Reason: reason})
			}
		}
		return out
	}
	if c.Blocked != "" && c.StopBlocked {
		return stopAll(c.Blocked)
	}
	if !c.On {
		why := c.Why
		if why == "" {
			why = "off"
		}
		return stopAll("schedule: " + why)
	}

	need, waiting, why := demandNeed(c, demand)
	if c.Blocked == "" && c.NoRoom == "" {
		floor := c.Min - live - manualStopped
		grow := need - pending
		want, reason := floor, fmt.Sprintf("below min %d", c.Min)
		if grow > floor {
			want, reason = grow, why
			if pending > 0 {
				reason += fmt.Sprintf("; %d pending", pending)
			}
		}
		n := min(want, c.Max-live)
		if n > 0 {
			if n < want {
				reason += fmt.Sprintf("; capped at max %d", c.Max)
			}
			out := make([]Action, n)
			reuse := restartable(machines)
			for i := range out {
				out[i] = Action{Start: true, Cluster: c.Name, Reason: reason}
				if i < len(reuse) {
					out[i].Machine = reuse[i]
				}
			}
			return out
		}
	}

	if c.Yield != "" {
		c.KeepPending = 0
	}
	out := withdraw(c, machines, live, pending, need, why)
	if waiting || c.IdleStop <= 0 && c.Yield == "" {
		return out
	}
	room := live - c.Min
	if c.Blocked != "" {
		room = live
	}
	room -= len(out)
	var idle []Machine
	for _, m := range machines {
		if m.State == Running && !m.Busy && !m.IdleSince.IsZero() && (c.Yield != "" || now.Sub(m.IdleSince) >= c.IdleStop) {
			idle = append(idle, m)
		}
	}
	if room <= 0 || len(idle) == 0 {
		return out
	}
	slices.SortStableFunc(idle, func(a, b Machine) int { return a.IdleSince.Compare(b.IdleSince) })
	idle = idle[:min(room, len(idle))]
	for _, m := range idle {
		reason := fmt.Sprintf("idle %s (idle-stop %s)", now.Sub(m.IdleSince).Truncate(time.Second), c.IdleStop)
		if c.Yield != "" {
			reason = "idle, giving way: " + c.Yield
		}
		out = append(out, Action{Cluster: c.Name, Machine: m.ID, Reason: reason})
	}
	slices.SortFunc(out, func(a, b Action) int { return cmp.Compare(a.Machine, b.Machine) })
	return out
}

// WithdrawGrace is how long a pending machine the waiting work no longer
// needs is kept, in case work comes again (Cluster.KeepPending): long enough
// for a workflow manager to submit its next stage, short against the time a
// pilot idles before it stops (--idle-stop) once it has come up.
const WithdrawGrace = 30 * time.Second

// Need is how many machines of c the waiting work needs now, after what
// c's running machines can take (Net): what Plan weighs its pending
// machines against.
func Need(c Cluster, machines []Machine, demand []Demand) int {
	var ms []Machine
	for _, m := range machines {
		if m.Cluster == c.Name {
			ms = append(ms, m)
		}
	}
	var ds []Demand
	for _, d := range demand {
		if d.Cluster == c.Name {
			ds = append(ds, d)
		}
	}
	need, _, _ := demandNeed(c, Net(ds, ms))
	return need
}

// RecentNeed keeps the highest need of the last WithdrawGrace: Seen takes
// each new need; Keep is what Cluster.KeepPending should be. A peak is
// held for WithdrawGrace after it was last reached, then the need of the
// moment replaces it. The zero value holds nothing.
type RecentNeed struct {
	peak int
	at   time.Time
}

// Seen records need at now and returns the need to keep.
func (r *RecentNeed) Seen(now time.Time, need int) int {
	if need >= r.peak || now.Sub(r.at) >= WithdrawGrace {
		r.peak, r.at = need, now
	}
	return r.peak
}

// withdraw stops c's pending machines beyond the need of the waiting work,
// the latest asked first, keeping the live (serving) machines at Min at
// least: see Plan. why says what waits.
func withdraw(c Cluster, machines []Machine, live, pending, need int, why string) []Action {
	var cands []Machine
	for _, m := range machines {
		if m.State == Pending && !m.Busy && !m.Manual {
			cands = append(cands, m)
		}
	}
	n := min(pending-max(need, c.KeepPending), live-c.Min, len(cands))
	if n <= 0 {
		return nil
	}
	slices.SortFunc(cands, func(a, b Machine) int {
		if d := b.PendingSince.Compare(a.PendingSince); d != 0 {
			return d
		}
		return cmp.Compare(b.ID, a.ID)
	})
	reason := "withdrawn while pending: no work waits for it"
	if need > 0 {
		reason = fmt.Sprintf("withdrawn while pending: %s; %d of the %d pending take it", why, need, pending)
	}
	out := make([]Action, n)
	for i, m := range cands[:n] {
		out[i] = Action{Cluster: c.Name, Machine: m.ID, Reason: reason}
	}
	slices.SortFunc(out, func(a, b Action) int { return cmp.Compare(a.Machine, b.Machine) })
	return out
}

// Net returns demand less what machines can take now: per entry in order,
// the running machines (by ID) take as many of its tasks as their Free
// holds, as Fits counts; a machine with nothing free (full, or taking no
// tasks) takes none, not even tasks that reserve no CPU. demand and
// machines are left as they are.
func Net(demand []Demand, machines []Machine) []Demand {
	out := slices.Clone(demand)
	ms := slices.Clone(machines)
	slices.SortFunc(ms, func(a, b Machine) int { return cmp.Compare(a.ID, b.ID) })
	for i := range out {
		d := &out[i]
		for k := range ms {
			f := &ms[k].Free
			if d.Count <= 0 || ms[k].State != Running || *f == (burst.Resources{}) {
				continue
			}
			n := min(Fits(d.Res, *f), d.Count)
			if n <= 0 {
				continue
			}
			d.Count -= n
			f.CPUs -= n * d.Res.CPUs
			f.MemBytes -= int64(n) * d.Res.MemBytes
			f.GPUs -= n * d.Res.GPUs
			if d.Res.MemBytes > 0 && f.MemBytes <= 0 {
				f.CPUs = 0 // its memory is taken (Fits would read 0 as undeclared)
			}
		}
	}
	return out
}

// restartable lists the machines (sorted by ID) the autoscaler may start
// again: stopped or lost ones, except those a person stopped.
func restartable(machines []Machine) []string {
	var out []string
	for _, m := range machines {
		if m.State == Lost || m.State == Stopped && !m.Manual {
			out = append(out, m.ID)
		}
	}
	return out
}

// demandNeed returns how many machines of c's type the waiting work needs,
// whether any work that fits the type waits, and the reason for people.
func demandNeed(c Cluster, demand []Demand) (need int, waiting bool, reason string) {
	var parts []string
	for _, d := range demand {
		per := Fits(d.Res, c.Capacity)
		if d.Count <= 0 || per == 0 {
			continue
		}
		waiting = true
		n := 1 + (d.Count-1)/per // per may be Unbounded: no overflow
		need += n
		verb := "tasks wait"
		if d.Count == 1 {
			verb = "task waits"
		}
		takes := strconv.Itoa(per)
		if per == Unbounded {
			takes = "them all"
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s each); 1 machine of %s takes %s",
			d.Count, verb, describe(d.Res, true), describe(c.Capacity, false), takes))
	}
	return need, waiting, strings.Join(parts, "; ")
}

// describe renders resources for people: "1 CPU", "2 CPUs, 4 GiB, 1 GPU";
// a task of no CPU as "no CPU of its own".
func describe(r burst.Resources, task bool) string {
	parts := []string{burst.Plural(r.CPUs, "CPU")}
	if task && r.CPUs <= 0 {
		parts[0] = "no CPU of its own"
	}
	if r.MemBytes > 0 {
		parts = append(parts, bytesString(r.MemBytes))
	}
	if r.GPUs > 0 {
		parts = append(parts, burst.Plural(r.GPUs, "GPU"))
	}
	return strings.Join(parts, ", ")
}

func bytesString(b int64) string {
	const ki, mi, gi = 1 << 10, 1 << 20, 1 << 30
	for _, u := range []struct {
		size int64
		name string
	}{{gi, "GiB"}, {mi, "MiB"}, {ki, "KiB"}} {
		if b >= u.size {
			if b%u.size == 0 {
				return fmt.Sprintf("%d %s", b/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(b)/float64(u.size), u.name)
		}
	}
	return fmt.Sprintf("%d B", b)
}

// Waiting says, for people, what cluster c does for work that waits for it
// and that no live machine takes now, e.g. "cluster work is starting a
// machine for it (work-2)" or "cluster work runs its --max of 2 machines".
// It reads the same snapshot as Plan.
func Waiting(c Cluster, machines []Machine) string {
	var pending []string
	live := 0
	for _, m := range machines {
		if m.Cluster != c.Name {
			continue
		}
		if m.State.Serving() {
			live++
		}
		if m.State == Pending {
			pending = append(pending, m.ID)
		}
	}
	slices.Sort(pending)
	switch {
	case c.Blocked != "":
		return fmt.Sprintf("cluster %s starts no machine: %s", c.Name, c.Blocked)
	case !c.On:
		why := c.Why
		if why == "" {
			why = "off"
		}
		return fmt.Sprintf("cluster %s is switched off by its schedule (%s)", c.Name, why)
	case len(pending) == 1:
		return fmt.Sprintf("cluster %s is starting a machine for it (%s)", c.Name, pending[0])
	case len(pending) > 1:
		return fmt.Sprintf("cluster %s is starting %d machines for it (%s)", c.Name, len(pending), strings.Join(pending, ", "))
	case c.Max <= 0:
		return fmt.Sprintf("cluster %s never starts a machine (--max 0)", c.Name)
	case live < c.Max && c.NoRoom != "":
		return fmt.Sprintf("cluster %s waits for room to start a machine: %s", c.Name, c.NoRoom)
	case live >= c.Max:
		return fmt.Sprintf("cluster %s runs its --max of %s", c.Name, burst.Plural(c.Max, "machine"))
	}
	return fmt.Sprintf("cluster %s starts a machine for it at the autoscaler's next round", c.Name)
}
