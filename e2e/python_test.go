package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Python client (python/burst) against a real server: its unittest
// suite (python/tests) runs with Debian's /usr/bin/python3 twice, once with
// cloudpickle (lambdas and closures travel by value) and once with `-S`
// (no site-packages, hence no cloudpickle: functions travel by name). Both
// are needed under BURST_CI (.ci/run installs python3-cloudpickle); missing
// elsewhere, the test skips loudly.
func TestPythonClient(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		needPython(t, py+" is missing (apt-get install python3)")
	}
	if out, err := exec.Command(py, "-c", "import cloudpickle").CombinedOutput(); err != nil {
		needPython(t, "cloudpickle does not import in "+py+" (apt-get install python3-cloudpickle): "+strings.TrimSpace(string(out)))
	}
	for _, mode := range []struct {
		name, pickle string
		args         []string
	}{
		// test_worker runs the task side alone, cloudpickled functions on a
		// python without cloudpickle: it needs cloudpickle in the caller.
		{"cloudpickle", "cloudpickle", []string{"-m", "unittest", "-v", "test_client", "test_worker"}},
		{"pickle", "pickle", []string{"-S", "-m", "unittest", "-v", "test_client"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustRun("project", "create", "pyb", "--budget", "10")
			args := mode.args
			c := exec.Command(py, args...)
			c.Dir = h.dir
			c.Env = append(append([]string{}, h.env...),
				"BURST_BIN="+burstBin,
				"BURST_TEST_PICKLE="+mode.pickle,
				"PYTHONNOUSERSITE=1",
				"PYTHONDONTWRITEBYTECODE=1",
				"PYTHONPATH="+filepath.Join(moduleDir, "python")+":"+filepath.Join(moduleDir, "python", "tests"),
			)
			c.WaitDelay = 5 * time.Second
			timer := time.AfterFunc(8*time.Minute, func() { c.Process.Kill() })
			defer timer.Stop()
			out, err := c.CombinedOutput()
			t.Logf("%s %s:\n%s", py, strings.Join(args, " "), out)
			if err != nil {
				t.Fatalf("the Python client's tests failed (%v): see the output above", err)
			}
			if !strings.Contains(string(out), "\nOK") || strings.Contains(string(out), "skipped") {
				t.Fatalf("the Python client's tests did not all pass and run: see the output above")
			}
		})
	}
}

// needPython skips a test that needs what is missing, loudly, and fails it
// under BURST_CI, where it must run.
func needPython(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("BURST_CI") != "" {
		t.Fatalf("%s; BURST_CI is set and CI must not skip the Python client", why)
	}
	t.Skipf("SKIPPED LOUDLY: %s", why)
}
