package slurmface

import (
	"fmt"
	"slices"
	"strings"

	"github.com/burst-sh/burst"
)

// stateNames are the states -t/--states and sacct -s accept, by code and
// by name.
var stateNames = map[string]string{
	"PD": Pending, "R": RunningS, "CD": Completed, "F": FailedS, "CA": CancelledS,
	"TO": TimeoutS, "OOM": OutOfMemory, "NF": NodeFail,
}

// activeStates are what squeue lists by default.
var activeStates = []string{Pending, RunningS}

// States reads a -t list (codes or names, any case, commas between; "all"
// for every state) into the set of state names it selects. An empty list
// selects what squeue shows by default: pending and running jobs.
func States(list string) (map[string]bool, error) {
	set := map[string]bool{}
	if strings.TrimSpace(list) == "" {
		for _, s := range activeStates {
			set[s] = true
		}
		return set, nil
	}
	for item := range strings.SplitSeq(list, ",") {
		u := strings.ToUpper(strings.TrimSpace(item))
		if u == "ALL" {
			for _, s := range stateNames {
				set[s] = true
			}
			continue
		}
		if name, ok := stateNames[u]; ok {
			set[name] = true
			continue
		}
		if _, ok := codes[u]; ok {
			set[u] = true
			continue
		}
		switch u { // Slurm's states burst never has: nothing is in them
		case "CG", "COMPLETING", "S", "SUSPENDED", "CF", "CONFIGURING", "PR", "PREEMPTED", "BF", "BOOT_FAIL",
			"DL", "DEADLINE", "RQ", "REQUEUED", "RS", "RESIZING", "RD", "RESV_DEL_HOLD", "RF", "REQUEUE_FED",
			"RH", "REQUEUE_HOLD", "RV", "REVOKED", "SI", "SIGNALING", "SE", "SPECIAL_EXIT", "SO", "STAGE_OUT", "ST", "STOPPED":
			continue
		}
		return nil, fmt.Errorf("%q is not a job state: use e.g. -t PD,R or -t all (states: %s)", item, stateList())
	}
	return set, nil
}

func stateList() string {
	var l []string
	for c, n := range stateNames {
		l = append(l, c+"/"+n)
	}
	return sortedList(l)
}

func sortedList(l []string) string {
	slices.Sort(l)
	return strings.Join(l, ", ")
}

// TaskExit is an ended task's part of sbatch --wait's exit status: its exit
// code, or 1 when a signal ended it or it never exited (cancelled, past its
// time limit, lost), as sbatch(1) says: "If the job terminated due to a
// signal rather than a normal exit, the exit code will be set to 1."
func TaskExit(t burst.Task) int {
	switch {
	case t.State == burst.Succeeded:
		return 0
	case t.Signal == 0 && t.ExitCode != nil && t.State == burst.Failed:
		return *t.ExitCode
	}
	return 1
}
