package burstbin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ServerPID is the pid of the server whose home is home (from its
// server.json), or 0 when none has started.
func ServerPID(home string) int {
	b, err := os.ReadFile(filepath.Join(home, "server.json"))
	if err != nil {
		return 0
	}
	var in struct {
		PID int `json:"pid"`
	}
	if json.Unmarshal(b, &in) != nil {
		return 0
	}
	return in.PID
}

// AgentPIDs are the pids of the agents the server of home started on
// this host (agents/*.pid).
func AgentPIDs(home string) []int {
	files, _ := filepath.Glob(filepath.Join(home, "agents", "*.pid"))
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Stop kills the server of home, then its agents, each by its own pid.
func Stop(home string) {
	if pid := ServerPID(home); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range AgentPIDs(home) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Status is a field of /proc/PID/status given in kB (VmRSS, VmHWM), in
// bytes; 0 when the process or the field is not there.
func Status(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
