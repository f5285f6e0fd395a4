package slurmface

import (
	"fmt"
	"io"
	"time"

	"github.com/burst-sh/burst/internal/sbatch"
)

// ClusterName is the Slurm cluster burst is: scontrol show config's
// ClusterName, sacct's and sacctmgr's Cluster, a job's SLURM_CLUSTER_NAME.
const ClusterName = sbatch.ClusterName

// SchedulerTimeSlice is what `scontrol show config` says of it. burst has
// no gang scheduling, so the key has no meaning of its own here; Toil's
// Slurm batch system reads it (and AcctGatherNodeFreq) to set how long it
// caches job states, 1.2 times the larger, and fails when neither is
// printed. burst answers a status at once, so it asks for a short wait.
const SchedulerTimeSlice = time.Second

// MinJobAge is how long squeue and scontrol still show a job after it
// ended by default, as slurmctld keeps an ended job's record (Slurm's
// default, 300 s): scripts that wait "while scontrol show job $id"
// succeeds end then. burst keeps every job; sacct (and burst's own
// commands) show them all.
const MinJobAge = 300 * time.Second

// Forgotten says whether a job that ended at end (zero: it has not) is
// past age (MinJobAge, or what the site set) at now: squeue and scontrol no
// longer show it.
func Forgotten(end, now time.Time, age time.Duration) bool {
	return !end.IsZero() && now.Sub(end) > age
}

// ShowConfig writes what `scontrol show config` prints, as far as burst has
// a configuration to show: the header line and `Key = Value` lines, keys
// padded as Slurm 22.05 pads them.
func ShowConfig(w io.Writer, now time.Time, minJobAge time.Duration) error {
	lines := [][2]string{
		{"AcctGatherNodeFreq", "0 sec"},
		{"ClusterName", ClusterName},
		{"MaxArraySize", fmt.Sprint(sbatch.MaxArraySize)}, // scripts split their arrays by it
		{"MinJobAge", fmt.Sprintf("%d sec", int(minJobAge/time.Second))},
		{"SchedulerTimeSlice", fmt.Sprintf("%d sec", int(SchedulerTimeSlice/time.Second))},
		{"SLURM_VERSION", Version},
	}
	if _, err := fmt.Fprintf(w, "Configuration data as of %s\n", Date(now)); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintf(w, "%-23s = %s\n", l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}
