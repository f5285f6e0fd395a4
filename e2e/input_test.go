package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Bad input is refused with exit 2 and one line naming the fix, and no job
// is accepted.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Start the server first, so that its "started a local server" note is
	// not part of what the cases print.
	before := len(h.jobsJSON())

	ncpu := runtime.NumCPU()
	tooMany := max(64, ncpu+1)
	noread := filepath.Join(h.dir, "noread.sh")
	writeFile(t, noread, "#!/bin/sh\necho hi\n", 0o000)
	adir := filepath.Join(h.dir, "a-directory")
	if err := os.Mkdir(adir, 0o755); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name string
		args []string
		want []string // substrings of the one stderr line
	}
	cases := []tc{
		{"no command after --", []string{"run", "--"}, []string{"no command", "--"}},
		{"no command at all", []string{"run"}, []string{"no command", "--"}},
		{"unknown flag", []string{"run", "--bogus", "--", "true"}, []string{"--bogus", "--help"}},
		{"--cpus 0", []string{"run", "--cpus", "0", "--", "true"}, []string{"--cpus", "at least 1"}},
		{"--cpus -1", []string{"run", "--cpus", "-1", "--", "true"}, []string{"--cpus", "at least 1"}},
		{"--mem 12Q", []string{"run", "--mem", "12Q", "--", "true"}, []string{"--mem", "12Q", "8G"}},
		{"--time banana", []string{"run", "--time", "banana", "--", "true"}, []string{"--time", "banana", "10m"}},
		{"script does not exist", []string{"run", "no-such-script.sh"}, []string{"no-such-script.sh", "no such file", "--"}},
		{"script is a directory", []string{"run", adir}, []string{adir, "directory"}},
		{"--cpus more than the machine has", []string{"run", "--cpus", strconv.Itoa(tooMany), "--", "true"},
			[]string{strconv.Itoa(tooMany), strconv.Itoa(ncpu) + " CPU", "at most " + strconv.Itoa(ncpu)}},
		{"show unknown job", []string{"show", "999"}, []string{"999", "burst jobs"}},
		{"logs of a non-number", []string{"logs", "abc"}, []string{"abc", "burst jobs"}},
		{"wait unknown job", []string{"wait", "999"}, []string{"999", "burst jobs"}},
		{"cancel unknown job", []string{"cancel", "999"}, []string{"999", "burst jobs"}},
		{"-o xml", []string{"jobs", "-o", "xml"}, []string{"xml", "json"}},
	}
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Log("nvidia-smi is on PATH: skipping the --gpus-without-GPU case")
	} else {
		cases = append(cases, tc{"--gpus 1 without a GPU", []string{"run", "--gpus", "1", "--", "true"}, []string{"GPU", "--gpus"}})
	}
	if os.Geteuid() != 0 {
		cases = append(cases, tc{"script without read permission", []string{"run", noread}, []string{noread, "permission"}})
	} // as root, TestUnreadableScriptAsAnotherUser covers it

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := h.sub(t)
			r := h.run(c.args...)
			if r.code != 2 {
				t.Errorf("want exit 2:\n%s", r)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty:\n%s", r)
			}
			msg := oneLine(t, r)
			if !strings.HasPrefix(msg, "burst: ") {
				t.Errorf("message should start with \"burst: \": %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q should contain %q", msg, w)
				}
			}
			if n := len(h.jobsJSON()); n != before {
				t.Errorf("a job was accepted: %d jobs, want %d", n, before)
			}
		})
	}
}

// TestUnreadableScriptAsAnotherUser runs the CLI as user nobody (root can
// read any file, and CI runs as root) on a script it may not read: exit 2,
// a message naming the file and the fix, and nothing submitted (the CLI
// fails before it looks for a server).
func TestUnreadableScriptAsAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("not root: the unreadable-script case runs in TestBadInput instead")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed to run the CLI as another user: %v", err)
	}
	dir, err := os.MkdirTemp("", "be2e-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "burst")
	data, err := os.ReadFile(burstBin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, bin, string(data), 0o755)
	script := filepath.Join(dir, "secret.sh")
	writeFile(t, script, "#!/bin/sh\necho hi\n", 0o000)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "run", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "BURST_HOME=" + filepath.Join(dir, "home")}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	msg := strings.TrimSpace(stderr.String())
	if code != 2 || stdout.String() != "" || strings.Contains(msg, "\n") {
		t.Fatalf("want exit 2 and one line on stderr; got exit %d, stdout %q, stderr %q", code, stdout.String(), msg)
	}
	for _, w := range []string{script, "permission"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q should mention %q", msg, w)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "home", "state.db")); err == nil {
		t.Errorf("a server was started for a script that could not be read")
	}
}
