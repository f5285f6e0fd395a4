package server

import (
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sched"
)

// control is the control plane's state and its rules: jobs, their tasks,
// the machines that run them and the leases that hand tasks over. Its
// methods take an event (a submit, a cancel, an agent's register, lease or
// report, a lost machine, a tick of the scheduler) and the time it
// happens, change memory, and fill a batch with what to write and what to
// do once it is written (effects). It holds no handle on the outside world:
// no store, no provider, no logger, no clock. The Server around it owns the
// lock, commits the batch and runs the effects after releasing the lock
// (see apply). purity_test.go checks that its files call out to nothing.
type control struct {
	bootID string // this server's life: agents that registered with another must register again
	host   string // this host's name: processes of lost agents here are killed
	logs   string // where tasks' own log files go ($BURST_HOME/logs)
	agents string // where agents this server starts log ($BURST_HOME/agents)

	jobs     map[int64]*jobRT
	resuming map[int64]bool // jobs whose resume is being written (outside the lock)
	order    []int64        // active jobs in submission order
	machines map[string]*machineRT
	clusters map[string]*clusterRT
	projects map[string]*projectRT

	// trustMembers are the clusters sharing the server's host on which
	// users who are not admins may run work (Config.TrustMembersOn).
	trustMembers map[string]bool
	// untrusted says whether a job's user (its row's User) is a user who
	// is not an admin, whose work no machine that sees the server's home
	// takes (sched.Pending.Untrusted); nil: none is.
	untrusted func(user string) bool

	// Why active jobs' tasks wait, as last computed (waitReasons).
	waits   map[int64]string
	waitsAt time.Time

	// short says why no task starts now because the filesystem of the
	// logs is nearly full ("" when it has room): set by the shell from its
	// reading (disk.go, roomToStart) before each placement.
	short string

	// heldInputs is what the active maps' inputs take in memory, and
	// inputsLimit the most a new map may bring it to (inputsmem.go).
	heldInputs, inputsLimit int64

	deps  depsRT  // jobs held by their dependencies (deps.go)
	cache cacheRT // the result cache (cache.go)

	// The rules that other parts of the server hold (the meter, the
	// fleet): functions over this same memory, reached through x until
	// they move in.
	x outside
}

// outside is what control asks of the server's other rules. Each is a
// function over memory held under the same lock; none does I/O.
type outside interface {
	// accrue charges m's time up to now (the meter), before what runs on
	// it changes.
	accrue(m *machineRT, now time.Time)
	// accrueEnd is accrue for t's machine before t leaves it, giving back
	// what t was charged after it ended if its exit came late.
	accrueEnd(t *taskRT, ev client.TaskEvent, now time.Time)
	// countStorage adds the bytes a task's logs took to its project (the
	// next commit writes them).
	countStorage(t *taskRT, ev client.TaskEvent)
	// held reports whether j's project has spent its budget.
	held(j *jobRT) bool
	// jobCluster is the cluster j runs on.
	jobCluster(j *jobRT) string
	// sliceHolders is what local clusters' machines hold of this host.
	sliceHolders() []sched.Running
	// priceOwned prices a machine burst did not rent.
	priceOwned(m *machineRT)
	// forecastJob refuses a job that p has no budget left for (spent,
	// or a time limit that could cost more than what is left).
	forecastJob(p *projectRT, spec *burst.JobSpec) error
}

func newControl(bootID, host, logs, agents string, x outside) control {
	return control{bootID: bootID, host: host, logs: logs, agents: agents, x: x,
		jobs: map[int64]*jobRT{}, machines: map[string]*machineRT{},
		clusters: map[string]*clusterRT{}, projects: map[string]*projectRT{}}
}

// eventAt stamps an audit event at now.
func eventAt(now time.Time, actor, kind, project, target, msg string) burst.Event {
	if actor == "" {
		actor = "server"
	}
	return burst.Event{At: now, Actor: actor, Kind: kind, Project: project, Target: target, Message: msg, Result: "ok"}
}

// untrustedUser is c.untrusted(user), false when there is no directory.
func (c *control) untrustedUser(user string) bool {
	return c.untrusted != nil && c.untrusted(user)
}

// earliest is the earlier of two times, a zero time standing for none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
