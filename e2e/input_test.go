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
		{"-o yaml", []string{"jobs", "-o", "yaml"}, []string{"yaml", "json"}},
	}
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Log("nvidia-smi is on PATH: skipping the --gpus-without-GPU case")
	} else {
		cases = append(cases, tc{"--gpus 1 without a GPU", []string{"run", "--gpus", "1", "--", "true"}, []string{"GPU", "--gpus"}})
	}
	if os.Geteuid() == 0 {
		t.Log("NOTE: running as root, which can read a chmod 000 file: the unreadable-script case is not tested " +
			"(the directory case stands in for an unreadable path)")
	} else {
		cases = append(cases, tc{"script without read permission", []string{"run", noread}, []string{noread, "permission"}})
	}

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
