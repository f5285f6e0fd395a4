package session

import (
	"syscall"
	"time"

	"github.com/burst-sh/burst"
)

// loadEvery is how often a session reads its host's load again: lease
// requests come many times a second on a busy machine, and scontrol show
// node's CPULoad and FreeMem need no more (slurmd's come at its pings).
const loadEvery = 5 * time.Second

// hostLoad is this host's load for the next lease request, read again
// when loadEvery has passed; nil for a session that tells none, or where
// /proc does not say.
func (s *Session) hostLoad() *burst.HostLoad {
	if !s.cfg.HostLoad {
		return nil
	}
	if now := time.Now(); s.load == nil || now.Sub(s.loadAt) >= loadEvery {
		s.load, s.loadAt = readHostLoad(), now
	}
	return s.load
}

// readHostLoad reads the 5-minute load average and the free memory from
// sysinfo(2), as slurmd reads its node's CPULoad (loads[1]) and FreeMem
// (freeram): one system call, no file to parse.
func readHostLoad() *burst.HostLoad {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return nil
	}
	const loadScale = 1 << 16 // SI_LOAD_SHIFT
	return &burst.HostLoad{CPULoad: float64(si.Loads[1]) / loadScale, FreeMemBytes: int64(si.Freeram) * int64(si.Unit)}
}
