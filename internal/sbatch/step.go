package sbatch

import (
	"os"
	"path/filepath"
	"strconv"
)

// StepCounter is the file that counts the job steps srun started in a batch
// task, for their ids (SLURM_STEP_ID, %s): under the task's temporary
// directory (tmpDir: its TMPDIR, else /tmp), named for its job and process
// group (the batch shell's pid, which every srun it starts shares). srun
// takes the next id from it under a lock; the agent removes it when the
// task ends.
func StepCounter(tmpDir, jobID string, pgid int) string {
	if tmpDir == "" {
		tmpDir = "/tmp"
	}
	return filepath.Join(tmpDir, "burst-steps-"+strconv.Itoa(os.Getuid()), jobID+"-"+strconv.Itoa(pgid))
}
