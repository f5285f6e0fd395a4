package server

import (
	"errors"
	"fmt"
)

// errBadRequest marks errors that are the caller's to fix (HTTP 400).
type errBadRequest struct{ msg string }

func (e *errBadRequest) Error() string { return e.msg }

func badRequest(format string, a ...any) error { return &errBadRequest{fmt.Sprintf(format, a...)} }

// errConflict asks an agent to register again (HTTP 409).
var errConflict = errors.New("unknown agent or server restarted: register again")
