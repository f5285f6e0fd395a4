package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// homeWatchEvery is how often a server looks whether its store is still
// where it serves it from.
const homeWatchEvery = time.Second

// watchHome stops the server once its store is no longer at its home's
// path: the home removed (rm -rf ~/.burst) or moved while it serves, or
// its state.db replaced. Such a server would serve on with a store no one
// can reach again, everything it records lost with it, while the next
// command, finding no server at the home, starts a second one there: two
// servers, and the old one's agent writing task logs into the new home.
// Whether the store is gone is read from the path alone (another file
// there, or none); a stat that fails otherwise (EACCES, EIO) tells
// nothing, and the server serves on.
func (s *Server) watchHome(ctx context.Context, d time.Duration) {
	path, opened := s.home.DB(), s.dbFile
	if opened == nil {
		s.log.Warn("cannot watch the store's path: a removed home will not stop this server", "store", path)
		return
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	every(ctx, d, false, nil, func() {
		fi, err := os.Stat(path)
		if err == nil && os.SameFile(fi, opened) || err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
		what := "removed"
		if err == nil {
			what = "replaced by another file"
		}
		s.log.Error("the store this server serves was "+what+" under it (its home removed or moved?): stopping; the next burst command starts a server on what is at the home now",
			"store", path, "home", string(s.home))
		s.homeGone(fmt.Sprintf("its store %s was %s under it (its home removed or moved?); what it recorded since is lost, "+
			"and the next burst command starts a server on what is at %s now", path, what, s.home))
		stop()
	})
}

// homeGone tells whoever runs this server to stop it (Done), as
// `burst server stop` would, and why (Why).
func (s *Server) homeGone(why string) {
	s.goneOnce.Do(func() {
		s.why = why
		close(s.gone)
	})
}

// Why says why the server stopped of its own accord, once Done is closed.
func (s *Server) Why() string {
	select {
	case <-s.gone:
		return s.why
	default:
		return ""
	}
}
