package sched

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/burst-sh/burst"
)

// Machine is a snapshot of one machine as the scheduler sees it.
type Machine struct {
	ID       string
	Name     string          // for messages, e.g. "local-1"
	Cluster  string          // for messages
	Capacity burst.Resources // whole machine (TimeLimit ignored)
	// GPUs lists the machine's GPU indices (len == Capacity.GPUs); only
	// listed indices are handed out.
	GPUs      []int
	Running   []Running // what runs (or is assigned) there now
	Accepting bool      // false: draining, lost, not yet registered — place nothing new
	// Booting (with Accepting false) says the machine is starting and
	// should take work soon: it is given nothing, but its slots count in
	// the fair shares of queued short tasks that prefetch hands out, so
	// that the first machine up does not take what the others will run.
	Booting bool
	// Prefetch is how many tasks without GPUs the machine's agent may hold
	// queued beyond what fits now, starting each as soon as resources free
	// up: for short tasks it hides the round trip to the server. Queued is
	// how many it holds (they are also in Running).
	Prefetch int
	Queued   int
	// Until is when the machine goes away (a pilot's allocation ends);
	// zero: not known to. A task with a time limit is placed there only if
	// it ends by then; one without is placed (it is requeued if cut off).
	Until time.Time
	// Project, when set, is the only project whose jobs are placed here:
	// a machine that joined by itself runs its tasks as its agent's user,
	// who can read the machine's credential and so lease whatever else
	// is placed there. "" takes any project's work.
	Project string
	// SeesHome says a task there can read the server's home, the admin's
	// token among it: its agent shares the server's filesystem (a machine
	// on the server's own host, a Slurm pilot) and its cluster is not
	// trusted with members' work (--trust-members-on). It takes no
	// Untrusted work.
	SeesHome bool
	// Stacks says the machine runs tasks inside software stacks; work
	// that needs one (Pending.Stack) goes nowhere else.
	Stacks bool
}

// Running is work that holds resources on a machine. A zero Ends means the
// work has no time limit, so when it ends is unknown.
type Running struct {
	Res    burst.Resources
	GPUIDs []int
	Ends   time.Time
	// Count is how many tasks the entry stands for (0 is read as 1): the
	// tasks of one job that end together may be one entry, Res their sum.
	// Only an entry of tasks that reserve no CPU (Res.CPUs 0) needs it,
	// for the spread of such tasks over machines.
	Count int
	// JobID is the job it belongs to, or Holder (for messages) says what
	// holds the resources when it is no job's, e.g. "machines of cluster
	// work" on a host they share.
	JobID  int64
	Holder string
}

// Pending is a run of identical queued tasks of one job. Slice order of
// pending entries is FIFO priority. Cluster "" means any cluster. Res.CPUs
// 0 means each task reserves no CPU (a map's --cpus 0): it shares the
// machine's, and its job's -j cap, not the machine, bounds how many run.
type Pending struct {
	JobID   int64
	Res     burst.Resources
	Count   int
	Cluster string
	// Project is the job's: machines bound to another project (see
	// Machine.Project) take none of it, gang parts included.
	Project string
	// Untrusted says the job is of a user who is not an admin: machines
	// that see the server's home (Machine.SeesHome) take none of it.
	Untrusted bool
	// Stack says the job's tasks run inside a software stack: only
	// machines with Stacks take them.
	Stack bool
	// Prefetch says the job's tasks are short enough to queue at agents.
	Prefetch bool
	// Gang, when set, makes the entry a gang (a pipe's stages): its parts
	// start all together or not at all, Res and Cluster of the entry are
	// ignored, and Count must be the parts' total. A part of 0 CPUs takes
	// none (it shares the machine).
	Gang []Part
}

// Part is one group of identical tasks of a gang.
type Part struct {
	Res     burst.Resources
	Cluster string
	Count   int
}

// Assignment places one task of JobID on MachineID with the given GPUs.
// Queued assignments are prefetched: the agent starts them when its
// resources allow, in the order given.
type Assignment struct {
	JobID     int64
	MachineID string
	GPUIDs    []int
	Queued    bool
	Part      int // the gang part it belongs to (0 for other entries)
}

