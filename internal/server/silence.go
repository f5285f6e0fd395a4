package server

import (
	"fmt"
	"time"
)

// How long the server waits for an agent that has gone silent (no lease
// request open, no report, no registration) before it declares its machine
// lost and requeues its tasks. An agent is never silent for long while it
// is well: it keeps a lease request open at all times, each held at most
// 10 s by the server (the agent's LeaseWait), and tries again every 2 s at
// most when one fails.
const (
	// DefaultAgentTimeout is the lease of an agent that shares the
	// server's host or home (this host's agent, Slurm pilots on the
	// cluster's shared filesystem): no network between them can drop for
	// long, so a silent agent is a dead one, and its tasks run again
	// within 30 s.
	DefaultAgentTimeout = 30 * time.Second
	// DefaultRemoteAgentTimeout is the lease of an agent that shares
	// nothing with the server (Register.Remote): its network may drop.
	// 90 s covers an outage of 30 s, plus the lease request that was in
	// flight when the link went down (10 s), plus TCP's retransmission
	// backoff before the agent's next try gets through once the link is
	// back (a SYN resent after 1, 3, 7, 15 and 31 s), with room to spare.
	DefaultRemoteAgentTimeout = 90 * time.Second
)

// agentTimeout is the lease of a machine's agent: setting (burst server
// --agent-timeout) when one was given, else the default of the machine's
// kind (remote: it shares nothing with the server).
func agentTimeout(remote bool, setting time.Duration) time.Duration {
	switch {
	case setting > 0:
		return setting
	case remote:
		return DefaultRemoteAgentTimeout
	}
	return DefaultAgentTimeout
}

// silence says why a registered machine's agent is given up: it has been
// silent for longer than its lease (lastSeen: when it was last heard; it
// holds a lease request open when leasing > 0). "" while it is within its
// lease.
func silence(registered bool, leasing int, lastSeen, now time.Time, lease time.Duration) string {
	if !registered || leasing > 0 {
		return ""
	}
	if quiet := now.Sub(lastSeen); quiet >= lease {
		return fmt.Sprintf("its agent was silent for %s, past its lease of %s (burst server --agent-timeout)", quiet.Round(time.Second), lease)
	}
	return ""
}
