package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/sbatch"
)

// stepRetry is how often a step waiting for its CPUs tries again.
const stepRetry = 100 * time.Millisecond

// holdStepCPUs takes k of the job's cpus CPUs for a step (Srun.HeldCPUs)
// until srun exits, waiting while other steps of the job hold them, as
// srun waits and says: `srun: Job N step creation temporarily disabled,
// retrying (Requested nodes are busy)`, then `srun: Step created for job N`.
//
// Each CPU is a one-byte lock (fcntl) in a file beside the task's step
// counter (sbatch.StepCPUsFile): the kernel drops a step's locks when its
// srun ends, however it ends, so no CPU stays held by a step that is gone.
// Nothing is held (and nothing waited for) where there is no counter, in a
// step's own srun (the CPUs are its step's), or where the file cannot be
// locked.
func holdStepCPUs(k, cpus int, jobID string, say io.Writer) {
	counter := os.Getenv(sbatch.StepCounterEnv)
	if k <= 0 || k > cpus || counter == "" || os.Getenv("SLURM_STEP_ID") != "" {
		return
	}
	f, err := os.OpenFile(sbatch.StepCPUsFile(counter), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	// f stays open until srun exits: closing it would drop the locks.
	waited := false
	for !tryHoldCPUs(f, k, cpus) {
		if !waited {
			fmt.Fprintf(say, "srun: Job %s step creation temporarily disabled, retrying (Requested nodes are busy)\n", jobID)
			waited = true
		}
		time.Sleep(stepRetry)
	}
	if waited {
		fmt.Fprintf(say, "srun: Step created for job %s\n", jobID)
	}
}

// tryHoldCPUs locks k free bytes of the first cpus of f, all or none
// (under f's flock, so that two waiting steps never split the free CPUs
// between them). A lock the system cannot give for a reason other than
// another's hold counts as held: the step runs rather than waits forever.
func tryHoldCPUs(f *os.File, k, cpus int) bool {
	fd := f.Fd()
	if syscall.Flock(int(fd), syscall.LOCK_EX) != nil {
		return true
	}
	defer syscall.Flock(int(fd), syscall.LOCK_UN)
	var got []int64
	for i := int64(0); i < int64(cpus) && len(got) < k; i++ {
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Start: i, Len: 1}
		switch err := syscall.FcntlFlock(fd, syscall.F_SETLK, &lk); {
		case err == nil:
			got = append(got, i)
		case !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES):
			return true
		}
	}
	if len(got) == k {
		return true
	}
	for _, i := range got {
		lk := syscall.Flock_t{Type: syscall.F_UNLCK, Start: i, Len: 1}
		syscall.FcntlFlock(fd, syscall.F_SETLK, &lk)
	}
	return false
}
