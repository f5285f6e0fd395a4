package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/burst-sh/burst/client"
)

// OutputSink takes the output that agents of machines sharing no
// filesystem with the server ship (POST /v1/agent/output). A Backend that
// implements it serves the route.
type OutputSink interface {
	Output(ctx context.Context, ch *client.OutputChunk) (*client.OutputAck, error)
}

// outputRoute serves POST /v1/agent/output: the body is the chunk's bytes
// (at most client.MaxOutputChunk), the query says whose and where they go.
func (h *handler) outputRoute(mux *http.ServeMux) {
	sink, ok := h.b.(OutputSink)
	if !ok {
		return
	}
	mux.HandleFunc("POST /v1/agent/output", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ch := client.OutputChunk{Machine: q.Get("machine"), BootID: q.Get("boot"), Stream: q.Get("stream")}
		var err error
		num := func(name string) int64 {
			v, perr := strconv.ParseInt(q.Get(name), 10, 64)
			if perr != nil && err == nil {
				err = errors.New("output: " + name + " " + strconv.Quote(q.Get(name)) + " is not a number: an agent sends job, task, attempt and offset as integers")
			}
			return v
		}
		ch.Job, ch.Index, ch.Attempt, ch.Offset = num("job"), int(num("task")), int(num("attempt")), num("offset")
		if err != nil {
			writeJSON(w, 400, client.Error{Message: err.Error()})
			return
		}
		if err := ownMachine(r.Context(), &ch); err != nil {
			writeErr(w, err) // before reading a body it would not take
			return
		}
		data, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, client.MaxOutputChunk))
		if rerr != nil {
			if errors.As(rerr, new(*http.MaxBytesError)) {
				w.Header().Set("Connection", "close")
				writeJSON(w, http.StatusRequestEntityTooLarge, client.Error{Message: "output chunk larger than " + strconv.Itoa(client.MaxOutputChunk) + " bytes: ship it in smaller chunks"})
				return
			}
			writeJSON(w, 400, client.Error{Message: "output: reading the chunk: " + rerr.Error()})
			return
		}
		ch.Data = data
		ack, err := sink.Output(r.Context(), &ch)
		var gap *client.OutputGap
		switch {
		case errors.As(err, &gap):
			writeJSON(w, http.StatusRequestedRangeNotSatisfiable, gap)
		case errors.Is(err, client.ErrOutputGone):
			writeJSON(w, http.StatusGone, client.Error{Message: err.Error()})
		case err != nil:
			writeErr(w, err)
		default:
			writeJSON(w, 200, ack)
		}
	})
}
