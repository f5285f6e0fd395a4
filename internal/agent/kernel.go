package agent

import (
	"os"
	"strings"
)

// KernelOS is this machine's kernel as uname(2) gives it, its system,
// release and version joined by spaces ("Linux 6.1.0-18-amd64 #1 SMP
// PREEMPT_DYNAMIC Debian 6.1.76-1"), as slurmd reports a node's OS to
// scontrol show node; "" where /proc/sys/kernel does not say (not Linux).
// Read once, at the agent's start.
func KernelOS() string {
	var parts []string
	for _, f := range []string{"ostype", "osrelease", "version"} {
		b, err := os.ReadFile("/proc/sys/kernel/" + f)
		if err != nil {
			return ""
		}
		parts = append(parts, strings.TrimSpace(string(b)))
	}
	return strings.Join(parts, " ")
}
