package e2e

import (
	"bytes"
	"context"
	"encoding/json"
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
	t.Parallel()
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
	t.Parallel()
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

// A Python map on a machine that shares nothing with the caller (a test
// host: its own /tmp, HOME and host name): the function, a closure over
// 200 KiB (past the inline limit, so it travels through the blob store),
// reaches the host as data; the caller's interpreter lies at a path the
// host lacks, so tasks fall back on its python3; no burst package and no
// cloudpickle import are needed there; results come back in order through
// the logs the agent ships.
func TestHostsPythonMap(t *testing.T) {
	t.Parallel()
	py := needPython(t)
	h := startHostServer(t)
	h.mustRun("cluster", "create", "pyhost", "--provider", "joined")
	a := h.startHostAgent(1, "--machine", "bh1-py", "--cluster", "pyhost", "--cpus", "2")
	h.waitRegistered(a)
	link := filepath.Join(h.root, "bin", "python3") // under this machine's /tmp: no such path on the host
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(py, link); err != nil {
		t.Fatal(err)
	}
	const script = `import burst, json, os, sys
b = burst.connect()
k, big = 5, b"z" * (200 << 10)
r = b.map(lambda x: [x + k, os.uname()[1], os.getcwd(), len(big), sys.executable, "cloudpickle" in sys.modules], range(6), cluster="pyhost")
print(json.dumps({"r": r, "host": os.uname()[1], "exe": sys.executable}))
`
	out, err := pythonCmd(t, h, link, nil, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("python map on a test host: %v\n%s", err, out)
	}
	t.Logf("python: %s", out)
	var got struct {
		R    [][]any `json:"r"`
		Host string  `json:"host"`
		Exe  string  `json:"exe"`
	}
	if err := json.Unmarshal(out[bytes.LastIndexByte(bytes.TrimSpace(out), '\n')+1:], &got); err != nil {
		t.Fatalf("python printed %q: %v", out, err)
	}
	if got.Exe != link {
		t.Fatalf("the caller's sys.executable is %s, want %s (the path the host lacks)", got.Exe, link)
	}
	if len(got.R) != 6 {
		t.Fatalf("map returned %d results, want 6: %s", len(got.R), out)
	}
	for i, r := range got.R {
		if len(r) != 6 {
			t.Fatalf("result %d: %v", i, r)
		}
		if r[0] != float64(i+5) || r[3] != float64(200<<10) {
			t.Errorf("result %d: %v, want %d and the closure's 204800 bytes", i, r, i+5)
		}
		if r[1] == got.Host {
			t.Errorf("call %d ran on %v, the caller's own host: want the test host", i, r[1])
		}
		if r[2] == h.dir {
			t.Errorf("call %d ran in the caller's directory %s, which the host does not have", i, h.dir)
		}
		if r[4] == link || r[5] != false {
			t.Errorf("call %d: its python was %v (cloudpickle imported: %v): want the host's python3, without cloudpickle", i, r[4], r[5])
		}
	}
}
