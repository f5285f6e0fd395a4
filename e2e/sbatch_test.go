package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const sbatchScript = `#!/bin/sh
#SBATCH -J myname
#SBATCH --cpus-per-task=2
#SBATCH --time=00:05:00
#SBATCH --output=out-%j.txt
#SBATCH --mail-user=a@b.c
echo "$SLURM_JOB_ID $SLURM_CPUS_PER_TASK $SLURM_JOB_NAME $1"
`

// An existing #SBATCH script runs unchanged: its directives set resources
// and output, it gets the SLURM_* variables, flags override directives, and
// bad directives are refused with PATH:LINE.
func TestSbatchScript(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("the script asks for 2 CPUs; this machine has 1")
	}
	h := newHarness(t)
	dir := h.dir
	writeFile(t, filepath.Join(dir, "script.sh"), sbatchScript, 0o755)

	t.Run("directives", func(t *testing.T) {
		h := h.sub(t)
		r := h.runIn(dir, "run", "script.sh", "arg1")
		if r.code != 0 {
			t.Fatalf("want exit 0:\n%s", r)
		}
		id := jobIDFrom(t, r)
		if n := strings.Count(r.stderr, "mail-user"); n != 1 {
			t.Errorf("stderr should warn exactly once about --mail-user (got %d):\n%s", n, r)
		}
		if !strings.Contains(r.stderr, "script.sh:6") {
			t.Errorf("the warning should name script.sh:6:\n%s", r)
		}
		out, err := os.ReadFile(filepath.Join(dir, "out-"+idArg(id)+".txt"))
		if err != nil {
			t.Fatalf("#SBATCH --output=out-%%j.txt: %v", err)
		}
		if want := idArg(id) + " 2 myname arg1\n"; string(out) != want {
			t.Errorf("out-%d.txt = %q, want %q", id, out, want)
		}
		j := h.show(id)
		if j.CPUs != 2 || j.TimeLimitS != 300 || j.Name != "myname" {
			t.Errorf("show: cpus %d, time_limit_s %d, name %q; want 2, 300, myname", j.CPUs, j.TimeLimitS, j.Name)
		}
	})

	t.Run("flag_overrides_directive", func(t *testing.T) {
		h := h.sub(t)
		r := h.runIn(dir, "run", "--cpus", "1", "script.sh")
		if r.code != 0 {
			t.Fatalf("want exit 0:\n%s", r)
		}
		id := jobIDFrom(t, r)
		if j := h.show(id); j.CPUs != 1 {
			t.Errorf("--cpus 1 over #SBATCH --cpus-per-task=2: cpus = %d, want 1", j.CPUs)
		}
		// The script is told what it got: a flag that overrides a directive
		// must reach SLURM_CPUS_PER_TASK too, or a script sizing its thread
		// pool from it oversubscribes the CPUs it was given.
		out, err := os.ReadFile(filepath.Join(dir, "out-"+idArg(id)+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if want := idArg(id) + " 1 myname \n"; string(out) != want {
			t.Errorf("with --cpus 1 the script printed %q, want %q (SLURM_CPUS_PER_TASK must be 1)", out, want)
		}
	})

	t.Run("malformed_directive", func(t *testing.T) {
		h := h.sub(t)
		bad := strings.Replace(sbatchScript, "--cpus-per-task=2", "--cpus-per-task=abc", 1)
		sub := filepath.Join(dir, "bad")
		os.Mkdir(sub, 0o755)
		writeFile(t, filepath.Join(sub, "script.sh"), bad, 0o755)
		r := h.runIn(sub, "run", "script.sh")
		if r.code != 2 {
			t.Errorf("want exit 2:\n%s", r)
		}
		if msg := oneLine(t, r); !strings.Contains(msg, "script.sh:3") {
			t.Errorf("message should name script.sh:3:\n%s", r)
		}
	})

	t.Run("array_runs_as_map", func(t *testing.T) {
		h := h.sub(t)
		arr := "#!/bin/sh\n#SBATCH -J arr\n#SBATCH --array=0-6:2%2\n#SBATCH --output=out-%A_%a.txt\n" +
			"echo \"task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID\"\n"
		sub := filepath.Join(dir, "arr")
		os.Mkdir(sub, 0o755)
		writeFile(t, filepath.Join(sub, "array.sh"), arr, 0o755)
		r := h.runIn(sub, "run", "-d", "array.sh")
		if r.code != 0 {
			t.Fatalf("want exit 0:\n%s", r)
		}
		id := strings.TrimSpace(r.stdout)
		h.mustRun("wait", id)
		for _, a := range []string{"0", "2", "4", "6"} {
			b, err := os.ReadFile(filepath.Join(sub, "out-"+id+"_"+a+".txt"))
			if err != nil {
				t.Fatalf("array task %s wrote no output file: %v", a, err)
			}
			if want := "task " + a + " of " + id + "\n"; string(b) != want {
				t.Errorf("out-%s_%s.txt = %q, want %q", id, a, b, want)
			}
		}
		var job struct {
			Kind  string `json:"kind"`
			Tasks struct {
				Total, Succeeded int
			} `json:"tasks"`
			Spec struct {
				MaxRunning int `json:"max_running"`
			} `json:"spec"`
		}
		if err := json.Unmarshal([]byte(h.mustRun("show", id, "-o", "json").stdout), &job); err != nil {
			t.Fatal(err)
		}
		if job.Kind != "map" || job.Tasks.Total != 4 || job.Tasks.Succeeded != 4 || job.Spec.MaxRunning != 2 {
			t.Errorf("array job: %+v", job)
		}
	})
}
