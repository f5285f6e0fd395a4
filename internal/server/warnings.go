package server

import (
	"sync"
	"time"
)

// warnings says whether a warning that may repeat on every tick (a store
// read that keeps failing) is due: once per key each interval, so that a
// fault that lasts leaves a line a minute in the log, not one every tick.
type warnings struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// warnInterval is how often a repeating warning is logged again.
const warnInterval = time.Minute

// due says whether the warning key may be logged at now, and notes it.
func (w *warnings) due(key string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.last[key]; ok && now.Sub(at) < warnInterval {
		return false
	}
	if w.last == nil {
		w.last = map[string]time.Time{}
	}
	if len(w.last) > 10000 { // keys of faults long gone: start over rather than grow
		clear(w.last)
	}
	w.last[key] = now
	return true
}
