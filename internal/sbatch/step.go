package sbatch

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
)

// StepCounterEnv names the file that counts the job steps srun started in a
// batch task, for their ids (SLURM_STEP_ID, %s): the agent gives each
// batch task one of its own, in a directory only it writes (its work
// directory's steps/), and removes it when the task ends; srun takes the
// next id from it under a lock. Empty or unset: no count (step 0).
const StepCounterEnv = "BURST_STEP_COUNTER"

// StepCPUsFile is the file beside a task's step counter in which its
// running steps hold the job's CPUs (one byte each, locked), so that a step
// started with --exclusive, --exact or -c waits for CPUs other steps hold,
// as Slurm's do. The agent removes it with the counter.
func StepCPUsFile(counter string) string { return counter + ".cpus" }

// StepsFile is the file beside a task's step counter to which srun appends
// each step it runs, one JSON line (burst.Step) as the step starts (state
// running, no end) and another as it ends; sacct run inside the task reads
// it for the steps so far, the agent sends them with the task's end
// (sacct's N.0, N.1 lines) and removes it with the counter.
func StepsFile(counter string) string { return counter + ".steps" }

// maxStepLine bounds one step's line in StepsFile.
const maxStepLine = 4 << 10

// maxStepsBytes is as much of StepsFile as ReadSteps reads: two lines of
// each step (its start and its end).
const maxStepsBytes = 2 * int64(burst.MaxSteps) * maxStepLine

// AppendStep records step s in file (StepsFile): one line, written at
// once (O_APPEND), so that steps ending together never mix. Once the file
// holds all that ReadSteps reads (maxStepsBytes), nothing is added: a
// script looping over srun does not fill its machine's disk with steps
// nobody reads.
func AppendStep(file string, s burst.Step) error {
	if len(s.Name) > 256 {
		s.Name = s.Name[:256]
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() >= maxStepsBytes {
		return f.Close()
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadSteps reads the steps recorded in file, by step id: each step's last
// record (its end, or its start while it runs), at most burst.MaxSteps
// steps; a line it cannot read is skipped, and a missing file is no
// steps. The processes srun recorded of running steps are left out.
func ReadSteps(file string) []burst.Step {
	steps := ReadStepsPIDs(file)
	for i := range steps {
		steps[i].PIDs = nil
	}
	return steps
}

// ReadStepsPIDs is ReadSteps with the processes of the running steps, for
// their agent to read what they use.
func ReadStepsPIDs(file string) []burst.Step {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []burst.Step
	at := map[int]int{} // step id: its index in out
	r := bufio.NewReaderSize(io.LimitReader(f, maxStepsBytes), maxStepLine)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // longer than any record: skip to its end
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			line = nil
		}
		var s burst.Step
		if len(line) > 0 && json.Unmarshal(line, &s) == nil {
			if i, ok := at[s.ID]; ok {
				out[i] = s
			} else if len(out) < burst.MaxSteps {
				at[s.ID] = len(out)
				out = append(out, s)
			}
		}
		if err != nil {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b burst.Step) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// EndSteps ends, at end, the steps still running when their task ended
// (an srun killed before it could record its step's end): CANCELLED by
// signal 15, as Slurm records a step its job's end killed.
func EndSteps(steps []burst.Step, end time.Time) {
	for i := range steps {
		if steps[i].State == burst.Running {
			steps[i].State, steps[i].Signal, steps[i].EndedAt = burst.Cancelled, int(syscall.SIGTERM), end
		}
	}
}