// Place returns the tasks to start now, in FIFO order of pending.
//
// Each task goes to the accepting machine (of its cluster, if set, and not
// bound to another project) whose free
// resources fit it and leave the fewest free CPUs (best fit; ties go to the
// earlier machine). A task that reserves no CPU goes instead to the least
// loaded machine that fits it: the fewest reserved CPUs and tasks of no CPU
// per CPU it has (ties to the earlier), so that such tasks spread over the
// machines there are rather than pile onto the fullest. Free means capacity minus Running minus what this call
// placed; MemBytes 0 is not counted, and GPUs are handed out as specific free
// indices, lowest first.
//
// Backfill is EASY: the first task that cannot start now but could start on
// some machine once running work ends (the head) reserves the machine where it
// could start earliest, at the shadow time (unknown, i.e. never, when it
// waits on work with no Ends). Later tasks may use that machine only if they
// end (by their TimeLimit) no later than the shadow time or fit within what is
// left free after the head starts. A gang that cannot start is a head too: it
// reserves every machine its parts would start on earliest, from when the
// last of them could (so later, smaller work cannot keep overtaking a pipe).
// Entries that fit no accepting machine's capacity are skipped and block
// nothing.
//
// Resources are read as admission leaves them: CPUs 0 reserve none, and
// negative numbers count as 0. Place does not modify its arguments.
func Place(now time.Time, pending []Pending, machines []Machine) []Assignment {
	return place(now, pending, machines, nil)
}

// Explain is Place, and also says why the tasks it leaves waiting wait: for
// each of the first max entries of pending that it does not start whole,
// one line for people, e.g. "needs 2 CPUs: local-1 has 0 of 2 free, held by
// job 11", keyed by job (the first entry of a job that waits). It costs
// about as much as Place; Place itself computes no reasons.
func Explain(now time.Time, pending []Pending, machines []Machine, max int) ([]Assignment, map[int64]string) {
	why := &explainer{left: max, reasons: map[int64]string{}}
	return place(now, pending, machines, why), why.reasons
}

// explainer collects the reasons of Explain.
type explainer struct {
	left    int
	reasons map[int64]string
}

// note records reason for job unless it has one or enough were recorded.
func (e *explainer) note(job int64, reason func() string) {
	if e == nil || e.left <= 0 {
		return
	}
	if _, ok := e.reasons[job]; ok {
		return
	}
	e.reasons[job] = reason()
	e.left--
}

func place(now time.Time, pending []Pending, machines []Machine, why *explainer) []Assignment {
	nodes, open, booting := newNodes(machines)
	var out []Assignment
	var resv *reservation
	placedN := make([]int, len(pending))
	for i, p := range pending {
		if open == 0 && p.reservesCPU() {
			// No machine has a CPU free: only tasks that reserve none
			// may still start.
			if p.Count > 0 {
				why.note(p.JobID, func() string { return waitReason(now, p, nodes, resv) })
			}
			continue
		}
		if len(p.Gang) > 0 {
			got := placeGang(now, p, nodes, resv)
			if got == nil && resv == nil {
				// Best fit found no way to start it now. The plan packs
				// it by earliest start instead: either that starts it now
				// (best fit packed badly), or it is the head and holds the
				// machines it waits for.
				plan, r, fitsNow := planGang(now, p, nodes)
				if fitsNow {
					got = startPlan(now, p, plan)
				} else {
					resv = r
					if r != nil {
						r.job = p.JobID
					}
				}
			}
			if got != nil {
				out = append(out, got...)
				placedN[i] = len(got)
				open = countOpen(nodes)
			} else {
				why.note(p.JobID, func() string { return waitReason(now, p, nodes, resv) })
			}
			continue
		}
		res := normalize(p.Res)
		if p.Count < 1 {
			continue
		}
		if !fitsSomeCapacity(res, p.Cluster, p.tenant(), nodes) {
			why.note(p.JobID, func() string { return waitReason(now, p, nodes, resv) })
			continue
		}
		placed := 0
		var n *node
		for placed < p.Count && (open > 0 || res.CPUs == 0) {
			// A node that keeps fitting stays the best fit: only its free
			// CPUs shrank. So search again only when it stops fitting, or
			// always for a task of no CPU, which made its node busier.
			if n == nil || res.CPUs == 0 || !n.admits(now, res, resv) {
				if n = bestFit(now, res, p.Cluster, p.tenant(), nodes, resv); n == nil {
					break
				}
			}
			out = append(out, n.take(now, p.JobID, res, resv))
			if res.CPUs > 0 && n.free.CPUs < 1 {
				open--
			}
			placed++
		}
		placedN[i] = placed
		if placed < p.Count {
			why.note(p.JobID, func() string { return waitReason(now, p, nodes, resv) })
		}
		if placed < p.Count && resv == nil && (open > 0 || res.CPUs == 0) {
			if resv = reserve(now, res, p.Cluster, p.tenant(), nodes); resv != nil {
				resv.job = p.JobID
			}
		}
	}
	return prefetch(now, out, pending, placedN, nodes, booting)
}

