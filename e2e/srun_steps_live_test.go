package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A batch job's running srun steps are kept in the server's memory, not
// stored: after the server is killed and started again, its agent sends
// them again at its next sample, so squeue -s lists them again while the
// step runs on (before, only once a step started or ended).
func TestSrunStepsListedAfterServerRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	id := sbatchFile(t, face, dir, "long.sh", "#!/bin/sh\nsrun -J long sleep 300\n", "/dev/null")
	steps := func() string { return face("squeue", "-h", "-s", "-j", id, "-o", "%i %j").stdout }
	h.waitFor("squeue -s to list step "+id+".0", 60*time.Second, func() bool { return strings.Contains(steps(), id+".0 long") })
	old := h.serverPID()
	h.kill9(old, "server")
	var got string
	h.waitFor("squeue -s to list step "+id+".0 again after the server restarted", 60*time.Second, func() bool {
		got = steps()
		return strings.Contains(got, id+".0 long")
	})
	if pid := h.serverPID(); pid == old {
		t.Fatalf("server.json still names the killed server %d", old)
	}
	if want := id + ".0 long\n" + id + ".batch batch\n"; got != want {
		t.Errorf("squeue -s -j %s after the restart: %q, want %q", id, got, want)
	}
}

// sstat of a running srun step gives what its tasks used so far, as its
// agent reads their processes each second: it read 0 until the step ended
// (real 22.05: `1.0  1668K  00:00:00`). The step spends a second of CPU
// at least before sstat's AveCPU (whole seconds) shows it.
func TestSstatRunningStepUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	// 64 MiB touched, then CPU spent until released.
	id := sbatchFile(t, face, dir, "use.sh", "#!/bin/sh\nsrun python3 -c 'import os,time\nx=bytearray(64<<20)\nwhile not os.path.exists(\"release\"): sum(range(10000))'\n", "out.txt")
	var line string
	h.waitFor("sstat of step "+id+".0 to show 64 MiB resident and CPU time", 60*time.Second, func() bool {
		line = face("sstat", "-n", "-P", "--noconvert", "-j", id+".0", "-o", "JobID,MaxRSS,AveCPU").stdout
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 3 || f[0] != id+".0" {
			return false
		}
		rss, err := strconv.ParseInt(f[1], 10, 64) // bytes, with --noconvert
		return err == nil && rss >= 64<<20 && f[2] != "00:00:00"
	})
	writeFile(t, filepath.Join(dir, "release"), "", 0o644)
	h.run("wait", id)
	if r := face("sacct", "-n", "-P", "--noconvert", "-j", id+".0", "-o", "JobID,MaxRSS,State"); !strings.Contains(r.stdout, id+".0|") || !strings.Contains(r.stdout, "|COMPLETED") {
		t.Errorf("sacct of step %s.0 once it ended: %s", id, r)
	}
}

// sbatchFile writes script as name in dir and submits it with burst's
// sbatch, its output to out: its id. The job is cancelled when the test
// ends.
func sbatchFile(t *testing.T, face func(...string) result, dir, name, script, out string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := face("sbatch", "--parsable", "-o", out, name)
	if r.code != 0 {
		t.Fatalf("sbatch: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { face("scancel", id) })
	return id
}
