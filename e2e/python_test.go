package e2e

import (
	"context"
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
	py := needPython(t)
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
			out, err := pythonCmd(t, h, py, []string{"BURST_TEST_PICKLE=" + mode.pickle}, mode.args...).CombinedOutput()
			t.Logf("%s %s:\n%s", py, strings.Join(mode.args, " "), out)
			if err != nil {
				t.Fatalf("the Python client's tests failed (%v): see the output above", err)
			}
			if !strings.Contains(string(out), "\nOK") || strings.Contains(string(out), "skipped") {
				t.Fatalf("the Python client's tests did not all pass and run: see the output above")
			}
		})
	}
}

// The Python client finds a TLS server as the CLI does: by a pinned hash
// in BURST_SERVER (checked against the chain the server presents), by
// BURST_CA, or by the CA `burst login` kept; a wrong pin and an untrusted CA
// are refused in one line naming the fix, before any request is sent.
func TestPythonClientTLS(t *testing.T) {
	py := needPython(t)
	srv := startTLSServer(t, newHarness(t), "127.0.0.1:0", "--tls")
	tokenFile := filepath.Join(srv.h.home, "token")
	token := strings.TrimSpace(tlsReadFile(t, tokenFile))
	l := tlsLaptop(t)
	const script = `import burst
try:
    b = burst.connect()
    j = b.run(["echo", "over tls"]).wait(timeout=60)
    print("OK", j.state, j.stdout().strip())
except burst.BurstError as e:
    print("ERR", e)
`
	run := func(env ...string) string {
		t.Helper()
		out, err := pythonCmd(t, l, py, env, "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	for _, c := range []struct {
		what string
		env  []string
		want []string
	}{
		{"pinned", []string{"BURST_SERVER=" + srv.url + "#" + srv.hash, "BURST_TOKEN=" + token}, []string{"OK succeeded over tls"}},
		{"BURST_CA", []string{"BURST_SERVER=" + srv.url, "BURST_CA=" + srv.ca, "BURST_TOKEN=" + token}, []string{"OK succeeded over tls"}},
		{"wrong pin", []string{"BURST_SERVER=" + srv.url + "#" + wrong, "BURST_TOKEN=" + token}, []string{"ERR ", wrong, srv.hash}},
		{"untrusted", []string{"BURST_SERVER=" + srv.url, "BURST_TOKEN=" + token}, []string{"ERR ", "burst login " + srv.url, "BURST_CA"}},
	} {
		got := run(c.env...)
		for _, w := range c.want {
			if !strings.Contains(got, w) || strings.Count(got, "\n") > 0 {
				t.Errorf("%s: the Python client printed %q, want one line with %q", c.what, got, w)
			}
		}
	}
	l.mustRun("login", srv.url+"#"+srv.hash, "--token-file", tokenFile)
	if got := run(); got != "OK succeeded over tls" {
		t.Errorf("after burst login, the Python client printed %q, want the job's output over TLS", got)
	}
	tlsNoLocalServer(t, l)
	jobs := srv.h.mustRun("jobs", "-o", "json")
	if n := strings.Count(jobs.stdout, `"id"`); n != 3 {
		t.Errorf("the server holds %d jobs, want 3 (the refused connections submit nothing):\n%s", n, jobs.stdout)
	}
}

// pythonCmd is python3 with args in h's directory and environment, with
// the Python client importable (python/, python/tests), BURST_BIN the
// burst under test and env (KEY=VALUE) added; killed after 8 minutes.
func pythonCmd(t *testing.T, h *harness, py string, env []string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	c := exec.CommandContext(ctx, py, args...)
	c.Dir = h.dir
	c.Env = append(append([]string{}, h.env...),
		"BURST_BIN="+burstBin,
		"PYTHONNOUSERSITE=1",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONPATH="+filepath.Join(moduleDir, "python")+":"+filepath.Join(moduleDir, "python", "tests"),
	)
	c.Env = append(c.Env, env...)
	c.WaitDelay = 5 * time.Second
	return c
}

// needPython is Debian's python3, which must import cloudpickle; a test
// that lacks either skips loudly, and fails under BURST_CI, where it must
// run (.ci/run installs python3-cloudpickle).
func needPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	why := ""
	if _, err := os.Stat(py); err != nil {
		why = py + " is missing (apt-get install python3)"
	} else if out, err := exec.Command(py, "-c", "import cloudpickle").CombinedOutput(); err != nil {
		why = "cloudpickle does not import in " + py + " (apt-get install python3-cloudpickle): " + strings.TrimSpace(string(out))
	}
	if why == "" {
		return py
	}
	if os.Getenv("BURST_CI") != "" {
		t.Fatalf("%s; BURST_CI is set and CI must not skip the Python client", why)
	}
	t.Skipf("SKIPPED LOUDLY: %s", why)
	return ""
}
