package session

import (
	"bytes"
	"os"
	"strconv"
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

// readHostLoad reads the 5-minute load average (/proc/loadavg's second
// field, sysinfo's loads[1], which slurmd reports as CPULoad) and the free
// memory (/proc/meminfo's MemFree, sysinfo's freeram: FreeMem).
func readHostLoad() *burst.HostLoad {
	avg, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := bytes.Fields(avg)
	if len(f) < 2 {
		return nil
	}
	load, err := strconv.ParseFloat(string(f[1]), 64)
	if err != nil {
		return nil
	}
	mem, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil
	}
	for line := range bytes.Lines(mem) {
		if rest, ok := bytes.CutPrefix(line, []byte("MemFree:")); ok {
			if w := bytes.Fields(rest); len(w) > 0 {
				if kb, err := strconv.ParseInt(string(w[0]), 10, 64); err == nil {
					return &burst.HostLoad{CPULoad: load, FreeMemBytes: kb << 10}
				}
			}
		}
	}
	return nil
}
