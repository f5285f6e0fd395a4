package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/diskroom"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// A full disk under BURST_HOME degrades the server, it does not end it.
// New work (submit, map, pipe, resume) is refused with 507 while the
// filesystem has less than diskroom.MinFree left, or while the store holds writes
// for a full disk; so are the user's other writes (cancel, projects,
// clusters, sessions) while the store holds writes, rather than wait
// silently for space; reads go on. Agents' reports and registrations are
// refused (507) only while the store holds writes, and agents keep their
// results and send them again until it commits (store/full.go). Leases
// are answered as always: a lease writes nothing, and work reaches an
// agent's outbox only once committed, so during a hold it hands out what
// was committed before or, mostly, nothing. Every answer, a refusal
// included, counts as contact: the server does not declare an agent lost
// for asking, and the agent does not give its server up for answering.

// diskEvery is how often the free space is read: the refusal costs one
// statfs a second at most, not one per request or task.
const diskEvery = time.Second

// diskCheck is the last reading of the home's filesystem.
type diskCheck struct {
	at  time.Time
	err error // *apierr.NoSpace, or nil

	// held is the hold of the store that heldErr answers: the refusal is
	// built once per hold, not at every request refused.
	held    *store.FullError
	heldErr error
}

// refuseNewWork says why new work cannot be taken now: a *apierr.NoSpace
// naming the filesystem and what to free, or nil. It makes no system call
// more than once per diskEvery, and none under a lock.
func (s *Server) refuseNewWork() error {
	if err := s.st.Full(); err != nil {
		return s.noSpace(err)
	}
	now := time.Now()
	if c := s.disk.Load(); c != nil && now.Sub(c.at) < diskEvery {
		return c.err
	}
	c := &diskCheck{at: now, err: s.checkFree()}
	if old := s.disk.Load(); old != nil {
		c.held, c.heldErr = old.held, old.heldErr
	}
	s.disk.Store(c)
	if c.err != nil {
		s.log.Warn("refusing new work: the disk is nearly full", "err", c.err)
	}
	return c.err
}

// roomEvery is how often roomToStart reads the filesystems: ten statfs a
// second at most (placement runs at every report of ended tasks; a reading
// a second old let a dozen short tasks start onto a disk already short).
const roomEvery = 100 * time.Millisecond

// roomCheck is the last reading of the logs' filesystem for starting
// tasks (roomToStart).
type roomCheck struct {
	at  time.Time
	why string
}

// roomToStart says why no task should start now: the filesystem of the
// tasks' logs (and of the store, when another) has less than twice
// diskroom.MinFree free, so that a task started now could only fail
// writing its output, or fill the disk the store needs; "" when there is
// room. Tasks then stay queued, saying why, and start by themselves once
// there is room (a log cut for a full disk gives back down to this line:
// runner's giveRoom). It reads the filesystems at most once per
// roomEvery, and never under a lock.
func (s *Server) roomToStart() string {
	now := time.Now()
	old := s.room.Load()
	if old != nil && now.Sub(old.at) < roomEvery {
		return old.why
	}
	why := ""
	dirs := []struct{ dir, holds string }{{s.logs, "burst's logs"}, {filepath.Dir(s.st.Path()), "burst's state"}}
	for i, d := range dirs {
		if i > 0 && d.dir == dirs[0].dir {
			break
		}
		free, total, ok := diskroom.Space(d.dir)
		if need := diskroom.StartFree(total); ok && free < need {
			why = fmt.Sprintf("the filesystem %s, which holds %s, has %s free: no task starts while it has less than %s, twice what new work needs, so that what starts has room for its output; free at least %s there and tasks start by themselves",
				s.mountOf(d.dir), d.holds, web.Bytes(int64(free)), web.Bytes(int64(need)), web.Bytes(int64(need-free)))
			break
		}
	}
	// Logged once when it becomes short and once when it has room again
	// (the free bytes in why change at every reading, and a line a second
	// would fill the disk it is about).
	if (old == nil || old.why == "") != (why == "") {
		if why != "" {
			s.log.Warn("starting no task: the disk is nearly full", "why", why)
		} else if old != nil {
			s.log.Info("starting tasks again: the disk has room")
		}
	}
	s.room.Store(&roomCheck{at: now, why: why})
	return why
}

// mountOf is the mount point of dir's filesystem (diskroom.MountPoint),
// read once per directory: the readings while a disk is short name it ten
// times a second, and it does not change under a running server.
func (s *Server) mountOf(dir string) string {
	if m, ok := s.mounts.Load(dir); ok {
		return m.(string)
	}
	m := diskroom.MountPoint(dir)
	s.mounts.Store(dir, m)
	return m
}

// lowForCancel says, for a cancel, whether the filesystem of the store has
// less free than new work needs (read now: a reading a second old could
// miss a disk just filled), in words for the cancel's answer; nil when it
// has room.
func (s *Server) lowForCancel() error {
	dir := filepath.Dir(s.st.Path())
	free, total, ok := diskroom.Space(dir)
	if need := diskroom.MinFree(total); ok && free < need {
		return &apierr.NoSpace{Msg: fmt.Sprintf("the filesystem %s, which holds burst's state, has %s free; free at least %s there",
			s.mountOf(dir), web.Bytes(int64(free)), web.Bytes(int64(need-free)))}
	}
	return nil
}

