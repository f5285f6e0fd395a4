package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A batch job's running srun steps are kept in the server's memory, not
// stored: after the server is killed and started again, its agent sends
// them again at its next sample, so squeue -s lists them again while the
// step runs on (before, only once a step started or ended).
func TestSrunStepsListedAfterServerRestart(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	script := "#!/bin/sh\nsrun -J long sleep 300\n"
	if err := os.WriteFile(filepath.Join(dir, "long.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := face("sbatch", "--parsable", "-o", "/dev/null", "long.sh")
	if r.code != 0 {
		t.Fatalf("sbatch: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { face("scancel", id) })
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
