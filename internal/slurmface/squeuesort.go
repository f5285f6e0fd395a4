package slurmface

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// DefaultSqueueSort is squeue's order when -S is not given (squeue(1)):
// partition, then state (its compact code, as text), then priority,
// highest first. burst has no priorities, so jobs alike in the first two
// keep their id order.
const DefaultSqueueSort = "P,t,-p"

// DefaultStepSort is squeue -s's order when -S is not given (squeue(1):
// "P,i", partition then step id).
const DefaultStepSort = "P,i"

// SqueueSort is a parsed squeue -S/--sort list, its most significant key
// first.
type SqueueSort []sortKey

type sortKey struct {
	cmp  func(a, b Job, now time.Time) int // nil: a field burst has no values for (all alike)
	desc bool
	id   bool // the key is i: a step's id where steps are sorted (SortSteps)
}

// squeueSortKeys are the -S letters with something to sort by here; the
// others squeue takes (sortAlike) are the same for every burst job.
var squeueSortKeys = map[byte]func(a, b Job, now time.Time) int{
	'B': byNode,
	'N': byNode, // a burst job runs on one machine: its batch host is its node list
	'C': func(a, b Job, _ time.Time) int { return cmp.Compare(a.CPUs, b.CPUs) },
	'e': func(a, b Job, _ time.Time) int { return endOrZero(a).Compare(endOrZero(b)) },
	'g': func(a, b Job, _ time.Time) int { return cmp.Compare(groupName(a.GID), groupName(b.GID)) }, // names looked up once each
	'G': byGID,
	'i': func(a, b Job, _ time.Time) int { return compareIDs(a, b) },
	'p': byPriority,
	'Q': byPriority,
	'j': func(a, b Job, _ time.Time) int { return cmp.Compare(a.Name, b.Name) },
	'l': func(a, b Job, _ time.Time) int { return cmp.Compare(limitOrMax(a.TimeLimit), limitOrMax(b.TimeLimit)) },
	'L': func(a, b Job, now time.Time) int { return cmp.Compare(leftOrMax(a, now), leftOrMax(b, now)) },
	'm': func(a, b Job, _ time.Time) int { return cmp.Compare(a.MemBytes, b.MemBytes) },
	'M': func(a, b Job, now time.Time) int { return cmp.Compare(a.Elapsed(now), b.Elapsed(now)) },
	'P': func(a, b Job, _ time.Time) int { return cmp.Compare(a.Partition, b.Partition) },
	'S': func(a, b Job, now time.Time) int { return sortStart(a, now).Compare(sortStart(b, now)) },
	't': func(a, b Job, _ time.Time) int { return cmp.Compare(a.StateCode(), b.StateCode()) },
	'T': func(a, b Job, _ time.Time) int { return cmp.Compare(a.StateName(), b.StateName()) },
	'u': func(a, b Job, _ time.Time) int { return cmp.Compare(a.User, b.User) },
	'U': func(a, b Job, _ time.Time) int { return cmp.Compare(a.UID, b.UID) },
	'V': func(a, b Job, _ time.Time) int { return a.Submit.Compare(b.Submit) },
}

func byNode(a, b Job, _ time.Time) int     { return cmp.Compare(a.Node, b.Node) }
func byPriority(a, b Job, _ time.Time) int { return cmp.Compare(a.Priority(), b.Priority()) }
func byGID(a, b Job, _ time.Time) int      { return cmp.Compare(a.GID, b.GID) }

// sortAlike are the -S letters squeue takes whose values are the same for
// every burst job (priority, nodes, sockets, features, reservation, ...).
const sortAlike = "bcdDfhHIJnOvz"

