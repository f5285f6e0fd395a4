package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/burst-sh/burst/internal/slurmface"
	"github.com/spf13/cobra"
)

// isWriteBatchScript says args are scontrol's `write batch_script ...`:
// "batch_script" or a prefix of it of at least 5 letters, as scontrol reads
// the word.
func isWriteBatchScript(args []string) bool {
	return len(args) >= 2 && args[0] == "write" && len(args[1]) >= 5 && len(args[1]) <= len("batch_script") &&
		strings.EqualFold(args[1], "batch_script"[:len(args[1])])
}

// scontrolWriteBatchScript is `scontrol write batch_script JOBID [FILE]`:
// the job's batch script written to FILE (default slurm-JOBID.sh, JOBID the
// job's own id: an array task's its own), or to stdout for "-", as Slurm
// 22.05 writes it; scripts archive themselves this way. Its failures are
// Slurm 22.05's words on stderr, and exit 0 as its scontrol exits: "job
// script retrieval failed: Invalid job id specified" (unknown, or ended
// MinJobAge ago), "... Job script not specified" (a job with no script:
// srun's), "failed to open file `FILE`: ERROR". No JOBID: nothing.
func scontrolWriteBatchScript(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	stderr := c.ErrOrStderr()
	ctx := c.Context()
	cl, err := connect(ctx, stderr)
	if err != nil {
		return err
	}
	ref, err := resolveJob(ctx, cl, args[0])
	if err != nil {
		fmt.Fprintln(stderr, "job script retrieval failed: Invalid job id specified")
		return nil
	}
	j, err := cl.Job(ctx, ref.JobID)
	if err != nil || forgotten(j) {
		fmt.Fprintln(stderr, "job script retrieval failed: Invalid job id specified")
		return nil
	}
	if j.Spec == nil || j.Spec.Script == "" {
		fmt.Fprintln(stderr, "job script retrieval failed: Job script not specified")
		return nil
	}
	id := ref.JobID
	if ref.Task >= 0 {
		id += int64(ref.Task)
	}
	file := "slurm-" + strconv.FormatInt(id, 10) + ".sh"
	if len(args) > 1 {
		file = args[1]
	}
	if file == "-" {
		_, err := fmt.Fprint(c.OutOrStdout(), j.Spec.Script)
		return err
	}
	if err := os.WriteFile(file, []byte(j.Spec.Script), 0o644); err != nil {
		fmt.Fprintf(stderr, "failed to open file `%s`: %s\n", file, slurmface.Strerror(err))
		return nil
	}
	fmt.Fprintf(c.OutOrStdout(), "batch script for job %d written to %s\n", id, file)
	return nil
}
