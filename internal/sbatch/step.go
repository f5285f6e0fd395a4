package sbatch

// StepCounterEnv names the file that counts the job steps srun started in a
// batch task, for their ids (SLURM_STEP_ID, %s): the agent gives each
// batch task one of its own, in a directory only it writes (its work
// directory's steps/), and removes it when the task ends; srun takes the
// next id from it under a lock. Empty or unset: no count (step 0).
const StepCounterEnv = "BURST_STEP_COUNTER"
