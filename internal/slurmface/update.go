package slurmface

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Update is what `scontrol update JobId=ID[,ID...] KEY=VALUE ...` asks:
// the jobs, and the values burst changes (nil: keep the job's own).
type Update struct {
	Jobs       []string
	Name       *string
	TimeLimit  *TimeChange
	Dependency *string
	Throttle   *int
	// Requeue is Requeue=N: whether scontrol requeue may requeue the
	// job (0: no, as sbatch --no-requeue; any other count: yes).
	Requeue *bool
}

// TimeChange is a TimeLimit= of scontrol update: a new limit (0: none), or
// with Sign +1 or -1 an amount added to or taken from the job's own
// ("TimeLimit=+30").
type TimeChange struct {
	Sign  int
	Limit time.Duration
}

// Apply is the limit c gives a job whose limit is cur (0: none): a
// relative change of a job with no limit leaves it without one, as Slurm
// does; a decrease never goes below one minute.
func (c TimeChange) Apply(cur time.Duration) time.Duration {
	switch {
	case c.Sign == 0:
		return c.Limit
	case cur <= 0:
		return 0
	case c.Sign > 0:
		return cur + c.Limit
	}
	return max(cur-c.Limit, time.Minute)
}

// UpdateError is scontrol update's refusal of its arguments, in Slurm's
// words (Msg), exit 1.
type UpdateError struct{ Msg string }

func (e *UpdateError) Error() string { return e.Msg }

// resubmitWith is the submission flag that gives each resource key of
// scontrol update.
var resubmitWith = map[string]string{
	"numcpus": "-c N", "mincpusnode": "-c N", "minmemorynode": "--mem", "minmemorycpu": "--mem-per-cpu",
	"gres": "--gres", "tresperjob": "--gpus",
}

// notUpdated says why burst does not change key (lower case), one of the
// job keys Slurm 22.05's scontrol update takes, and what to do instead;
// false for a key Slurm does not take either.
func notUpdated(key string) (string, bool) {
	if flag, ok := resubmitWith[key]; ok {
		return "a job's resources are fixed at submission: cancel it and submit it again with " + flag, true
	}
	switch key {
	case "nice", "priority":
		return "burst has no priorities: its jobs start in submission order as machines free up", true
	case "partition":
		return "a job's cluster is chosen at submission: cancel it and submit it again with -p CLUSTER", true
	case "numnodes":
		return "a burst job runs on one machine", true
	case "numtasks":
		return "a job's tasks are fixed at submission: cancel it and submit it again with -n N", true
	case "starttime", "eligibletime":
		return "a job's begin time is fixed at submission: hold it (scontrol hold) and release it when it should start", true
	case "comment":
		return "a job's --comment is fixed at submission", true
	case "admincomment":
		return "burst keeps no admin comment with a job", true
	case "account":
		return "a job's project is fixed at submission: cancel it and submit it again with -A PROJECT", true
	case "qos":
		return "burst has no QOS", true
	case "reservation":
		return "burst has no reservations", true
	case "features":
		return "burst has no node features", true
	case "deadline":
		return "a job's --deadline is fixed at submission", true
	case "timemin":
		return "burst has no minimum time limit", true
	case "workdir":
		return "a job's directory is fixed at submission", true
	case "stdout":
		return "a job's output file is fixed at submission", true
	case "stderr":
		return "a job's error file is fixed at submission", true
	case "licenses":
		return "burst has no licenses", true
	case "wckey":
		return "burst has no workload keys", true
	case "exclude", "nodelist":
		return "burst chooses the machine: -p CLUSTER at submission", true
	case "contiguous":
		return "burst has no node layout", true
	case "shared", "oversubscribe":
		return "a burst job shares its machine with others as its resources allow", true
	case "userid":
		return "a job's user is fixed at submission", true
	case "mailtype", "mailuser":
		return "burst sends no mail", true
	}
	return "", false
}

// ParseUpdate reads scontrol update's arguments: KEY=VALUE words in any
// order, keys in any case (JobId or JobID, JobName or Name, TimeLimit,
// Dependency, ArrayTaskThrottle, Requeue), as Slurm 22.05 reads them. A key Slurm
// takes and burst does not change is refused saying why; one Slurm does
// not know gets Slurm's words ("Update of this parameter is not
// supported: KEY=VALUE", then "Request aborted").
func ParseUpdate(args []string) (Update, error) {
	var u Update
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return u, &UpdateError{"Update of this parameter is not supported: " + a + "\nRequest aborted"}
		}
		switch key := strings.ToLower(k); key {
		case "jobid":
			for _, id := range strings.Split(v, ",") {
				if id != "" {
					u.Jobs = append(u.Jobs, id)
				}
			}
		case "jobname", "name":
			u.Name = &v
		case "timelimit":
			c, err := parseTimeChange(v)
			if err != nil {
				return u, err
			}
			u.TimeLimit = &c
		case "dependency":
			u.Dependency = &v
		case "arraytaskthrottle":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return u, &UpdateError{"Invalid ArrayTaskThrottle value: give a count (0: no limit)"}
			}
			u.Throttle = &n
		case "requeue":
			// As 22.05 reads it: a count, 0 or not.
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return u, &UpdateError{"scontrol: error: Invalid Requeue value: " + v}
			}
			on := n != 0
			u.Requeue = &on
		default:
			if why, ok := notUpdated(key); ok {
				return u, &UpdateError{fmt.Sprintf("scontrol: error: burst does not update %s: %s (it updates JobName, TimeLimit, Dependency, ArrayTaskThrottle and Requeue)", k, why)}
			}
			return u, &UpdateError{"Update of this parameter is not supported: " + a + "\nRequest aborted"}
		}
	}
	switch {
	case len(u.Jobs) == 0:
		return u, &UpdateError{"scontrol: error: no job given: scontrol update JobId=ID KEY=VALUE (burst updates jobs only)"}
	case u.Name == nil && u.TimeLimit == nil && u.Dependency == nil && u.Throttle == nil && u.Requeue == nil:
		return u, &UpdateError{"No changes specified"}
	}
	return u, nil
}

// parseTimeChange reads a TimeLimit= value: a limit in any of Slurm's
// formats, UNLIMITED, or +/- and one to add or take away.
func parseTimeChange(v string) (TimeChange, error) {
	var c TimeChange
	s := v
	switch {
	case strings.HasPrefix(s, "+"):
		c.Sign, s = 1, s[1:]
	case strings.HasPrefix(s, "-") && s != "-1":
		c.Sign, s = -1, s[1:]
	}
	d, err := burst.ParseTimeLimit(s)
	if err != nil || c.Sign != 0 && d == 0 {
		return c, &UpdateError{"scontrol: error: Invalid TimeLimit value"}
	}
	c.Limit = d
	return c, nil
}