// placeGang places every task of a gang, each part's tasks by best fit (in
// gangOrder), or nothing: on failure the nodes (and resv) are left as they
// were.
func placeGang(now time.Time, p Pending, nodes []*node, resv *reservation) []Assignment {
	type saved struct {
		free    burst.Resources
		gpuIDs  []int
		running int
	}
	before := make([]saved, len(nodes))
	for i, n := range nodes {
		before[i] = saved{n.free, n.gpuIDs, len(n.running)}
	}
	var extra map[*node]burst.Resources
	if resv != nil {
		extra = maps.Clone(resv.extra)
	}
	out := make([]Assignment, 0, p.Count)
	for _, k := range gangOrder(p) {
		part := p.Gang[k]
		res := partRes(part)
		for range part.Count {
			n := bestFit(now, res, part.Cluster, p.tenant(), nodes, resv)
			if n == nil {
				for i, n := range nodes {
					n.free, n.gpuIDs, n.running = before[i].free, before[i].gpuIDs, n.running[:before[i].running]
				}
				if resv != nil {
					resv.extra = extra
				}
				return nil
			}
			a := n.take(now, p.JobID, res, resv)
			a.Part = k
			out = append(out, a)
		}
	}
	return out
}

// gangOrder is the order in which a gang's parts are placed: parts with
// GPUs first, then those bound to a cluster, then the largest.
func gangOrder(p Pending) []int {
	order := make([]int, len(p.Gang))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ra, rb := normalize(p.Gang[a].Res), normalize(p.Gang[b].Res)
		ca, cb := p.Gang[a].Cluster != "", p.Gang[b].Cluster != ""
		switch {
		case ra.GPUs != rb.GPUs:
			return rb.GPUs - ra.GPUs
		case ca != cb && ca:
			return -1 // bound to a cluster: before parts that may go anywhere
		case ca != cb:
			return 1
		}
		return rb.CPUs - ra.CPUs
	})
	return order
}

// partRes is what one task of a gang's part takes.
func partRes(part Part) burst.Resources {
	res := normalize(part.Res)
	if part.Res.CPUs == 0 {
		res.CPUs = 0 // a stage that reserves no CPU shares its machine's
	}
	return res
}

