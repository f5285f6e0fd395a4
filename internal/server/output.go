package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/burst-sh/burst/client"
)

// A machine that does not see the server's home (client.Register.Remote)
// cannot write its tasks' output into the server's log files: its agent
// writes it to a spool of its own and ships it here (POST
// /v1/agent/output), and Output writes it into the same files a shared
// machine's agent would have (logPaths), so that logs, results, the
// dashboard and storage metering read them unchanged.
//
// The protocol is an offset-append: each chunk says where it begins in its
// attempt's output; it is written exactly there, once. A chunk the server
// already holds (a retry after a lost answer) is acknowledged again; one
// that overlaps what it holds adds only its new tail; one that begins past
// the end is refused with where to ship from. Each stream's state lives in
// its taskRT, so it is forgotten with the attempt.

// outStream is what the server holds of one stream of a task attempt
// shipped by its agent.
type outStream struct {
	writing sync.Mutex // one chunk at a time (a retry may race the chunk it repeats); held while the file is written, never the server's lock
	path    string
	fresh   bool         // the file starts afresh with this attempt (truncated at its first chunk)
	known   bool         // base and next are known (after a restart, read from the file at the first chunk)
	base    int64        // where this attempt's output begins in the file
	next    int64        // bytes of this attempt's output the file holds
	held    atomic.Int64 // next, read under the server's lock (countStorage) without the stream's
}

// Output writes one chunk of a remote task's output into its log file. The
// chunk is checked, and its stream found, under s.mu; the file is written
// under the stream's own lock alone.
func (s *Server) Output(ctx context.Context, ch *client.OutputChunk) (*client.OutputAck, error) {
	if ch.Stream != client.StreamStdout && ch.Stream != client.StreamStderr {
		return nil, badRequest("output: stream %q: give stdout or stderr", ch.Stream)
	}
	if ch.Offset < 0 || len(ch.Data) > client.MaxOutputChunk {
		return nil, badRequest("output: offset %d with %d bytes: the offset is 0 or more and a chunk at most %d bytes", ch.Offset, len(ch.Data), client.MaxOutputChunk)
	}
	s.mu.Lock()
	st, err := s.outStreamLocked(ch)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	next, err := st.write(ch.Offset, ch.Data)
	if err != nil {
		return nil, err
	}
	return &client.OutputAck{Next: next}, nil
}

// write puts data at offset in the stream's output and returns how many
// bytes it holds now.
func (o *outStream) write(offset int64, data []byte) (int64, error) {
	o.writing.Lock()
	defer o.writing.Unlock()
	if !o.known {
		if err := o.learn(offset); err != nil {
			return 0, err
		}
	}
	if offset > o.next {
		return 0, &client.OutputGap{Next: o.next,
			Message: fmt.Sprintf("output chunk at offset %d leaves a gap: the server holds %d bytes of this output: ship from there", offset, o.next)}
	}
	skip := o.next - offset
	if skip >= int64(len(data)) {
		return o.next, nil // held already: a retry
	}
	f, err := openShipped(o.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := f.WriteAt(data[skip:], o.base+o.next)
	o.next += int64(n)
	o.held.Store(o.next)
	if err != nil {
		return o.next, fmt.Errorf("write the output of a remote task to %s: %w", o.path, err)
	}
	return o.next, nil
}

// learn finds where this attempt's output begins in the file, at the
// stream's first chunk. A first chunk at offset 0 begins it: the file is
// truncated if the attempt starts afresh, else its output follows what the
// file holds. A first chunk past 0 comes after a server restart (the
// stream's state was in memory): what the file holds then is taken as
// this attempt's output so far, all of it for a fresh file, the file's
// tail for one appended to.
func (o *outStream) learn(offset int64) error {
	var size int64
	fi, err := os.Stat(o.path)
	switch {
	case err == nil:
		size = fi.Size()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("output of a remote task: %w", err)
	}
	switch {
	case offset == 0 && o.fresh:
		if size > 0 {
			if err := os.Truncate(o.path, 0); err != nil {
				return fmt.Errorf("start the output of a remote task afresh: %w", err)
			}
		}
		o.base, o.next = 0, 0
	case offset == 0:
		o.base, o.next = size, 0
	case o.fresh:
		o.base, o.next = 0, size
	default:
		o.base = max(size-offset, 0)
		o.next = size - o.base
	}
	o.known = true
	o.held.Store(o.next)
	return nil
}

// openShipped opens a log file for a shipped chunk, making it (0600, in a
// 0700 directory: it lies in burst's home) if need be.
func openShipped(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
}
