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
	"time"
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

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture burst runs on (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// CPU is the CPU time (user + system) a process has used so far, from
// /proc/PID/stat (in 10 ms ticks); 0 when it is not there. Its children's
// time is not in it: for an agent, the tasks' own processes are not
// counted, only what the agent spends starting, watching and reporting
// them.
func CPU(pid int) time.Duration { return statTime(pid, 11) }

// ChildrenCPU is the CPU time (user + system) of the children a process
// has waited for, and of theirs (cutime + cstime in /proc/PID/stat): for
// an agent, the tasks it ran. 0 when the process is not there.
func ChildrenCPU(pid int) time.Duration { return statTime(pid, 13) }

// statTime is the sum of the two clock-tick fields of /proc/PID/stat that
// start at index i, counting from the field after the command name.
func statTime(pid, i int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (field 3, the state, first).
	end := strings.LastIndexByte(string(b), ')')
	if end < 0 {
		return 0
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < i+2 {
		return 0
	}
	// Fields 14 and 15 (utime, stime) are f[11], f[12]; 16 and 17
	// (cutime, cstime) are f[13], f[14].
	a, _ := strconv.ParseInt(f[i], 10, 64)
	c, _ := strconv.ParseInt(f[i+1], 10, 64)
	return time.Duration(a+c) * time.Second / clockTicks
}
