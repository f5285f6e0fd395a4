package server

import (
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/sched"
	"github.com/burst-sh/burst/internal/store"
)

// machineRT is a machine and the agent that serves it.
type machineRT struct {
	row        store.MachineRow
	local      bool
	tasks      map[taskKey]*taskRT
	outbox     []*taskRT
	cancels    []client.TaskRef
	unacked    []*taskRT           // tasks of lease leaseSeq, not yet acknowledged
	unackedC   []client.TaskRef    // cancels of lease leaseSeq
	signals    []client.TaskSignal // for the next lease, sent once
	limits     []client.JobLimit   // for the next lease: jobs' new time limits
	unackedL   []client.JobLimit   // limits of lease leaseSeq
	leaseSeq   uint64
	handed     uint64        // tasks put in leases so far: each task's place in the agent's queue (taskRT.handed)
	waiter     chan struct{} // closed to wake the one lease request that waits
	leaseGen   uint64        // a newer lease request retires older ones
	registered bool
	lastSeen   time.Time
	leasing    int
	waitUntil  time.Time // an agent that survived a server restart gets until then to register
	doomed     int       // the pid of this host's agent being killed (too late back): it may not register

	cluster    *clusterRT      // nil for an agent that joined by itself with an unknown cluster name
	handle     provider.Handle // how its provider knows it
	meterAt    time.Time       // charged up to here
	flushedAt  time.Time       // the ledger holds its charges up to here
	gpuShare   float64         // fraction of its price due to GPUs
	idleSince  time.Time       // when it last had no task (idle-stop counts from here)
	drain      bool            // takes no new task; stops once idle
	drainBy    string          // who asked for the drain: the stop is theirs
	startedBy  time.Time       // when it was asked to start (pending since)
	streamAddr string          // where its agent accepts pipe streams
	stacks     bool            // its agent runs tasks inside software stacks
	stopWhy    string          // why it is stopping: its tasks are requeued with this once it is gone
	manual     bool            // a person started or stopped it last (row.StoppedBy: who stopped it)
	until      time.Time       // it goes away then (a pilot's allocation ends); zero: not known
	starting   bool            // its provider is starting it (see startMachine)
	mayReturn  bool            // a stopped joined machine a person let back: its agent may register again

	// idleAgent is when its agent says its last task ended, told as it
	// registers with a restarted server (Register.IdleSince): shown as its
	// idle time (LastBusyTime) while it runs nothing, where idleSince
	// starts at the restart so that idle-stop gives it a fresh period.
	idleAgent time.Time
}

func newMachineRT(row store.MachineRow) *machineRT {
	return &machineRT{row: row, tasks: map[taskKey]*taskRT{}}
}

// setCluster makes m a machine of cluster c (nil: of none this server
// knows), and remembers which cluster of that name it is
// (store.MachineRow.ClusterBorn).
func (m *machineRT) setCluster(c *clusterRT) {
	m.cluster = c
	if c != nil {
		m.row.ClusterBorn = born(c.def)
	}
}

// born is when cluster def was created, as store.MachineRow.ClusterBorn
// keeps it: 0 for the built-in cluster, which has no date.
func born(def burst.Cluster) int64 {
	if def.CreatedAt.IsZero() {
		return 0
	}
	return def.CreatedAt.UnixMicro()
}

// ofCluster says whether the machine of row, whose cluster has def's
// name, is def's and not an earlier cluster's of that name, deleted
// since: a cluster made again under a deleted one's name must not take
// over its stopped machines. A row written before machines kept their
// cluster's birth tells it by time: a cluster's own machine started (each
// start sets StartedAt afresh) after the cluster was made; one never
// started, by when it was last seen or stopped (an old cluster's machine
// whose stop ended after the new one was made is then taken for its own).
func ofCluster(row store.MachineRow, def burst.Cluster) bool {
	if row.ClusterBorn != 0 || def.CreatedAt.IsZero() {
		return row.ClusterBorn == born(def)
	}
	if row.StartedAt != nil {
		return !row.StartedAt.Before(def.CreatedAt)
	}
	seen := false
	for _, t := range []*time.Time{row.SeenAt, row.StoppedAt} {
		if t != nil {
			seen = true
			if !t.Before(def.CreatedAt) {
				return true
			}
		}
	}
	return !seen
}

// state is the machine's state as seen from outside: pending while its
// provider starts it (its row says stopped until the provider answers).
func (m *machineRT) state() string {
	if m.starting {
		return burst.MachinePending
	}
	return m.row.State
}

// poke wakes the lease request waiting for this machine, if any.
func (m *machineRT) poke() {
	if m.waiter != nil {
		close(m.waiter)
		m.waiter = nil
	}
}

func (m *machineRT) schedView(now time.Time) sched.Machine {
	gpus := make([]int, len(m.row.GPUs))
	for i, g := range m.row.GPUs {
		gpus[i] = g.Index
	}
	sm := sched.Machine{
		ID: m.row.ID, Name: m.row.ID, Cluster: m.row.Cluster,
		Capacity:  m.row.Capacity(),
		GPUs:      gpus,
		Accepting: m.registered && m.row.State == burst.MachineRunning && !m.drain,
		// Started by its provider, its agent not registered yet.
		Booting: !m.registered && !m.drain && (m.row.State == burst.MachinePending || m.row.State == burst.MachineRunning),
		Until:   m.until,
	}
	if m.cluster != nil && m.cluster.caps().Joins {
		// A task there runs as the agent's user, who can read the
		// machine's credential: only its cluster's project's work goes
		// there, so that no task can lease another project's.
		sm.Project = m.cluster.def.Project
	}
	// Every agent keeps a queue of short tasks ready (the native Slurm agent
	// submits queued tasks at once, as it does every task).
	sm.Prefetch = m.prefetch()
	// Tasks of one job that hold no GPU and end at the same time are one
	// entry holding their sum: the scheduler frees and names them alike,
	// and a machine's prefetched queue of a map's tasks costs one entry a
	// round, not one a task. Tasks that reserve no CPU are entries of
	// their own, counted (the scheduler spreads such tasks by them).
	type runKey struct {
		job    int64
		ends   time.Time
		shared bool
	}
	var at map[runKey]int
	for _, t := range m.tasks {
		if t.queued && !t.started {
			sm.Queued++
		}
		r := sched.Running{Res: t.res(), GPUIDs: t.row.GPUIDs, Ends: t.ends(now), JobID: t.row.JobID, Count: 1}
		if len(r.GPUIDs) == 0 {
			k := runKey{r.JobID, r.Ends, r.Res.CPUs == 0}
			if i, ok := at[k]; ok {
				e := &sm.Running[i].Res
				e.CPUs, e.MemBytes, e.GPUs = e.CPUs+r.Res.CPUs, e.MemBytes+r.Res.MemBytes, e.GPUs+r.Res.GPUs
				sm.Running[i].Count++
				continue
			}
			if at == nil {
				at = map[runKey]int{}
			}
			at[k] = len(sm.Running)
		}
		sm.Running = append(sm.Running, r)
	}
	return sm
}

// prefetch is how many short tasks m's agent may hold queued.
func (m *machineRT) prefetch() int { return max(32, 8*m.row.CPUs) }

func (m *machineRT) used() burst.Resources {
	var u burst.Resources
	for _, t := range m.tasks {
		r := t.res()
		u.CPUs += r.CPUs
		u.MemBytes += r.MemBytes
		u.GPUs += r.GPUs
	}
	return u
}
