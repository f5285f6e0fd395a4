package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A map inside a stack on a machine that shares nothing with the server
// (a test host: its agent contains tasks as a subreaper, with no cgroup)
// leaves no zombie process under the agent. bwrap's pid-1 process exits
// just after its monitor, the task's own process; unreaped, one zombie
// per task piled up (689 after 1,000 tasks at bench/stack's size) and
// each was read again at every task's end.
func TestStackHostsLeaveNoZombies(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := startHostServer(t)
	h.mustRun("cluster", "create", "stackz", "--provider", "joined")
	a := h.startHostAgent(3, "--machine", "bh3-stackz", "--cluster", "stackz", "--cpus", "2")
	h.waitRegistered(a)
	h.mustRun("stack", "create", "ztools", "--from-dir", testRootfs(t, bb, "z-mark"))
	const n = 60
	args := []string{"map", "--quiet", "--on", "stackz", "--stack", "ztools", "--", "true", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	c := h.command(args...)
	c.Dir = "/"
	if r := h.exec(c); r.code != 0 {
		t.Fatalf("map --stack on a host: %s", r)
	}
	agent := descendantNamed(a.cmd.Process.Pid, "burst")
	if agent == 0 {
		t.Fatalf("no burst process below the host's exec (pid %d)", a.cmd.Process.Pid)
	}
	// The map has ended: every task's end was reported, so its reaping is
	// done; what is left now stays.
	if z := zombieChildrenOf(agent); len(z) > 0 {
		t.Fatalf("%d stack tasks left %d zombie children under the agent (pid %d): %v", n, len(z), agent, z)
	}
}

// descendantNamed is the first process below pid (breadth first) whose
// command name is name, or 0.
func descendantNamed(pid int, name string) int {
	queue := childrenOf(pid)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.TrimSpace(string(b)) == name {
			return p
		}
		queue = append(queue, childrenOf(p)...)
	}
	return 0
}

func childrenOf(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(s); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// zombieChildrenOf lists pid's children that exited and were not reaped.
func zombieChildrenOf(pid int) []int {
	var out []int
	for _, k := range childrenOf(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", k))
		if i := strings.LastIndexByte(string(b), ')'); err == nil && i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			out = append(out, k)
		}
	}
	return out
}
