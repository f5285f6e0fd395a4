package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/burst-sh/burst"
)

// The frames of an attach answer (GET /v1/jobs/{id}/attach, docs/api.md):
// each is a kind byte, the length of its payload (4 bytes, big-endian) and
// the payload. Stdout and stderr bytes come as the task writes them, each
// stream's in order; a stream's end frame follows its last bytes; the job
// frame, the job once it has ended, is the last of the answer.
const (
	FrameStdout    byte = 1 // bytes of the task's stdout
	FrameStderr    byte = 2 // bytes of the task's stderr
	FrameStreamEnd byte = 3 // AttachEnd as JSON: a stream is over, whole or cut
	FrameJob       byte = 4 // the job as it ended (the job view's JSON): the last frame
)

// MaxFrame bounds a frame's payload: a reader refuses a longer one as a
// damaged answer (the server sends output in pieces of 64 KiB at most, and
// a job's JSON is far smaller).
const MaxFrame = 16 << 20

// AttachContentType is the media type of an attach answer.
const AttachContentType = "application/vnd.burst.attach"

// AttachEnd ends one stream of an attach answer: Status 200 and no
// Message when the stream was sent whole; otherwise why it was not, as
// GET /v1/jobs/{id}/logs would have answered it (its status and message).
type AttachEnd struct {
	Stream  string `json:"stream"`
	Status  int    `json:"status"`
	Message string `json:"message,omitempty"`
}

// ErrNoAttach says that the server does not know GET /v1/jobs/{id}/attach
// (an older one): follow the job with Logs and Wait instead.
var ErrNoAttach = errors.New("the server does not attach to jobs")

// Attach follows task task of job id to its end in one answer: its stdout
// to stdout and its stderr to stderr as they are written (a nil writer:
// that stream is not followed), then the job once it has ended, which it
// returns. Should the server go away in the middle, it asks again from the
// bytes each stream had reached: each byte is written once.
//
// cut, when not nil, says why a stream's output is not whole (the server
// could not read its file, or the task ran again after part of it was
// sent: the client must not take what it has for the whole output); the
// job is still returned. An older server's refusal is ErrNoAttach.
func (c *Client) Attach(ctx context.Context, id int64, task int, stdout, stderr io.Writer) (job *burst.Job, cut error, err error) {
	st := [2]attachStream{{name: "stdout", w: stdout, done: stdout == nil}, {name: "stderr", w: stderr, done: stderr == nil}}
	path := func() string {
		p := fmt.Sprintf("/v1/jobs/%d/attach?task=%d", id, task)
		var names []string
		for _, s := range st {
			if !s.done {
				names = append(names, s.name)
				p += fmt.Sprintf("&%s=%d", s.name, s.n)
			}
		}
		return p + "&streams=" + strings.Join(names, ",") + c.specQuery("&")
	}
	progress := &countWriter{w: io.Discard} // counts what came: progress renews the retry's patience
	err = c.retrying(ctx, "GET", path(), progress, func(ep *endpoint) error {
		resp, err := ep.request(ctx, "GET", path(), nil, "")
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == http.StatusNotFound && strings.HasPrefix(e.Message, "no such endpoint") {
				return &final{ErrNoAttach}
			}
			return err
		}
		defer resp.Body.Close()
		br := bufio.NewReaderSize(resp.Body, 64<<10)
		var head [5]byte
		var buf []byte
		for {
			if _, err := io.ReadFull(br, head[:]); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF // the job frame ends an answer, never its end alone
				}
				return err
			}
			n := binary.BigEndian.Uint32(head[1:])
			if n > MaxFrame {
				return &final{fmt.Errorf("GET %s: a frame of %d bytes: not an attach answer", path(), n)}
			}
			if cap(buf) < int(n) {
				buf = make([]byte, n)
			}
			b := buf[:n]
			if _, err := io.ReadFull(br, b); err != nil {
				return err
			}
			switch head[0] {
			case FrameStdout, FrameStderr:
				s := &st[head[0]-FrameStdout]
				if s.w == nil || s.done {
					return &final{fmt.Errorf("GET %s: %s bytes that were not asked for", path(), s.name)}
				}
				k, werr := s.w.Write(b)
				s.n += int64(k)
				progress.n += int64(k)
				if werr != nil {
					return &final{werr}
				}
			case FrameStreamEnd:
				var e AttachEnd
				if err := json.Unmarshal(b, &e); err != nil {
					return &final{fmt.Errorf("GET %s: a stream's end: %w", path(), err)}
				}
				if e.Stream == "job" { // the job could not be read: the answer's end
					return &final{&Error{Status: e.Status, Message: e.Message}}
				}
				for i := range st {
					if st[i].name == e.Stream {
						st[i].done = true
					}
				}
				if (e.Status != http.StatusOK || e.Message != "") && cut == nil {
					cut = &Error{Status: e.Status, Message: e.Message}
				}
			case FrameJob:
				var j burst.Job
				if err := json.Unmarshal(b, &j); err != nil {
					return &final{fmt.Errorf("GET %s: the job: %w", path(), err)}
				}
				job = &j
				return nil
			default:
				return &final{fmt.Errorf("GET %s: a frame of kind %d: not an attach answer", path(), head[0])}
			}
		}
	})
	return job, cut, err
}

// attachStream is one stream Attach follows: how much of it came, and
// whether it is over.
type attachStream struct {
	name string
	w    io.Writer
	n    int64
	done bool
}