// planGang plans a gang that best fit could not start: each task, in
// gangOrder, claims the node where it (with what the gang already claimed
// there) could start earliest, among those it would not outlive. plan holds
// each task's node in that order; the reservation starts when the last of
// the claimed nodes could hold its claim; fitsNow says every claim fits in
// what its node has free now. nil if some task could never start.
func planGang(now time.Time, p Pending, nodes []*node) (plan []*node, r *reservation, fitsNow bool) {
	claims := map[*node]burst.Resources{}
	var order []*node // the claimed nodes, in the order claimed
	for _, k := range gangOrder(p) {
		part := p.Gang[k]
		res := partRes(part)
		for range part.Count {
			var best *node
			var bestAt time.Time
			for _, n := range nodes {
				if !n.m.serves(part.Cluster, p.tenant()) || !n.outlives(now, res) {
					continue
				}
				want := add(claims[n], res)
				if !fits(want, n.cap) {
					continue
				}
				if at, _, ok := n.shadow(now, want); ok && (best == nil || cmpEnd(at, bestAt) < 0) {
					best, bestAt = n, at
				}
			}
			if best == nil {
				return nil, nil, false
			}
			if _, ok := claims[best]; !ok {
				order = append(order, best)
			}
			claims[best] = add(claims[best], res)
			plan = append(plan, best)
		}
	}
	r = &reservation{extra: map[*node]burst.Resources{}}
	fitsNow = true
	for i, n := range order {
		at, extra, _ := n.shadow(now, claims[n])
		r.extra[n] = extra
		if i == 0 || cmpEnd(at, r.shadow) > 0 {
			r.shadow = at
		}
		fitsNow = fitsNow && fits(claims[n], n.free)
	}
	return plan, r, fitsNow
}

// startPlan starts a gang on the nodes planGang chose, which hold it now.
func startPlan(now time.Time, p Pending, plan []*node) []Assignment {
	out := make([]Assignment, 0, len(plan))
	i := 0
	for _, k := range gangOrder(p) {
		part := p.Gang[k]
		res := partRes(part)
		for range part.Count {
			a := plan[i].take(now, p.JobID, res, nil)
			a.Part = k
			out = append(out, a)
			i++
		}
	}
	return out
}

// countOpen is how many nodes have a free CPU.
func countOpen(nodes []*node) int {
	open := 0
	for _, n := range nodes {
		if n.free.CPUs >= 1 {
			open++
		}
	}
	return open
}

// prefetch queues more tasks on machines that offer it, in FIFO order,
// stopping at the first entry that may not be prefetched (it has GPUs, its
// tasks reserve no CPU, or its job's tasks are not known to be short) so
// that queued work never overtakes a task waiting ahead of it. A task of
// no CPU is never queued at an agent: nothing there would hold it back, so
// it would start at once, past its job's -j.
//
// An entry's queued tasks are spread over the machines able to run them
// (of its cluster, serving its project, big enough, lasting long enough),
// so that the first machine to free up does not take the whole queue while
// the others, once free, idle (and a cloud cluster's are stopped as idle):
// each task goes to the machine that then holds the fewest queued tasks
// for its slots (how many of the entry's tasks it runs at once), ties to
// the earlier, and no machine is given more than its fair share of the
// queue: what is left and what those machines hold already, divided in
// proportion to their slots, rounded up. A machine that offers no
// prefetch still counts, so that it has work to take when it frees up;
// so does one still booting (Machine.Booting), which holds nothing yet.
// On a single machine this is the whole queue, up to its budget.
func prefetch(now time.Time, out []Assignment, pending []Pending, placedN []int, nodes, booting []*node) []Assignment {
	q := fillQueue{at: make([]queueAt, len(nodes))}
	any := false
	for i, n := range nodes {
		q.at[i] = queueAt{budget: n.m.Prefetch - n.m.Queued, held: max(n.m.Queued, 0)}
		any = any || q.at[i].budget > 0
	}
	if !any {
		return out
	}
	for i, p := range pending {
		res := normalize(p.Res)
		left := p.Count - placedN[i]
		if left <= 0 {
			continue
		}
		if !p.Prefetch || res.GPUs > 0 || res.CPUs == 0 {
			return out
		}
		q.items = q.items[:0]
		total, slots := left, 0
		for k, n := range nodes {
			if !n.m.serves(p.Cluster, p.tenant()) || !fits(res, n.cap) || !n.outlives(now, res) {
				continue
			}
			s := max(n.cap.CPUs/res.CPUs, 1)
			total += q.at[k].held
			slots += s
			q.items = append(q.items, fillItem{k: k, slots: s})
		}
		if len(q.items) == 0 {
			continue
		}
		for _, n := range booting {
			if n.m.serves(p.Cluster, p.tenant()) && fits(res, n.cap) && n.outlives(now, res) {
				slots += max(n.cap.CPUs/res.CPUs, 1)
			}
		}
		kept := q.items[:0]
		for _, it := range q.items {
			it.share = ceilDiv(total*it.slots, slots)
			if at := q.at[it.k]; at.budget > 0 && at.held < it.share {
				kept = append(kept, it)
			}
		}
		q.items = kept
		q.init()
		for left > 0 && len(q.items) > 0 {
			it := &q.items[0]
			out = append(out, Assignment{JobID: p.JobID, MachineID: nodes[it.k].m.ID, Queued: true})
			at := &q.at[it.k]
			at.held++
			at.budget--
			left--
			if at.budget <= 0 || at.held >= it.share {
				q.items[0] = q.items[len(q.items)-1]
				q.items = q.items[:len(q.items)-1]
			}
			q.down(0)
		}
	}
	return out
}

