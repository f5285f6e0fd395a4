package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startRemoteAgent starts an agent that shares no filesystem with the
// server: in a private mount namespace where a fresh tmpfs hides the
// directory that holds the server's home (and /tmp), with a home of its
// own there and the server's token in its environment, talking to the
// server over loopback TCP. The binary is read through a descriptor opened
// before the mounts hide it. It returns the agent's pid (that of its mount
// namespace) and its home as the agent sees it.
func startRemoteAgent(t *testing.T, h *harness, machine string) (int, string) {
	t.Helper()
	needRoot(t, "a private mount namespace (unshare -m)") // under BURST_CI=1 a skip would hide a failure
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not installed")
	}
	token, err := os.ReadFile(filepath.Join(h.home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	const agentHome = "/tmp/remote-home"
	script := `exec 3<"$BIN" && mount -t tmpfs tmpfs "$HIDE" && { [ "$HIDE" = /tmp ] || mount -t tmpfs tmpfs /tmp; } &&
		mkdir -p /tmp/bin "$BURST_HOME" && cat <&3 >/tmp/bin/burst && exec 3<&- && chmod +x /tmp/bin/burst &&
		exec /tmp/bin/burst agent --server "$ADDR" --machine "$MACHINE" --cluster remote --cpus 2`
	c := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
	c.Env = append(append([]string(nil), h.env...), "BIN="+burstBin, "HIDE="+filepath.Dir(h.root), "ADDR="+h.serverInfo().Addr,
		"MACHINE="+machine, "BURST_TOKEN="+strings.TrimSpace(string(token)))
	for i, kv := range c.Env {
		if strings.HasPrefix(kv, "BURST_HOME=") {
			c.Env[i] = "BURST_HOME=" + agentHome
		}
	}
	logf, err := os.Create(filepath.Join(h.root, machine+".log"))
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("--- %s's agent log:\n%s", machine, tail(string(b), 3000))
		}
	})
	waitFor(t, machine+" to register as a machine that shares no filesystem", 30*time.Second, func() bool {
		var ms []struct {
			ID     string `json:"id"`
			State  string `json:"state"`
			Remote bool   `json:"remote"`
		}
		if json.Unmarshal([]byte(h.mustRun("machine", "list", "-o", "json").stdout), &ms) != nil {
			return false
		}
		for _, m := range ms {
			if m.ID == machine && m.State == "running" {
				if !m.Remote {
					t.Fatalf("machine %s, in a mount namespace that hides the server's home, registered as sharing it", machine)
				}
				return true
			}
		}
		return false
	})
	return c.Process.Pid, filepath.Join(agentHome, "agents", machine)
}

// onMachine runs argv in the mount namespace of the agent pid.
func onMachine(t *testing.T, pid int, argv ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-m", "--"}, argv...)...).CombinedOutput()
	return string(out), err
}

// A machine that shares nothing with the server runs a task in a private
// directory of its own and its output reaches `burst run` byte for byte
// (non-UTF-8 included); the local machine stays "shared".
func TestRemoteRunOutputExact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("machine", "list")
	pid, agentDir := startRemoteAgent(t, h, "remote-1")
	if out := h.mustRun("machine", "list").stdout; !strings.Contains(out, "FILES") || !strings.Contains(out, "own") {
		t.Errorf("machine list shows no FILES column saying own:\n%s", out)
	}
	// The task proves where it runs: not in the submitter's directory,
	// not seeing the server's home.
	script := fmt.Sprintf(`printf 'caf\351 \377\000end\n'; pwd; test -e %s && echo SEES-HOME; echo to-stderr >&2`, shellQuote([]string{filepath.Join(h.home, "token")}))
	r := h.run("run", "--on", "remote", "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("run on the remote machine failed:\n%s", r)
	}
	lines := strings.SplitN(r.stdout, "\n", 3)
	if len(lines) < 2 || lines[0] != "caf\xe9 \xff\x00end" {
		t.Fatalf("burst run printed %q, want the bytes the task wrote (caf\\xe9 \\xff\\x00end)", r.stdout)
	}
	wd := lines[1]
	if !strings.HasPrefix(wd, filepath.Join(agentDir, "work")+"/") {
		t.Errorf("the task ran in %q, want a private directory under %s/work", wd, agentDir)
	}
	if strings.Contains(r.stdout, "SEES-HOME") {
		t.Errorf("the remote task sees the server's home: the test's namespace leaks")
	}
	id := jobIDFrom(t, r)
	if got := h.mustRun("logs", idArg(id), "--stderr").stdout; got != "to-stderr\n" {
		t.Errorf("burst logs --stderr = %q, want %q", got, "to-stderr\n")
	}
	// Its private directory is removed once it ended (and shipped).
	waitFor(t, "the private directory to be removed", 10*time.Second, func() bool {
		_, err := onMachine(t, pid, "test", "-e", wd)
		return err != nil
	})
}

