package sbatch

import (
	"errors"
	"testing"
)

// TestDistribution: each value is what Slurm 22.05's sbatch told the job
// (SLURM_DISTRIBUTION, SLURM_DIST_PLANESIZE) or how it refused it, run one
// by one against the real sbatch.
func TestDistribution(t *testing.T) {
	for _, tt := range []struct {
		in    string
		dist  string
		plane int
		err   error
	}{
		{"block", "block", 0, nil},
		{"cyclic", "cyclic", 0, nil},
		{"CYCLIC", "cyclic", 0, nil},
		{"*", "block", 0, nil},
		{"*:*", "block:cyclic", 0, nil},
		{"*:cyclic", "block:cyclic", 0, nil},
		{"cyclic:*", "cyclic:cyclic", 0, nil},
		{"block:*:*", "block:cyclic:cyclic", 0, nil},
		{"block:block:*", "block:block:block", 0, nil},
		{"*:fcyclic:*", "block:fcyclic:fcyclic", 0, nil},
		{"block:fcyclic", "block:fcyclic", 0, nil},
		{"Block:CYCLIC:FCyclic,PACK", "block:cyclic:fcyclic,pack", 0, nil},
		{"cyclic,NoPack", "cyclic,nopack", 0, nil},
		{"cyclic:block:fcyclic,Pack", "cyclic:block:fcyclic,pack", 0, nil},
		{"block,", "block", 0, nil},
		{"block::cyclic", "block:cyclic", 0, nil},
		{":cyclic", "cyclic", 0, nil},
		{"arbitrary", "arbitrary", 0, nil},
		{"plane=3", "plane", 3, nil},
		{"plane=0", "", 0, ErrPlaneSize},
		{"plane=x", "", 0, ErrPlaneSize},
		{"plane", "", 0, ErrPlaneSize},
		{"plane=2:block", "", 0, ErrPlaneSize},
		{"plane=2,pack", "", 0, ErrPlaneSize},
		{"fcyclic", "", 0, ErrDistribution},
		{"foo", "", 0, ErrDistribution},
		{"block,pack,nopack", "", 0, ErrDistribution},
		{"cyclic:cyclic:cyclic:cyclic", "", 0, ErrDistribution},
		{"arbitrary:block", "", 0, ErrDistribution},
		{"block:plane=2", "", 0, ErrDistribution},
		{"cyclic ", "", 0, ErrDistribution},
		{" cyclic", "", 0, ErrDistribution},
		{"", "", 0, ErrDistribution},
	} {
		dist, plane, err := Distribution(tt.in)
		if dist != tt.dist || plane != tt.plane || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Distribution(%q) = %q, %d, %v; want %q, %d, %v", tt.in, dist, plane, err, tt.dist, tt.plane, tt.err)
		}
		if errors.Is(err, ErrPlaneSize) && !errors.Is(err, ErrDistribution) {
			t.Errorf("Distribution(%q): %v, want both of Slurm's lines", tt.in, err)
		}
	}
	for n, want := range map[int]string{0: "cyclic", 1: "cyclic", 2: "block", 8: "block"} {
		if got := DefaultDistribution(n); got != want {
			t.Errorf("DefaultDistribution(%d) = %q, want %q", n, got, want)
		}
	}
}
