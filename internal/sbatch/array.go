package sbatch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxArrayIndex is the largest array index Slurm can be configured to allow.
const maxArrayIndex = 4_000_000

// MaxArraySize is scontrol show config's MaxArraySize for the indices
// burst takes: one more than the largest (slurm.conf(5): "the maximum job
// array task index value will be one less than MaxArraySize"; its limit,
// 4000001).
const MaxArraySize = maxArrayIndex + 1

// ErrArraySpec is how Slurm 22.05 refuses an --array it cannot read, from
// the script or the command line: "sbatch: error: Batch job submission
// failed: Invalid job array specification", exit 1 (checked beside it for
// SRR1,SRR2, 1-, 5-1, 1-3:0, -1). parseArray's errors are it (errors.Is)
// and say why.
var ErrArraySpec = errors.New("Invalid job array specification")

// arraySpecError is one of parseArray's errors: its text says why and how
// to write one.
type arraySpecError string

func (e arraySpecError) Error() string      { return string(e) }
func (arraySpecError) Is(target error) bool { return target == ErrArraySpec }

// span is one "lo-hi:step" item of an --array value.
type span struct{ lo, hi, step int }

// ParseArray parses an --array value such as "0-99", "1,3,5", "0-15:4" or
// "0-99%10" into its indices, ascending and without repeats, and the limit
// on tasks running at once (0 when none is given, or "%" or "%0" is).
func ParseArray(s string) (indices []int, throttle int, err error) {
	spans, throttle, err := parseArray(s)
	if err != nil {
		return nil, 0, err
	}
	top := 0
	for _, sp := range spans {
		top = max(top, sp.hi)
	}
	seen := make([]bool, top+1)
	for _, sp := range spans {
		for i := sp.lo; i <= sp.hi; i += sp.step {
			seen[i] = true
		}
	}
	for i, ok := range seen {
		if ok {
			indices = append(indices, i)
		}
	}
	return indices, throttle, nil
}

// ArrayStep is the SLURM_ARRAY_TASK_STEP of a valid --array value: the
// step of its first item that gives one ("0-10:2" 2, "1-3,10-20:5" 5), else
// 1 ("1,3,5" 1, though its indices are 2 apart), as sbatch sets it.
func ArrayStep(s string) int {
	list, _, _ := strings.Cut(s, "%")
	_, rest, ok := strings.Cut(list, ":")
	if !ok {
		return 1
	}
	step, _, _ := strings.Cut(rest, ",")
	if n, err := strconv.Atoi(step); err == nil && n > 0 {
		return n
	}
	return 1
}

// parseArray validates an --array value without expanding it.
func parseArray(s string) ([]span, int, error) {
	bad := func(why string) ([]span, int, error) {
		return nil, 0, arraySpecError(fmt.Sprintf("array %q: %s: write e.g. %q, %q, %q or %q", s, why, "0-99", "1,3,5", "0-15:4", "0-99%10"))
	}
	list, limit, hasLimit := strings.Cut(s, "%")
	throttle := 0
	// An empty limit or 0 is no limit, as Slurm 22.05's sbatch takes them
	// (a template's --array=1-10%${MAX} with MAX unset): all run at once.
	if hasLimit && limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 0 || !isDigits(limit) {
			return bad("the limit after % must be a whole number")
		}
		throttle = n
	}
	var spans []span
	for item := range strings.SplitSeq(list, ",") {
		rng, step, hasStep := strings.Cut(item, ":")
		lo, hi, isRange := strings.Cut(rng, "-")
		if !isRange {
			hi = lo
		}
		sp := span{step: 1}
		var ok bool
		if sp.lo, ok = index(lo); !ok {
			return bad(fmt.Sprintf("%q is not an index from 0 to %d", lo, maxArrayIndex))
		}
		if sp.hi, ok = index(hi); !ok {
			return bad(fmt.Sprintf("%q is not an index from 0 to %d", hi, maxArrayIndex))
		}
		if sp.hi < sp.lo {
			return bad(fmt.Sprintf("range %s ends before it starts", rng))
		}
		if hasStep {
			if !isRange {
				return bad("a step needs a range")
			}
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 || !isDigits(step) {
				return bad(fmt.Sprintf("step %q must be a whole number of at least 1", step))
			}
			sp.step = n
		}
		spans = append(spans, sp)
	}
	return spans, throttle, nil
}

// index parses one array index.
func index(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && isDigits(s) && n <= maxArrayIndex
}
