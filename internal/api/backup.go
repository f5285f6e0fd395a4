package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
)

// Backups is what GET /v1/backup asks of the server; a backend without it
// has no such route.
type Backups interface {
	// BackupTo writes a consistent copy of the store to dst, a new file.
	BackupTo(ctx context.Context, dst string) error
	// BackupDir is a private directory for the copy on its way out.
	BackupDir() string
}

// ErrCopyBusy is a backup refused because another copy of the store is
// being made for too long: one at a time, so that copies cannot fill the
// disk together. It is answered 503 with Retry-After.
var ErrCopyBusy = errors.New("another copy of the store is being made")

func (h *handler) backupRoutes(mux *http.ServeMux) {
	b, ok := h.b.(Backups)
	if !ok {
		return
	}
	mux.HandleFunc("GET /v1/backup", func(w http.ResponseWriter, r *http.Request) { serveBackup(w, r, b) })
}

// serveBackup answers with a consistent copy of the store, a SQLite
// database, written first to a private file (so that its length is known
// and a cut answer is seen as one) and removed once sent.
func serveBackup(w http.ResponseWriter, r *http.Request, b Backups) {
	dir := b.BackupDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		writeErr(w, err)
		return
	}
	dst := dir + "/.download-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".db"
	defer os.Remove(dst)
	if err := b.BackupTo(r.Context(), dst); err != nil {
		switch {
		case errors.As(err, new(*apierr.NoSpace)):
			writeErr(w, err) // 507, naming the filesystem and the space needed
		case errors.Is(err, ErrCopyBusy):
			w.Header().Set("Retry-After", "30")
			writeJSON(w, http.StatusServiceUnavailable, client.Error{Message: "backup refused: " + err.Error()})
		default:
			writeJSON(w, 500, client.Error{Message: "backup failed: " + err.Error()})
		}
		return
	}
	f, err := os.Open(dst)
	if err != nil {
		writeErr(w, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.WriteHeader(200)
	f.WriteTo(w) // bytes cut short show as a short body: Content-Length
}