// A map on a remote machine: every task's output is in `burst logs` once
// `burst wait` returns, whole, including one of about 5 MB (twenty chunks,
// shipped while it runs and finished before its end is reported).
func TestRemoteMapLogsComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("machine", "list")
	startRemoteAgent(t, h, "remote-1")
	out := h.mustRun("map", "-d", "--on", "remote", "--", "sh", "-c", `seq 1 "$1" | sed "s/^/line-$1-/"`, "_", "{}", ":::", "3", "270000", "10").stdout
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("map -d printed %q, want a job id", out)
	}
	h.mustRun("wait", idArg(id))
	for task, n := range []int{3, 270000, 10} {
		var want bytes.Buffer
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&want, "line-%d-%d\n", n, i)
		}
		got := h.mustRun("logs", idArg(id), "--task", strconv.Itoa(task)).stdout
		if got != want.String() {
			t.Errorf("task %d: burst logs gave %d bytes, want %d (the output of seq 1 %d)", task, len(got), want.Len(), n)
		}
	}
	recordFault(t, faultRow{Fault: "remote machine: output shipped over the agent protocol", Tasks: 3})
}

// An #SBATCH --output file is written on the machine where the task ran,
// relative to its working directory there, and `burst logs` shows it.
// sbatch(1), --output: "the batch script's standard output is directed to
// the file name specified", relative to the working directory of the
// batch script.
func TestRemoteSbatchOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("machine", "list")
	pid, agentDir := startRemoteAgent(t, h, "remote-1")
	writeFile(t, filepath.Join(h.dir, "job.sbatch"), "#!/bin/sh\n#SBATCH --output=result-%j.txt\necho from-batch\necho batch-err >&2\n", 0o755)
	r := h.run("run", "--on", "remote", "job.sbatch")
	if r.code != 0 {
		t.Fatalf("batch job on the remote machine failed:\n%s", r)
	}
	id := jobIDFrom(t, r)
	want := "from-batch\nbatch-err\n"
	if got := h.mustRun("logs", idArg(id)).stdout; got != want {
		t.Errorf("burst logs = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(h.dir, fmt.Sprintf("result-%d.txt", id))); err == nil {
		t.Errorf("the --output file was written in the submitter's directory on the server's host; want it on the machine")
	}
	path := filepath.Join(agentDir, "work", idArg(id), "0", fmt.Sprintf("result-%d.txt", id))
	if got, err := onMachine(t, pid, "cat", path); err != nil || got != want {
		t.Errorf("on the machine, %s holds %q (%v), want %q", path, got, err, want)
	}
}

// A command that names a file only the submitter's host has fails at once
// on a remote machine, saying which path and which machine, and pointing
// to staging; one that names a file the machine has too runs.
func TestRemoteMissingInputFailsFast(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("machine", "list")
	startRemoteAgent(t, h, "remote-1")
	writeFile(t, filepath.Join(h.dir, "input.txt"), "data\n", 0o644)
	r := h.run("run", "--on", "remote", "--", "cat", "input.txt")
	if r.code == 0 {
		t.Fatalf("cat input.txt ran on a machine that lacks it:\n%s", r)
	}
	id := jobIDFrom(t, r)
	reason := h.show(id).task0(t).Reason
	for _, want := range []string{"input.txt exists only in " + filepath.Join(h.dir, "input.txt"), "machine remote-1", "--in"} {
		if !strings.Contains(reason, want) {
			t.Errorf("the task's reason %q does not say %q", reason, want)
		}
	}
	if r := h.run("run", "--on", "remote", "--", "cat", "/etc/hostname"); r.code != 0 {
		t.Errorf("a path the machine has too was refused:\n%s", r)
	}
}
