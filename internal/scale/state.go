package scale

// State is a machine's state: burst.MachinePending and its siblings, with
// the questions everyone asks of it answered in one place. The server, its
// meter and the autoscaler all ask these; none compares states itself.
type State string

// Machine states (the same words as burst.Machine*).
const (
	Pending    State = "pending"    // its provider starts it; its agent has not registered yet
	Running    State = "running"    // up, taking tasks
	Stopping   State = "stopping"   // its provider stops it
	Stopped    State = "stopped"    // gone; it may start again
	Terminated State = "terminated" // gone for good
	Lost       State = "lost"       // gone without being asked to
)

// Live reports whether the machine exists at its provider: pending,
// running or stopping. A live machine holds its slice of a host and counts
// towards its cluster's --max (the server refuses a start beyond it), and
// its provider is asked whether it still exists.
func (s State) Live() bool { return s == Pending || s == Running || s == Stopping }

// Serving reports whether the machine is live and not being stopped:
// pending or running. These are what the autoscaler counts towards --min and
// may stop, and what a person's stop or drain applies to.
func (s State) Serving() bool { return s == Pending || s == Running }

// Metered reports whether the machine costs money now: from its agent's
// registration (running) until its provider says it is gone (stopping
// included).
func (s State) Metered() bool { return s == Running || s == Stopping }

// Gone reports whether the machine no longer exists: stopped, terminated
// or lost. A gone machine (but a terminated one) may start again.
func (s State) Gone() bool { return s == Stopped || s == Terminated || s == Lost }
