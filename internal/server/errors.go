package server

import (
	"github.com/burst-sh/burst/internal/apierr"
)

// The server's short names for the errors the API maps to statuses
// (internal/apierr holds them, so that internal/api can map them).
type (
	errBadRequest  = apierr.BadRequest // HTTP 400: the caller's to fix
	errNotFoundMsg = apierr.NotFound   // HTTP 404: a named thing that does not exist
	errNoJob       = apierr.NoJob      // HTTP 404: a job id that does not exist
)

// errConflict asks an agent to register again (HTTP 409).
var errConflict = apierr.ErrConflict

func badRequest(format string, a ...any) error { return apierr.BadRequestf(format, a...) }
