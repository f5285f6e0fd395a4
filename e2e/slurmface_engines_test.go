package e2e

import (
	"strings"
	"testing"
)

// TestSlurmFaceClustersOption: -M/--clusters, which Snakemake's Slurm
// executor plugin passes to every scancel (`scancel IDS --clusters=all`),
// the Snakemake profiles' status script to scontrol (`scontrol
// --cluster=NAME -o show job ID`), and batchtools and Open OnDemand to
// each command once a cluster is configured, is taken by sbatch, scontrol
// and scancel as squeue and sacct take it: burst is one cluster. sbatch
// then names it after the id, as sbatch does for -M ("ID;CLUSTER" with
// --parsable, which those engines split at the ";").
func TestSlurmFaceClustersOption(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	run := func(args ...string) result {
		return h.runIn(dir, append([]string{"slurm"}, args...)...)
	}
	r := run("sbatch", "--parsable", "-M", "all", "-o", "/dev/null", "--wrap", "sleep 300")
	id, cluster, ok := strings.Cut(strings.TrimSpace(r.stdout), ";")
	if r.code != 0 || !ok || cluster != "burst" {
		t.Fatalf("sbatch --parsable -M all: %s, want ID;burst", r)
	}
	if r := run("sbatch", "--clusters=burst", "-o", "/dev/null", "--wrap", "true"); r.code != 0 ||
		!strings.HasPrefix(r.stdout, "Submitted batch job ") || !strings.HasSuffix(r.stdout, " on cluster burst\n") {
		t.Errorf("sbatch --clusters=burst: %s, want Submitted batch job ID on cluster burst", r)
	}
	if r := run("scontrol", "--cluster=burst", "-o", "show", "job", id); r.code != 0 || !strings.HasPrefix(r.stdout, "JobId="+id+" ") {
		t.Errorf("scontrol --cluster=burst -o show job %s: %s", id, r)
	}
	if r := run("scancel", id, "--clusters=all"); r.code != 0 || r.stderr != "" {
		t.Errorf("scancel %s --clusters=all: %s, want exit 0 and nothing said", id, r)
	}
	if st := strings.TrimSpace(run("squeue", "-h", "-t", "all", "-j", id, "-o", "%T").stdout); st != "CANCELLED" {
		t.Errorf("job %s after scancel --clusters=all: %q, want CANCELLED", id, st)
	}
}
