// Package slurmtest gives tests a real Slurm: it runs the project's
// scripts/slurm-dev.sh (which installs Slurm from Debian's packages when
// missing and starts slurmctld and two slurmd on this host) in a directory
// of its own, and stops it afterwards. Tests that need Slurm call Start
// from TestMain and skip, loudly, when it gives a reason instead, except
// under BURST_CI, where they must fail.
package slurmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Start starts a Slurm for a test binary, its controller on port (and the
// next four). It returns the SLURM_CONF to use and a function that stops
// it; or, when there can be none (not root, the script failed), the
// reason. The script lives at <root>/scripts/slurm-dev.sh; env is added to
// its environment (e.g. BURST_SLURM_RESUME=... for cloud nodes).
func Start(root string, port int, env ...string) (conf string, stop func(), why string) {
	stop = func() {}
	if os.Getuid() != 0 {
		return "", stop, "not root: scripts/slurm-dev.sh must run as root to install and start Slurm"
	}
	dir, err := os.MkdirTemp("", "burst-test-slurm-")
	if err != nil {
		return "", stop, err.Error()
	}
	script := filepath.Join(root, "scripts", "slurm-dev.sh")
	cmd := exec.Command(script, "start", dir)
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("BURST_SLURM_PORT=%d", port)), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	stop = func() {
		exec.Command(script, "stop", dir).Run()
		os.RemoveAll(dir)
	}
	if err != nil {
		return "", stop, fmt.Sprintf("scripts/slurm-dev.sh start failed: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`export SLURM_CONF=(\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		return "", stop, "scripts/slurm-dev.sh printed no SLURM_CONF: " + string(out)
	}
	return strings.Trim(m[1], `'"`), stop, ""
}

// Skip is what a test without Slurm does: under BURST_CI it fails (CI must
// not skip); otherwise it says why loudly and skips.
func Skip(t interface {
	Helper()
	Fatal(...any)
	Skip(...any)
}, why string) {
	t.Helper()
	msg := "SKIPPED: no Slurm for this test: " + why
	if os.Getenv("BURST_CI") != "" {
		t.Fatal(msg + " (BURST_CI is set: CI must not skip)")
	}
	fmt.Fprintln(os.Stderr, "!!!", msg)
	t.Skip(msg)
}