// fillItem is a machine that may be given queued tasks of an entry: its
// node's index, how many of the entry's tasks it runs at once, and the
// most queued tasks it may hold.
type fillItem struct{ k, slots, share int }

// fillQueue is a heap of machines, the one that would hold the fewest
// queued tasks per slot with one more first, the earliest on ties.
type fillQueue struct {
	items []fillItem
	at    []queueAt // by node index
}

// queueAt is a machine's queue: how many more tasks it may be given
// (its Prefetch less what it holds), and how many it holds with what this
// call queued there.
type queueAt struct{ budget, held int }

func (q *fillQueue) less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	// (held[a]+1)/slots[a] against (held[b]+1)/slots[b], without division.
	l, r := (q.at[a.k].held+1)*b.slots, (q.at[b.k].held+1)*a.slots
	return l < r || l == r && a.k < b.k
}

func (q *fillQueue) init() {
	for i := len(q.items)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

// down moves item i down to its place.
func (q *fillQueue) down(i int) {
	for n := len(q.items); ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && q.less(c+1, c) {
			c++
		}
		if !q.less(c, i) {
			return
		}
		q.items[i], q.items[c] = q.items[c], q.items[i]
		i = c
	}
}

// ceilDiv is a/b rounded up, for a ≥ 0 and b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// node is the scheduler's working copy of an accepting machine.
type node struct {
	m       *Machine
	cap     burst.Resources // usable capacity
	free    burst.Resources
	gpuIDs  []int    // free GPU indices, ascending
	running []ending // Running plus what this call placed
	shared  int      // how many of those reserve no CPU
}

// ending is work on a node and when it ends (zero: unknown), with whose
// it is (for Explain).
type ending struct {
	res    burst.Resources
	end    time.Time
	job    int64
	holder string
}

// reservation holds the head's place from shadow on (zero: unknown,
// infinitely far) on the nodes it needs; extra is, for each of them, what
// stays free there after the head starts.
type reservation struct {
	shadow time.Time
	extra  map[*node]burst.Resources
	job    int64 // the head's
}

// on is what stays free on n once the head starts; false if the head does
// not need n (or there is no head).
func (r *reservation) on(n *node) (burst.Resources, bool) {
	if r == nil {
		return burst.Resources{}, false
	}
	e, ok := r.extra[n]
	return e, ok
}

// newNodes builds the working copies of the accepting machines and counts
// those with a free CPU.
func newNodes(machines []Machine) (nodes []*node, open int, booting []*node) {
	nodes = make([]*node, 0, len(machines))
	for i := range machines {
		m := &machines[i]
		if !m.Accepting {
			if m.Booting {
				booting = append(booting, &node{m: m, cap: capacity(m)})
			}
			continue
		}
		n := &node{m: m, cap: capacity(m), running: make([]ending, 0, len(m.Running)+4)}
		n.free = n.cap
		for _, r := range m.Running {
			n.free = sub(n.free, r.Res)
			n.running = append(n.running, ending{r.Res, r.Ends, r.JobID, r.Holder})
			if r.Res.CPUs <= 0 {
				n.shared += max(r.Count, 1)
			}
		}
		for _, id := range gpuIndices(m) {
			if !slices.ContainsFunc(m.Running, func(r Running) bool { return slices.Contains(r.GPUIDs, id) }) {
				n.gpuIDs = append(n.gpuIDs, id)
			}
		}
		n.free.GPUs = min(n.free.GPUs, len(n.gpuIDs))
		if n.free.CPUs >= 1 {
			open++
		}
		nodes = append(nodes, n)
	}
	return nodes, open, booting
}

