// Package apierr names the errors the control plane returns that the HTTP
// API answers with a status other than 500: the server returns them, and
// internal/api maps them to their status (docs/api.md). It imports nothing
// of burst's, so that any package can return them.
package apierr

import (
	"errors"
	"fmt"
	"strconv"
)

// BadRequest is a request that is the caller's to fix (HTTP 400). Msg says
// what to change.
type BadRequest struct{ Msg string }

func (e *BadRequest) Error() string { return e.Msg }

// BadRequestf is a BadRequest with a formatted message.
func BadRequestf(format string, a ...any) error {
	return &BadRequest{Msg: fmt.Sprintf(format, a...)}
}

// NotFound is a named thing that does not exist (HTTP 404). Msg names the
// things that do, or how to list them.
type NotFound struct{ Msg string }

func (e *NotFound) Error() string { return e.Msg }

// NoJob is a job id that does not exist (HTTP 404).
type NoJob struct{ ID int64 }

func (e *NoJob) Error() string {
	return "no job " + strconv.FormatInt(e.ID, 10) + ": see `burst jobs` for the jobs that exist"
}

// ErrConflict asks an agent to register again (HTTP 409).
var ErrConflict = errors.New("unknown agent or server restarted: register again")

// NoSpace is work refused because the disk that holds burst's state is
// full or nearly so (HTTP 507 Insufficient Storage). Msg names the
// filesystem and the space to free; reads and running tasks go on.
type NoSpace struct{ Msg string }

func (e *NoSpace) Error() string { return e.Msg }

// Busy is work the server turns away because taking it would pass a limit
// on what it holds (HTTP 503 Service Unavailable, without Retry-After: it
// frees only as other work ends). Msg says what holds it and what to do.
type Busy struct{ Msg string }

func (e *Busy) Error() string { return e.Msg }
