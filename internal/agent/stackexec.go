package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/stack"
)

// A task of a job that keeps its changes (burst run --keep-changes,
// docs/stacks.md) runs with a writable root whose changes are recorded:
// an overlay whose lower layer is the stack's cached root filesystem
// (never written) and whose upper layer is the task's own directory
// (changesDir), packed and uploaded when it ends for `burst stack
// commit`. Debian 12's bwrap (0.8.0) mounts no overlay, so burst mounts
// it first, in a user and mount namespace of its own, and runs bwrap in
// there with the merged tree bound at /:
//
//	burst agent-stack-exec LOWER STATE -- bwrap ... --bind STATE/merged / ...
//
// The runner starts it in new user (the agent's uid and gid mapped to 0)
// and mount namespaces (runner.Spec.UserNS), where it may mount; it
// mounts the overlay and execs bwrap. The mount lives as long as the
// namespace: it needs no unmounting. main runs the command before any
// of the CLI is set up.

// StackExecCmd is the hidden subcommand that runs a writable stack.
const StackExecCmd = "agent-stack-exec"

// changesDir is where the overlay of the task whose private directory is
// dir keeps its state: upper (the changes), work (the overlay's) and
// merged (the root the task sees). It is beside dir, out of the task's
// reach at /work.
func changesDir(dir string) string { return dir + ".stack" }

// self is this program, which the agent runs as agent-stack-exec.
var self = sync.OnceValue(func() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
})

// writableArgv is argv (bwrap's, root bound read-only at /) turned into
// the run of a writable root over lower whose changes go to state. Inside
// the namespace burst makes, the agent's uid is 0: bwrap gives the task
// back the agent's ids.
func writableArgv(lower, state string, argv []string) []string {
	out := make([]string, 0, len(argv)+10)
	out = append(out, self(), StackExecCmd, lower, state, "--", argv[0],
		"--uid", strconv.Itoa(os.Getuid()), "--gid", strconv.Itoa(os.Getgid()))
	merged := filepath.Join(state, "merged")
	for i := 1; i < len(argv); i++ {
		if argv[i] == "--ro-bind" && i+2 < len(argv) && argv[i+1] == lower && argv[i+2] == "/" {
			out = append(out, "--bind", merged, "/")
			i += 2
			continue
		}
		out = append(out, argv[i])
	}
	return out
}

// StackExec is `burst agent-stack-exec LOWER STATE -- ARGV...` (above),
// run inside the namespaces: it mounts the overlay and becomes ARGV
// (bwrap, which gives the task the agent's uid and gid back: --uid,
// --gid). It returns only on an error.
func StackExec(args []string) error {
	if len(args) < 4 || args[2] != "--" {
		return errors.New("usage: burst " + StackExecCmd + " LOWER STATE -- ARGV... (the agent runs it)")
	}
	lower, state, argv := args[0], args[1], args[3:]
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower,
		filepath.Join(state, "upper"), filepath.Join(state, "work"))
	if err := unix.Mount("overlay", filepath.Join(state, "merged"), "overlay", 0, opts); err != nil {
		return fmt.Errorf("cannot mount the stack's writable overlay (%s): %w; this kernel may not allow overlayfs in a user namespace (5.11 or later does)", opts, err)
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return syscall.Exec(bin, argv, os.Environ())
}

// keepStageChanges prepares what a pipe's stage that keeps its stack
// changes needs (a pipe stage is not staged: it runs in the job's
// directory): the overlay's state beside the private directory it would
// have, its changes uploaded as its job's at its end (finishStage).
func (a *Agent) keepStageChanges(as client.Assignment, jc *client.JobContext) (*stageTask, error) {
	dir := filepath.Join(a.cfg.WorkDir, "work", strconv.FormatInt(as.Job, 10), strconv.Itoa(as.Index))
	st := &stageTask{dir: dir, own: true, changes: changesDir(dir),
		who: client.BlobPut{Project: jc.Project, Kind: "output", Job: as.Job, Task: as.Index, Attempt: as.Attempt}}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("cannot make the writable stack's directory: %w", err)
	}
	return st, newChangesDir(st.changes)
}

// newChangesDir makes the overlay's state directory afresh (an earlier
// attempt's is removed).
func newChangesDir(state string) error {
	os.RemoveAll(state)
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o700); err != nil {
			return fmt.Errorf("cannot make the writable stack's directory: %w", err)
		}
	}
	return nil
}

// changesName is the name the changes' tar is uploaded under (it is no
// output of the task's: it is reported apart, TaskEvent.StackChanges).
const changesName = "stack-changes.tar"

// packChanges packs and uploads what the task of st changed in its stack
// (its overlay's upper directory), into st.changed; none changed leaves
// it nil. A tree that cannot be packed (a file the task made unreadable)
// is a note on the task's end, not its failure; an upload that fails is
// as an output's.
func (a *Agent) packChanges(st *stageTask) (string, error) {
	upper := filepath.Join(st.changes, "upper")
	if ents, err := os.ReadDir(upper); err != nil || len(ents) == 0 {
		return "", nil
	}
	path := filepath.Join(st.changes, changesName)
	f, err := os.Create(path)
	if err != nil {
		return "its stack changes were not kept: " + err.Error(), nil
	}
	_, err = stack.PackChanges(upper, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "its stack changes were not kept: " + err.Error(), nil
	}
	refs, err := a.upload(st.who, []string{path})
	if err != nil {
		return "", err
	}
	st.changed = &client.OutputFile{Path: changesName, Digest: refs[0].Digest, Size: refs[0].Size, Mode: 0o644}
	return "", nil
}
