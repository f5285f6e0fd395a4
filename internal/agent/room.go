package agent

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst/internal/diskroom"
)

// A task started while the filesystem of its logs is nearly full can only
// fail writing its output, and fills the disk the server's store needs. The
// server places no task then (its roomToStart); the agent, which may hold
// prefetched tasks that the server placed before, starts none of them
// either: they stay in its queue, and start by themselves once there is
// room. A pipe's stage is not held: its peers wait for its streams.

// roomEvery is how often the free space is read: ten statfs a second at
// most, not one per task (a map's short tasks start many a second, and a
// reading a second old let a dozen more start onto a disk already short).
const roomEvery = 100 * time.Millisecond

// roomReading is the last reading of the logs' filesystem.
type roomReading struct {
	at    time.Time
	short string // why no task starts now; "" when there is room
}

// roomGate reads, at most once per roomEvery, whether dir's filesystem
// has less than twice diskroom.MinFree free (the line the server refuses
// new work at, doubled, as the server's and a cut log's: runner's
// giveRoom).
type roomGate struct {
	dir  string // "": never short
	last atomic.Pointer[roomReading]
	// space reads the filesystem (diskroom.Space; a test's double).
	space func(dir string) (free, total uint64, ok bool)
}

// short says why no task should start now, "" when there is room, and
// whether this reading turns short into room or back (to be logged).
func (g *roomGate) short(now time.Time) (why string, changed bool) {
	if g.dir == "" {
		return "", false
	}
	old := g.last.Load()
	if old != nil && now.Sub(old.at) < roomEvery {
		return old.short, false
	}
	space := g.space
	if space == nil {
		space = diskroom.Space
	}
	if free, total, ok := space(g.dir); ok {
		if need := diskroom.StartFree(total); free < need {
			why = fmt.Sprintf("the filesystem of %s has %d bytes free, less than %d (twice what the server needs to take new work): queued tasks start once there is room", g.dir, free, need)
		}
	}
	g.last.Store(&roomReading{at: now, short: why})
	// Said once when it becomes short and once when it has room again (the
	// free bytes in why change at every reading, and a line a second would
	// fill the disk it is about).
	return why, (old == nil || old.short == "") != (why == "")
}

// roomShort is the gate's reading for this agent, logged when it changes.
func (a *Agent) roomShort() string {
	why, changed := a.room.short(time.Now())
	if changed {
		if why != "" {
			a.cfg.Log.Warn("starting no task: the disk is nearly full", "why", why)
		} else {
			a.cfg.Log.Info("starting tasks again: the disk has room")
		}
	}
	return why
}

// waitRoomLocked has pump run again once roomEvery has passed, while tasks
// wait for room (a.mu held): one waiter at a time, owned by a.bg, ended
// with the agent.
func (a *Agent) waitRoomLocked() {
	if a.roomWaiting {
		return
	}
	select {
	case <-a.quit:
		return
	default:
	}
	a.roomWaiting = true
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		t := time.NewTimer(roomEvery)
		defer t.Stop()
		select {
		case <-a.quit:
		case <-t.C:
		}
		a.mu.Lock()
		a.roomWaiting = false
		a.mu.Unlock()
		select {
		case <-a.quit:
		default:
			a.pump()
		}
	}()
}