// ParseSqueueSort reads squeue's -S list: letters of its -o format,
// separated by commas, each after an optional "+" (ascending, the default)
// or "-" (descending); "cluster" sorts by cluster (there is one). A letter
// squeue cannot sort by is refused in squeue's words, the last one first
// as squeue reads the list from its end.
func ParseSqueueSort(spec string) (SqueueSort, error) {
	var keys SqueueSort
	for i := len(spec) - 1; i >= 0; i-- {
		c := spec[i]
		if c == ',' || c == '+' || c == '-' {
			continue
		}
		const cluster = "cluster"
		if i+1 >= len(cluster) && strings.EqualFold(spec[i+1-len(cluster):i+1], cluster) {
			i -= len(cluster) - 1
			keys = append(keys, sortKey{desc: i > 0 && spec[i-1] == '-'})
			continue
		}
		f, ok := squeueSortKeys[c]
		if !ok && strings.IndexByte(sortAlike, c) < 0 {
			return nil, fmt.Errorf("Invalid sort specification: %c", c)
		}
		keys = append(keys, sortKey{cmp: f, desc: i > 0 && spec[i-1] == '-', id: c == 'i'})
	}
	slices.Reverse(keys)
	return keys, nil
}

// Sort orders jobs by s, jobs alike in every key by their ids.
func (s SqueueSort) Sort(jobs []Job, now time.Time) { s.sort(jobs, now, false) }

// SortSteps orders the lines of job steps (RunningSteps) by s, as squeue
// -s sorts steps: i is the step's id, its job's id then its number (the
// batch step's the highest, as in Slurm); steps alike in every key by it.
func (s SqueueSort) SortSteps(steps []Job, now time.Time) { s.sort(steps, now, true) }

func (s SqueueSort) sort(jobs []Job, now time.Time, steps bool) {
	ids := compareIDs
	if steps {
		ids = compareStepIDs
	}
	slices.SortStableFunc(jobs, func(a, b Job) int {
		for _, k := range s {
			d := 0
			switch {
			case k.id:
				d = ids(a, b)
			case k.cmp != nil:
				d = k.cmp(a, b, now)
			}
			if d != 0 {
				if k.desc {
					return -d
				}
				return d
			}
		}
		return ids(a, b)
	})
}

// compareStepIDs is the order of step ids: by the step's job (an array's
// task's own id), then by its number, the batch step's last (Slurm's
// SLURM_BATCH_SCRIPT is above any step's).
func compareStepIDs(a, b Job) int {
	num := func(j Job) int64 {
		if n, err := strconv.ParseInt(j.Step, 10, 64); err == nil {
			return n
		}
		return math.MaxInt64
	}
	return cmp.Or(cmp.Compare(a.RawID, b.RawID), cmp.Compare(num(a), num(b)))
}

// compareIDs is squeue's id order: by the array's id (a job's own when it
// is no array's task), then by the task's index, an array's line of pending
// tasks last.
func compareIDs(a, b Job) int {
	index := func(j Job) int {
		if j.ArrayJobID > 0 && j.ArrayPending == "" {
			return j.ArrayTaskID
		}
		return math.MaxInt
	}
	return cmp.Or(cmp.Compare(a.arrayID(), b.arrayID()), cmp.Compare(index(a), index(b)))
}

func endOrZero(j Job) time.Time {
	switch {
	case !j.End.IsZero():
		return j.End
	case !j.Start.IsZero() && j.TimeLimit > 0:
		return j.Start.Add(j.TimeLimit)
	}
	return time.Time{}
}

func limitOrMax(d time.Duration) time.Duration {
	if d <= 0 {
		return math.MaxInt64
	}
	return d
}

func leftOrMax(j Job, now time.Time) time.Duration {
	if j.TimeLimit <= 0 {
		return math.MaxInt64
	}
	return j.TimeLimit - j.Elapsed(now)
}

// sortStart is the start squeue sorts by: a job not started and with no
// expected start counts as starting a little after now, a pending one
// expected in the past as now.
func sortStart(j Job, now time.Time) time.Time {
	start := j.Start
	if start.IsZero() && j.Deferred {
		start = j.Begin
	}
	switch {
	case start.IsZero():
		return now.Add(100 * time.Second)
	case j.State == burst.Queued && start.Before(now):
		return now
	}
	return start
}
