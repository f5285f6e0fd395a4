// Package burst holds the domain types every part of burst shares: job specs,
// resources, jobs, tasks, machines and their states, with the JSON field names
// the HTTP API and `-o json` promise to keep stable.
//
// It holds data and pure validation only; it must not do I/O.
package burst

// State is the lifecycle state of a job or a task.
type State string

// Job and task states. A task moves queued → running → one of the terminal
// states; `lost` marks a task whose machine vanished (it is requeued unless it
// was lost too often or its job was cancelled).
const (
	Queued    State = "queued"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	Timeout   State = "timeout"
	Lost      State = "lost"
)

// Valid reports whether s is one of the states above.
func (s State) Valid() bool {
	switch s {
	case Queued, Running, Succeeded, Failed, Cancelled, Timeout, Lost:
		return true
	}
	return false
}

// Terminal reports whether no further transition can happen.
func (s State) Terminal() bool {
	switch s {
	case Succeeded, Failed, Cancelled, Timeout, Lost:
		return true
	}
	return false
}

// Version is the release of this build; set with -ldflags at build time.
var Version = "0.1.0-dev"
