package server

import (
	"path/filepath"
	"strconv"

	"github.com/burst-sh/burst/client"
)

// The rules of machines that share no filesystem with the server (their
// output is shipped: output.go): where their tasks' output is kept, what
// their assignments say, and which stream a chunk goes to. They run under
// the server's lock and make no system call.

// outStreamLocked finds (or makes) the stream a chunk goes to: that of a
// task attempt its machine holds. Called with s.mu held; no I/O.
func (c *control) outStreamLocked(ch *client.OutputChunk) (*outStream, error) {
	m := c.machines[ch.Machine]
	if m == nil || !m.registered || ch.BootID != c.bootID {
		return nil, errConflict
	}
	t := m.tasks[taskKey{ch.Job, ch.Index}]
	if t == nil || t.row.Attempt != ch.Attempt {
		return nil, client.ErrOutputGone
	}
	i, path := 0, t.row.Stdout
	if ch.Stream == client.StreamStderr {
		i, path = 1, t.row.Stderr
	}
	if path == "" {
		return nil, client.ErrOutputGone // nowhere to keep it (a pipe stage's stdout)
	}
	if t.out[i] == nil {
		t.out[i] = &outStream{path: path, fresh: remoteFresh(t)}
	}
	return t.out[i], nil
}

// remoteFresh says whether a remote task's log starts afresh with this
// attempt: its first, any attempt of a map (its results are each input's
// last attempt) or of a pipe (it restarts whole); a run's later attempts
// add to what the earlier ones wrote, as on a shared machine.
func remoteFresh(t *taskRT) bool {
	spec := t.job.row.Spec
	return t.row.Attempt <= 1 || spec.Map != nil || spec.Pipe != nil
}

// remoteLogPaths are where the server keeps a remote task's shipped output:
// burst's own log files of the task, whatever the job's output paths say
// (an #SBATCH --output is written on the machine, relative to the task's
// private directory there: remoteAssignment). same: stdout and stderr go
// to one file.
func (c *control) remoteLogPaths(j *jobRT, idx int, same bool) (string, string) {
	dir := filepath.Join(c.logs, strconv.FormatInt(j.row.ID, 10), strconv.Itoa(idx/1000))
	out, errp := filepath.Join(dir, strconv.Itoa(idx)+".out"), filepath.Join(dir, strconv.Itoa(idx)+".err")
	if same {
		errp = out
	}
	return out, errp
}

// remoteAssignment tells a remote machine's agent where its task's output
// goes on the machine: a batch job's own files (#SBATCH --output and
// --error, opened as sbatch opens them, relative to the task's private
// directory unless absolute), which the agent also ships; for anything
// else nothing (""): the agent keeps the output in its spool while it
// ships it. No path of the server's host is sent.
func (c *control) remoteAssignment(t *taskRT, a *client.Assignment) {
	spec := t.job.row.Spec
	if spec.Batch != nil && !spec.Native && spec.Pipe == nil {
		a.Stdout, a.Stderr = c.batchPaths(t.job, t.row.Index, t.machine.row.Host)
		return
	}
	a.Stdout, a.Stderr, a.Direct = "", "", false
}
