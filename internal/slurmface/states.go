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
	"TO": TimeoutS, "OOM": OutOfMemory, "NF": NodeFail, "DL": DeadlineS,
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
			"RQ", "REQUEUED", "RS", "RESIZING", "RD", "RESV_DEL_HOLD", "RF", "REQUEUE_FED",
			"RH", "REQUEUE_HOLD", "RV", "REVOKED", "SI", "SIGNALING", "SE", "SPECIAL_EXIT", "SO", "STAGE_OUT", "ST", "STOPPED":
			continue
		}
		return nil, &BadState{Item: item}
	}
	return set, nil
}

// BadState is a -t (sacct -s) item that names no job state; Error says so
// in burst's words, Words in those of Slurm 22.05's command cmd.
type BadState struct{ Item string }

func (e *BadState) Error() string {
	return fmt.Sprintf("%q is not a job state: use e.g. -t PD,R or -t all (states: %s)", e.Item, stateList())
}

// Words is how Slurm 22.05's squeue, sacct and scancel refuse the item
// (checked side by side), each listing the states it takes where it does.
func (e *BadState) Words(cmd string) string {
	switch cmd {
	case "sacct":
		return "sacct: fatal: unrecognized job state value '" + e.Item + "'"
	case "scancel":
		return "Invalid job state specified: " + e.Item + "\nValid job states are PENDING, RUNNING, and SUSPENDED"
	}
	return cmd + ": error: Invalid job state specified: " + e.Item + "\n" + cmd + ": error: Valid job states include: " +
		"PENDING,RUNNING,SUSPENDED,COMPLETED,CANCELLED,FAILED,TIMEOUT,NODE_FAIL,PREEMPTED,BOOT_FAIL,DEADLINE," +
		"OUT_OF_MEMORY,COMPLETING,CONFIGURING,RESIZING,RESV_DEL_HOLD,REQUEUED,REQUEUE_FED,REQUEUE_HOLD,REVOKED," +
		"SIGNALING,SPECIAL_EXIT,STAGE_OUT,STOPPED"
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
