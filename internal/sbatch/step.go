package sbatch

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