// gpuIndices returns m's distinct GPU indices, ascending.
func gpuIndices(m *Machine) []int {
	if len(m.GPUs) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(m.GPUs)))
}

// capacity is what m can offer: its Capacity, with no more GPUs than it
// lists indices for.
func capacity(m *Machine) burst.Resources {
	c := m.Capacity
	c.TimeLimit = 0
	c.GPUs = min(c.GPUs, len(gpuIndices(m)))
	return c
}

// admits reports whether a task of res may start on n now.
func (n *node) admits(now time.Time, res burst.Resources, resv *reservation) bool {
	if !fits(res, n.free) || !n.outlives(now, res) {
		return false
	}
	if res.CPUs == 0 && n.shared >= burst.MaxSharedRunning {
		// Each job's -j bounds its own; this bounds them all on one
		// machine (many maps of -j 1024 would fork without end).
		return false
	}
	extra, reserved := resv.on(n)
	if !reserved {
		return true
	}
	return endsBy(taskEnd(now, res), resv.shadow) || fits(res, extra)
}

// outlives reports whether a task of res started now ends before n goes
// away.
func (n *node) outlives(now time.Time, res burst.Resources) bool {
	return n.m.Until.IsZero() || res.TimeLimit <= 0 || !now.Add(time.Duration(res.TimeLimit)*time.Second).After(n.m.Until)
}

// take places one task of res on n and returns its assignment.
func (n *node) take(now time.Time, job int64, res burst.Resources, resv *reservation) Assignment {
	a := Assignment{JobID: job, MachineID: n.m.ID}
	if res.GPUs > 0 {
		a.GPUIDs = n.gpuIDs[:res.GPUs:res.GPUs]
		n.gpuIDs = n.gpuIDs[res.GPUs:]
	}
	n.free = sub(n.free, res)
	end := taskEnd(now, res)
	n.running = append(n.running, ending{res: res, end: end, job: job})
	if res.CPUs == 0 {
		n.shared++
	}
	if extra, reserved := resv.on(n); reserved && !endsBy(end, resv.shadow) {
		resv.extra[n] = sub(extra, res)
	}
	return a
}

// tenant is whose work a pending entry is: its project, and whether its
// user may see the server's home.
type tenant struct {
	project   string
	untrusted bool
	stack     bool // its tasks need a machine that runs stacks
}

func (p *Pending) tenant() tenant { return tenant{p.Project, p.Untrusted, p.Stack} }

// reservesCPU reports whether p's tasks each need a free CPU to start: a
// gang always does (a pipe reserves at least one).
func (p *Pending) reservesCPU() bool { return len(p.Gang) > 0 || p.Res.CPUs > 0 }

// serves reports whether m takes work of who bound to cluster ("": any
// cluster).
func (m *Machine) serves(cluster string, who tenant) bool {
	return (cluster == "" || m.Cluster == cluster) && (m.Project == "" || m.Project == who.project) &&
		!(who.untrusted && m.SeesHome) && (!who.stack || m.Stacks)
}

// bestFit returns the node of cluster that serves project, admits res and
// has the fewest free CPUs, the earliest on ties; for res of no CPU, the
// least loaded such node (see lighter); nil if none admits it.
func bestFit(now time.Time, res burst.Resources, cluster string, who tenant, nodes []*node, resv *reservation) *node {
	var best *node
	for _, n := range nodes {
		if !n.m.serves(cluster, who) {
			continue
		}
		better := best == nil || n.free.CPUs < best.free.CPUs
		if res.CPUs == 0 {
			better = best == nil || n.lighter(best)
		}
		if better && n.admits(now, res, resv) {
			best = n
		}
	}
	return best
}

