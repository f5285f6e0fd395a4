package sbatch

import (
	"errors"
	"strconv"
	"strings"
)

// ErrDistribution is Distribution's answer to a value Slurm refuses, in
// Slurm's words; the caller adds the fix.
var ErrDistribution = errors.New("Invalid --distribution specification")

// ErrPlaneSize is Distribution's answer to plane without a size (Slurm
// 22.05 prints it before ErrDistribution's line).
var ErrPlaneSize = errors.New("Invalid plane size or size not specified")

// ErrTimeSpec is how Slurm 22.05's sbatch and srun refuse a --time they
// cannot read; the caller adds the fix.
var ErrTimeSpec = errors.New("Invalid --time specification")

// ErrBeginSpec is how Slurm 22.05's sbatch refuses a --begin it cannot
// read (after parse_time's "Invalid time specification (pos=0): xyz");
// the caller adds the fix.
var ErrBeginSpec = errors.New("Invalid --begin specification")

// Fatal says whether err is one of the option values Slurm 22.05's sbatch
// and srun refuse with exit(-1) (exit status 255), as getopt's refusals,
// rather than 1: a --distribution, a --time or a --begin they cannot read.
func Fatal(err error) bool {
	return errors.Is(err, ErrDistribution) || errors.Is(err, ErrTimeSpec) || errors.Is(err, ErrBeginSpec)
}

// DistributionFix names what --distribution takes.
const DistributionFix = "write block, cyclic, plane=N or arbitrary, then up to two of block, cyclic, fcyclic or * after colons, and ,Pack or ,NoPack (e.g. -m block:cyclic)"

// Distribution reads --distribution (-m), as Slurm 22.05's sbatch and
// srun read it, into what the job or step is told: SLURM_DISTRIBUTION, and
// SLURM_DIST_PLANESIZE for plane=N (0 otherwise). On one machine the layout
// changes nothing burst places; a script still reads it back. Checked with
// Slurm 22.05 value by value: levels are lower-cased; * is block in the
// first, cyclic in the second, the second's in the third; empty levels are
// skipped (block::cyclic is block:cyclic); plane=N stands alone; a fourth
// level, another word or a space is refused.
func Distribution(v string) (dist string, plane int, err error) {
	main, opt, hasOpt := strings.Cut(v, ",")
	if hasOpt && opt != "" {
		switch o := strings.ToLower(opt); o {
		case "pack", "nopack":
			opt = o
		default:
			return "", 0, ErrDistribution
		}
	}
	if len(main) >= 5 && strings.EqualFold(main[:5], "plane") {
		size, ok := strings.CutPrefix(main[5:], "=")
		n, perr := strconv.Atoi(size)
		if !ok || perr != nil || n < 1 || !isDigits(size) || opt != "" {
			return "", 0, errors.Join(ErrPlaneSize, ErrDistribution)
		}
		return "plane", n, nil
	}
	var levels []string
	for _, l := range strings.Split(main, ":") {
		if l != "" { // strtok's way: empty fields are skipped
			levels = append(levels, strings.ToLower(l))
		}
	}
	if len(levels) == 0 || len(levels) > 3 {
		return "", 0, ErrDistribution
	}
	for i, l := range levels {
		switch {
		case l == "*" && i == 0:
			levels[i] = "block"
		case l == "*" && i == 1:
			levels[i] = "cyclic"
		case l == "*":
			levels[i] = levels[1]
		case l == "block", l == "cyclic":
		case l == "fcyclic" && i > 0:
		case l == "arbitrary" && i == 0 && len(levels) == 1:
		default:
			return "", 0, ErrDistribution
		}
	}
	dist = strings.Join(levels, ":")
	if opt != "" {
		dist += "," + opt
	}
	return dist, 0, nil
}

// DefaultDistribution is the SLURM_DISTRIBUTION srun gives a step of n
// tasks on its one node without -m (Slurm 22.05): cyclic when there are no
// more tasks than nodes, else block.
func DefaultDistribution(n int) string {
	if n <= 1 {
		return "cyclic"
	}
	return "block"
}