// refuseAgent answers an agent's report or registration while the store
// holds writes for a full disk: 507, and the agent keeps its events and
// sends them again (nothing is applied to memory meanwhile). The refusal
// is still contact: machine was seen now, so that an agent that joined by
// itself (alive while it asks), or one that outlived a server restart and
// has yet to register, is not declared lost for a hold.
func (s *Server) refuseAgent(machine string) error {
	err := s.st.Full()
	if err == nil {
		return nil
	}
	s.mu.Lock()
	if m := s.machines[machine]; m != nil {
		now := time.Now()
		m.lastSeen = now
		if !m.registered && !m.waitUntil.IsZero() {
			// An agent that outlived a server restart and knocks: it came
			// back, and is given its grace again rather than declared
			// lost (and its held results with it) for a hold it cannot end.
			m.waitUntil = now.Add(adoptGrace)
		}
	}
	s.mu.Unlock()
	return s.noSpace(err)
}

// refuseWrite answers a user's write other than new work (a cancel, a
// project, a cluster, a web session) while the store holds writes for a
// full disk: 507 naming the filesystem, at once, rather than a request
// that waits without a word until there is room.
func (s *Server) refuseWrite() error {
	if err := s.st.Full(); err != nil {
		return s.noSpace(err)
	}
	return nil
}

// inputsChecked is the size of a map's inputs from which their room in the
// store is checked before they are written (roomForInputs): below it, the
// room refuseNewWork keeps (diskroom.MinFree) holds them.
const inputsChecked = 64 << 10

// roomForInputs refuses a map whose inputs would leave the filesystem of
// the store with less than diskroom.MinFree: they are written twice (the
// store's log, then its file), and a map of 3 million inputs (12 MB) taken
// onto a home with 14 MB free filled it with burst's own store, where no
// file a user could remove gave the room back (the map could not even be
// cancelled). It reads the filesystem now: such a submit is rare and large.
func (s *Server) roomForInputs(spec *burst.JobSpec, sources [][]string) error {
	var size uint64
	for _, src := range sources {
		for _, v := range src {
			size += uint64(len(v)) + 3 // as JSON: quotes and a comma
		}
	}
	if size < inputsChecked {
		return nil
	}
	dir := filepath.Dir(s.st.Path())
	free, total, ok := diskroom.Space(dir)
	need := 2*size + diskroom.MinFree(total)
	if !ok || free >= need {
		return nil
	}
	what, fix := "the map's inputs take", "split the inputs over several `burst map` runs"
	if spec.Map != nil && spec.Map.Array {
		what, fix = fmt.Sprintf("the array's %d tasks take", spec.Tasks), "submit fewer tasks at once (--array)"
	}
	return &apierr.NoSpace{Msg: fmt.Sprintf(
		"%s %s in burst's store, written twice: the filesystem %s, which holds burst's state (%s), has %s free, and burst keeps %s of it free; free at least %s there, or %s",
		what, web.Bytes(int64(size)), s.mountOf(dir), dir, web.Bytes(int64(free)), web.Bytes(int64(diskroom.MinFree(total))), web.Bytes(int64(need-free)), fix)}
}

// checkFree reads the free space under the home.
func (s *Server) checkFree() error {
	dir := filepath.Dir(s.st.Path())
	free, total, ok := diskroom.Space(dir)
	if !ok {
		return nil // unreadable: the store's own errors will say
	}
	need := diskroom.MinFree(total)
	if free >= need {
		return nil
	}
	return &apierr.NoSpace{Msg: fmt.Sprintf(
		"the filesystem %s, which holds burst's state (%s), has %s free: burst takes no new work below %s; free at least %s there (jobs already accepted go on, and reads work)",
		diskroom.MountPoint(dir), dir, web.Bytes(int64(free)), web.Bytes(int64(need)), web.Bytes(int64(need-free)))}
}

// noSpace is the refusal while the store holds writes for a full disk. It
// is built once per hold (a statfs, the mount table, symlinks) and kept:
// agents and users may ask many times a second meanwhile.
func (s *Server) noSpace(err error) error {
	var fe *store.FullError
	errors.As(err, &fe)
	c := s.disk.Load()
	if fe != nil && c != nil && c.held == fe {
		return c.heldErr
	}
	msg := s.buildNoSpace(fe)
	if fe != nil {
		n := &diskCheck{held: fe, heldErr: msg}
		if c != nil {
			n.at, n.err = c.at, c.err
		}
		s.disk.CompareAndSwap(c, n) // one that lost the race built it for nothing
	}
	return msg
}

// buildNoSpace says which filesystem is full and what to free.
func (s *Server) buildNoSpace(fe *store.FullError) error {
	dir := filepath.Dir(s.st.Path())
	need := uint64(64 << 20)
	if _, total, ok := diskroom.Space(dir); ok {
		need = diskroom.MinFree(total)
	}
	since := ""
	if fe != nil {
		since = " since " + fe.Since.Format("15:04:05")
	}
	return &apierr.NoSpace{Msg: fmt.Sprintf(
		"the filesystem %s, which holds burst's state (%s), is full%s: burst takes no new work and holds what running tasks report until there is room; free at least %s there",
		diskroom.MountPoint(dir), dir, since, web.Bytes(int64(need)))}
}

// writeInfo writes server.json whole (a temporary file renamed over it).
// On a full disk it goes on without one rather than fail to start: clients
// find the server by its socket; a stale file of a killed server is
// removed rather than left naming a process that is gone.
func (s *Server) writeInfo(path string, info []byte) error {
	tmp := path + ".tmp"
	err := os.WriteFile(tmp, info, 0o600)
	if err != nil && store.IsFull(err) {
		os.Remove(tmp)
		os.Remove(path) // its room may be enough for the new one
		err = os.WriteFile(tmp, info, 0o600)
	}
	if err != nil {
		os.Remove(tmp)
		if store.IsFull(err) {
			s.log.Warn("no room for server.json on a full disk: clients find this server by its socket", "err", err)
			return nil
		}
		return err
	}
	return os.Rename(tmp, path)
}