// lighter reports whether n is less loaded than o: its reserved CPUs and
// tasks of no CPU (each counted as one CPU's worth of work) are fewer per
// CPU it has.
func (n *node) lighter(o *node) bool {
	load := func(x *node) int64 { return int64(x.cap.CPUs-x.free.CPUs) + int64(x.shared) }
	return load(n)*int64(max(o.cap.CPUs, 1)) < load(o)*int64(max(n.cap.CPUs, 1))
}

// fitsSomeCapacity reports whether some node of cluster that serves
// project could ever hold res.
func fitsSomeCapacity(res burst.Resources, cluster string, who tenant, nodes []*node) bool {
	for _, n := range nodes {
		if n.m.serves(cluster, who) && fits(res, n.cap) {
			return true
		}
	}
	return false
}

// reserve finds the node of cluster serving project where a task of res
// could start earliest once running work ends; nil if there is none.
func reserve(now time.Time, res burst.Resources, cluster string, who tenant, nodes []*node) *reservation {
	var best *node
	var bestAt time.Time
	var bestExtra burst.Resources
	for _, n := range nodes {
		if !n.m.serves(cluster, who) || !fits(res, n.cap) {
			continue
		}
		if at, extra, ok := n.shadow(now, res); ok && (best == nil || cmpEnd(at, bestAt) < 0) {
			best, bestAt, bestExtra = n, at, extra
		}
	}
	if best == nil {
		return nil
	}
	return &reservation{shadow: bestAt, extra: map[*node]burst.Resources{best: bestExtra}}
}

// shadow returns when res could start on n if work ends as planned, and
// what would stay free then; false if it never could.
func (n *node) shadow(now time.Time, res burst.Resources) (time.Time, burst.Resources, bool) {
	run := slices.Clone(n.running)
	slices.SortStableFunc(run, func(a, b ending) int { return cmpEnd(a.end, b.end) })
	avail, at := n.free, now
	for i := 0; !fits(res, avail); i++ {
		if i == len(run) {
			return time.Time{}, burst.Resources{}, false
		}
		avail, at = add(avail, run[i].res), run[i].end
	}
	return at, sub(avail, res), true
}

// taskEnd is when a task of res started at now ends; zero if unknown.
func taskEnd(now time.Time, res burst.Resources) time.Time {
	if res.TimeLimit <= 0 || res.TimeLimit > math.MaxInt64/int64(time.Second) {
		return time.Time{}
	}
	return now.Add(time.Duration(res.TimeLimit) * time.Second)
}

// cmpEnd compares end times, a zero (unknown) time being the latest.
func cmpEnd(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// endsBy reports whether work ending at end is known to end no later than
// shadow.
func endsBy(end, shadow time.Time) bool {
	return !end.IsZero() && cmpEnd(end, shadow) <= 0
}

// fits reports whether r fits into free, not counting MemBytes or GPUs of 0.
func fits(r, free burst.Resources) bool {
	return r.CPUs <= free.CPUs &&
		(r.MemBytes == 0 || r.MemBytes <= free.MemBytes) &&
		(r.GPUs == 0 || r.GPUs <= free.GPUs)
}

// normalize reads r as admission leaves it: no negative CPUs (0: the task
// reserves none), memory or GPUs.
func normalize(r burst.Resources) burst.Resources {
	r.CPUs = max(r.CPUs, 0)
	r.MemBytes = max(r.MemBytes, 0)
	r.GPUs = max(r.GPUs, 0)
	return r
}

// add returns a+b, ignoring TimeLimit.
func add(a, b burst.Resources) burst.Resources {
	return burst.Resources{CPUs: a.CPUs + b.CPUs, MemBytes: a.MemBytes + b.MemBytes, GPUs: a.GPUs + b.GPUs}
}

// sub returns a-b, ignoring TimeLimit.
func sub(a, b burst.Resources) burst.Resources {
	return burst.Resources{CPUs: a.CPUs - b.CPUs, MemBytes: a.MemBytes - b.MemBytes, GPUs: a.GPUs - b.GPUs}
}
