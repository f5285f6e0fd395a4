package runner

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// HomeIDEnv names the environment variable that says which home (which
// store) a process belongs to: a server gives it to the agents it starts,
// an agent to every task it starts. A pid and its start time name a process
// but not whose it is: a server started on a copy of another home's store
// finds that home's live processes under the very pids and start times it
// recorded, and must not signal them.
const HomeIDEnv = "BURST_HOME_ID"

// ErrNotOurs is returned by KillGroup for a process that does not carry
// this process's home identity (see SetIdentity): it was left alone.
var ErrNotOurs = errors.New("the process does not carry this home's identity: left alone")

type identity struct {
	id  string
	log *slog.Logger
}

var owner atomic.Pointer[identity]

// SetIdentity makes KillGroup signal only processes whose environment
// carries HomeIDEnv=id; log, when not nil, hears of each process left
// alone. An empty id lifts the check (an agent that joined by itself knows
// no home identity, and neither do the processes it starts).
func SetIdentity(id string, log *slog.Logger) {
	if id == "" {
		owner.Store(nil)
		return
	}
	owner.Store(&identity{id: id, log: log})
}

// Identity is the home identity set by SetIdentity ("" when none).
func Identity() string {
	if o := owner.Load(); o != nil {
		return o.id
	}
	return ""
}

// Carries reports whether process pid carries home identity id: its
// environment (/proc/PID/environ, as it was exec'ed) holds HomeIDEnv=id and
// no other value of HomeIDEnv. An error means it could not be told (the
// process is gone, or belongs to another user: its environment is readable
// only by its owner and root); a caller must then not signal it.
func Carries(pid int, id string) (bool, error) {
	if pid <= 0 {
		return false, fmt.Errorf("invalid pid %d", pid)
	}
	if id == "" {
		return false, nil
	}
	env, err := readEnviron(pid, 250*time.Millisecond)
	if err != nil {
		return false, err
	}
	return carries(env, id), nil
}

// readEnviron reads /proc/PID/environ. A process caught in the middle of
// execve shows an empty one: the parent's exec.Cmd.Start returns once the
// child's close-on-exec descriptors close, which the kernel does before it
// lays out the new program's environment (measured: 3 to 5 in 100 reads
// made right after Start find it empty). An empty environment is read again
// for up to settle before it is believed.
func readEnviron(pid int, settle time.Duration) ([]byte, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/environ"
	deadline := time.Now().Add(settle)
	for {
		env, err := os.ReadFile(path)
		if err != nil || len(env) > 0 || time.Now().After(deadline) {
			return env, err
		}
		time.Sleep(time.Millisecond)
	}
}

// carries reports whether env (NUL-separated KEY=VALUE entries) sets
// HomeIDEnv to id, and only to id: a process given two values is not
// known to be anyone's.
func carries(env []byte, id string) bool {
	if id == "" {
		return false
	}
	prefix := []byte(HomeIDEnv + "=")
	found := false
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		v, ok := bytes.CutPrefix(kv, prefix)
		if !ok {
			continue
		}
		if string(v) != id {
			return false
		}
		found = true
	}
	return found
}

// ours reports whether pid may be signalled: always when no identity is
// set, else only when it carries it (Carries). A process left alone is
// logged.
func ours(pid int) bool {
	o := owner.Load()
	if o == nil {
		return true
	}
	ok, err := Carries(pid, o.id)
	if ok {
		return true
	}
	if o.log != nil {
		why := "it does not carry " + HomeIDEnv + "=" + o.id
		if err != nil {
			why = "its environment cannot be read: " + err.Error()
		}
		o.log.Warn("left a process alone: it is not known to belong to this home", "pid", pid, "why", why)
	}
	return false
}

// Owned is a live process of this home's, checked once (Own): stopping it
// in steps (SIGTERM, a grace, SIGKILL) reads its environment, and logs a
// refusal, once.
type Owned struct {
	pid        int
	startTicks uint64
}

// Own checks that process pid is still the one that started at
// startTicks and that this home may signal it (see SetIdentity). It
// returns nil and no error when the process is gone (exited, a zombie not
// yet reaped included, or its pid another process's now), and nil and ErrNotOurs, logged, when it does not
// carry this home's identity.
func Own(pid int, startTicks uint64) (*Owned, error) {
	if pid <= 1 {
		return nil, fmt.Errorf("invalid pid %d", pid)
	}
	if !Alive(pid, startTicks) {
		return nil, nil
	}
	if s, err := readStat(pid); err == nil && s.dead() {
		// It has exited and waits for its parent to reap it: nothing to
		// stop, and its environment reads empty, as another home's would.
		return nil, nil
	}
	if !ours(pid) {
		return nil, ErrNotOurs
	}
	return &Owned{pid: pid, startTicks: startTicks}, nil
}

// Signal sends sig to the process (not its group) if it is still the one
// Own checked.
func (p *Owned) Signal(sig syscall.Signal) error {
	if !Alive(p.pid, p.startTicks) {
		return nil
	}
	if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// Alive reports whether the process is still the one Own checked.
func (p *Owned) Alive() bool { return Alive(p.pid, p.startTicks) }

// KillGroup is KillGroup without a second look at the process's
// identity: SIGKILL to its group if it is still the one Own checked.
func (p *Owned) KillGroup() error {
	s, err := readStat(p.pid)
	if err != nil || s.startTicks != p.startTicks {
		return nil
	}
	return killStat(p.pid, s)
}
