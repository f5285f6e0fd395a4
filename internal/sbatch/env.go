package sbatch

import (
	"slices"
	"strconv"
	"strings"
)

// TaskInfo is what the SLURM_* variables and %-patterns are built from.
type TaskInfo struct {
	JobID       int64 // the task's own: an array's tasks each have one, as in Slurm
	JobName     string
	ArrayJobID  int64
	ArrayTaskID int   // -1 when not an array
	Array       []int // an array's indices, ascending (for the COUNT/MIN/MAX variables)
	ArrayStep   int   // SLURM_ARRAY_TASK_STEP (ArrayStep of --array; 0 is 1)
	NTasks      int
	CPUsPerTask int
	// Asked for: sbatch sets SLURM_NTASKS and SLURM_NPROCS only with
	// --ntasks, and SLURM_CPUS_PER_TASK only with --cpus-per-task.
	NTasksGiven, CPUsPerTaskGiven bool
	MemBytes                      int64
	MemPerCPU                     int64 // --mem-per-cpu: then SLURM_MEM_PER_CPU, and no SLURM_MEM_PER_NODE
	NTasksPerNode                 int   // --ntasks-per-node: SLURM_NTASKS_PER_NODE; 0 if not given
	Partition                     string
	SubmitDir                     string
	SubmitHost                    string
	User                          string
	Account                       string // SLURM_JOB_ACCOUNT: the project that pays
	NodeName                      string
	GPUIDs                        []int
	// Restarts is how many times the task ran before this run (requeued,
	// retried, or its machine lost): SLURM_RESTART_COUNT, set once it is 1.
	Restarts int
	// Export is the job's --export, "" when not given; UserEnv its
	// --get-user-env.
	Export  string
	UserEnv bool
	// Step and Rank are a job step's id and a task's rank in it, for the
	// patterns of srun's -o/-e/-i (%s, %J as JOBID.STEP, %t); Step ""
	// is the batch step (%s "batch", %J the job id, %t 0).
	Step string
	Rank int
	// Dependency is the job's --dependency as sbatch gives it to the job
	// (SLURM_JOB_DEPENDENCY, e.g. afterok:12), "" for none.
	Dependency string
	// OpenMode is the job's --open-mode as sbatch gives it to the job
	// (SLURM_OPEN_MODE: a or t), "" when not given.
	OpenMode string
	// Distribution and PlaneSize are --distribution as the job is told
	// it (SLURM_DISTRIBUTION, SLURM_DIST_PLANESIZE), "" and 0 when not
	// given; PrioProcess the submitter's nice (SLURM_PRIO_PROCESS).
	Distribution string
	PlaneSize    int
	PrioProcess  int
	// CPUsOnNode, when not 0, is SLURM_CPUS_ON_NODE and
	// SLURM_JOB_CPUS_PER_NODE: a whole machine's CPUs (--exclusive), not
	// NTasks × CPUsPerTask.
	CPUsOnNode int
}

// ClusterName is the Slurm cluster burst is to a job (SLURM_CLUSTER_NAME):
// the name scontrol show config, sacct and sacctmgr give it. A burst cluster
// is a partition.
const ClusterName = "burst"

// NoArrayTask is what Slurm puts for %a in a job that is not an array.
const NoArrayTask = 4294967294

// Env returns the SLURM_* variables of a batch step, ENVIRONMENT=BATCH
// (which scripts test to know they run as a batch job) and HOSTNAME (the
// machine's, as slurmstepd sets it), as sorted
// "KEY=VALUE" strings (the list is in the README), as Slurm 22.05's sbatch
// sets them (checked against it). A job runs on one node, and the script is its task 0.
// String-valued variables are left out when their value is empty;
// SLURM_CPUS_PER_TASK is set only when asked for, SLURM_NTASKS and
// SLURM_NPROCS only with --ntasks (each at least 1); memory is
// SLURM_MEM_PER_CPU when --mem-per-cpu was given, else SLURM_MEM_PER_NODE when
// MemBytes is set (in MiB, rounded up); the array variables are set when
// ArrayTaskID >= 0; the GPU variables when GPUIDs is not empty;
// SLURM_EXPORT_ENV when Export is set and not ALL, SLURM_GET_USER_ENV=1
// then or with UserEnv.
func Env(t TaskInfo) []string {
	ntasks, cpt := max(1, t.NTasks), max(1, t.CPUsPerTask)
	cpus := strconv.Itoa(ntasks * cpt)
	if t.CPUsOnNode > 0 {
		cpus = strconv.Itoa(t.CPUsOnNode)
	}
	env := map[string]string{
		"SLURM_JOB_ID":            itoa(t.JobID),
		"SLURM_JOBID":             itoa(t.JobID),
		"SLURM_JOB_NAME":          t.JobName,
		"SLURM_JOB_NUM_NODES":     "1",
		"SLURM_NNODES":            "1",
		"SLURM_NODELIST":          t.NodeName,
		"SLURM_JOB_NODELIST":      t.NodeName,
		"SLURMD_NODENAME":         t.NodeName,
		"SLURM_SUBMIT_DIR":        t.SubmitDir,
		"SLURM_SUBMIT_HOST":       t.SubmitHost,
		"SLURM_JOB_PARTITION":     t.Partition,
		"SLURM_JOB_USER":          t.User,
		"SLURM_JOB_ACCOUNT":       t.Account,
		"SLURM_CPUS_ON_NODE":      cpus,
		"SLURM_JOB_CPUS_PER_NODE": cpus,
		"SLURM_TASKS_PER_NODE":    strconv.Itoa(ntasks),
		"SLURM_CLUSTER_NAME":      ClusterName,
		"SLURM_JOB_DEPENDENCY":    t.Dependency,
		"SLURM_OPEN_MODE":         t.OpenMode,
		"SLURM_PROCID":            "0",
		"SLURM_LOCALID":           "0",
		"SLURM_NODEID":            "0",
		"SLURM_GTIDS":             "0",
		"SLURM_DISTRIBUTION":      t.Distribution,
		"SLURM_PRIO_PROCESS":      strconv.Itoa(t.PrioProcess),
		// A node with no topology plugin is its own address; no cloud
		// node has an alias (checked with Slurm 22.05).
		"SLURM_TOPOLOGY_ADDR":         t.NodeName,
		"SLURM_TOPOLOGY_ADDR_PATTERN": "node",
		"SLURM_NODE_ALIASES":          "(null)",
		"ENVIRONMENT":                 "BATCH",
		// slurmstepd sets it to the node's name over the submitter's
		// (checked with Slurm 22.05: a submitter's HOSTNAME=login1
		// became the node's in the batch step and its srun steps).
		"HOSTNAME": t.NodeName,
	}
	if t.CPUsPerTaskGiven {
		env["SLURM_CPUS_PER_TASK"] = strconv.Itoa(cpt)
	}
	if t.NTasksPerNode > 0 {
		env["SLURM_NTASKS_PER_NODE"] = strconv.Itoa(t.NTasksPerNode)
	}
	if t.NTasksGiven {
		env["SLURM_NTASKS"] = strconv.Itoa(ntasks)
		env["SLURM_NPROCS"] = strconv.Itoa(ntasks)
	}
	switch {
	case t.MemPerCPU > 0:
		env["SLURM_MEM_PER_CPU"] = mib(t.MemPerCPU)
	case t.MemBytes > 0:
		env["SLURM_MEM_PER_NODE"] = mib(t.MemBytes)
	}
	if t.PlaneSize > 0 {
		env["SLURM_DIST_PLANESIZE"] = strconv.Itoa(t.PlaneSize)
	}
	if t.Restarts > 0 {
		env["SLURM_RESTART_COUNT"] = strconv.Itoa(t.Restarts)
	}
	// As sbatch tells the job (checked with Slurm 22.05): an --export other
	// than ALL (srun in the job takes it as its own), and whether the login
	// environment was asked for, which any --export but ALL implies.
	if t.Export != "" && !strings.EqualFold(t.Export, "ALL") {
		env["SLURM_EXPORT_ENV"] = t.Export
		env["SLURM_GET_USER_ENV"] = "1"
	}
	if t.UserEnv {
		env["SLURM_GET_USER_ENV"] = "1"
	}
	if t.ArrayTaskID >= 0 {
		env["SLURM_ARRAY_JOB_ID"] = itoa(arrayJobID(t))
		env["SLURM_ARRAY_TASK_ID"] = strconv.Itoa(t.ArrayTaskID)
		if n := len(t.Array); n > 0 {
			env["SLURM_ARRAY_TASK_COUNT"] = strconv.Itoa(n)
			env["SLURM_ARRAY_TASK_MIN"] = strconv.Itoa(t.Array[0])
			env["SLURM_ARRAY_TASK_MAX"] = strconv.Itoa(t.Array[n-1])
			env["SLURM_ARRAY_TASK_STEP"] = strconv.Itoa(max(t.ArrayStep, 1))
		}
	}
	if len(t.GPUIDs) > 0 {
		ids := make([]string, len(t.GPUIDs))
		for i, id := range t.GPUIDs {
			ids[i] = strconv.Itoa(id)
		}
		env["SLURM_JOB_GPUS"] = strings.Join(ids, ",")
		env["SLURM_GPUS_ON_NODE"] = strconv.Itoa(len(t.GPUIDs))
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out
}

// allocVars are what srun run outside any job tells its one task of the
// allocation it made (Slurm 22.05, checked: srun -n1 env), which only the
// server knows: the job's id, where it runs, the cluster and partition.
var allocVars = []string{"SLURM_JOB_ID", "SLURM_JOBID", "SLURM_NODELIST", "SLURM_JOB_NODELIST", "SLURMD_NODENAME",
	"SLURM_CLUSTER_NAME", "SLURM_JOB_PARTITION", "SLURM_JOB_ACCOUNT",
	"SLURM_TOPOLOGY_ADDR", "SLURM_TOPOLOGY_ADDR_PATTERN"}

// AllocEnv is Env's share that srun outside a job gives its task (the
// rest is srun's own: slurmface.Srun.AllocEnv), with its step's node
// (SLURM_STEP_NODELIST).
func AllocEnv(t TaskInfo) []string {
	env := slices.DeleteFunc(Env(t), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return !slices.Contains(allocVars, k)
	})
	if t.NodeName != "" {
		env = append(env, "SLURM_STEP_NODELIST="+t.NodeName)
		slices.Sort(env)
	}
	return env
}

// Expand replaces the %-patterns of an --output or --error file name as
// sbatch does: %j job ID, %x job name, %A array job ID (the job ID when not
// an array), %a array task ID (4294967294 when not an array, as in Slurm),
// %b task ID modulo 10, %J job ID, %s "batch", %u user, %N node name, %n and
// %t 0, %% a '%' (for a step's task, srun's: %s the step, %J JOBID.STEP, %t
// its rank). A width such as %5a zero-pads a number, up to 10 digits.
// Unknown patterns are kept as written, and a name containing a backslash is
// not expanded at all: its backslashes are removed.
func Expand(pattern string, t TaskInfo) string {
	if strings.Contains(pattern, `\`) {
		return strings.ReplaceAll(pattern, `\`, "")
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' {
			b.WriteByte(pattern[i])
			continue
		}
		j := i + 1
		for j < len(pattern) && pattern[j] >= '0' && pattern[j] <= '9' {
			j++
		}
		if j == len(pattern) {
			b.WriteString(pattern[i:])
			break
		}
		if pattern[j] == '%' && j == i+1 {
			b.WriteByte('%')
			i = j
			continue
		}
		v, numeric, ok := field(pattern[j], t)
		switch {
		case !ok:
			v = pattern[i : j+1]
		case numeric:
			if w := width(pattern[i+1 : j]); len(v) < w {
				v = strings.Repeat("0", w-len(v)) + v
			}
		}
		b.WriteString(v)
		i = j
	}
	return b.String()
}

// field returns the value of pattern letter c, whether it is a number, and
// whether c is a pattern letter at all.
func field(c byte, t TaskInfo) (v string, numeric, ok bool) {
	task := int64(NoArrayTask)
	if t.ArrayTaskID >= 0 {
		task = int64(t.ArrayTaskID)
	}
	switch c {
	case 'j':
		return itoa(t.JobID), true, true
	case 'J':
		if t.Step != "" {
			return itoa(t.JobID) + "." + t.Step, false, true
		}
		return itoa(t.JobID), true, true
	case 'A':
		return itoa(arrayJobID(t)), true, true
	case 'a':
		return itoa(task), true, true
	case 'b':
		// The array index modulo 10, as Slurm from 24.11 expands it
		// (4 for no array: 4294967294 % 10, as there). 22.05 leaves %b
		// as written; a script that writes %b was written for a Slurm
		// that expands it, so burst does.
		return itoa(task % 10), true, true
	case 'n':
		return "0", true, true
	case 't':
		return strconv.Itoa(t.Rank), true, true
	case 'x':
		return t.JobName, false, true
	case 'u':
		return t.User, false, true
	case 'N':
		return t.NodeName, false, true
	case 's':
		if t.Step != "" {
			return t.Step, true, true
		}
		return "batch", false, true
	}
	return "", false, false
}

// width reads a zero-padding width; Slurm caps it at 10.
func width(digits string) int {
	if len(digits) > 2 {
		return 10
	}
	n, _ := strconv.Atoi(digits) // "" is 0
	return min(n, 10)
}

// arrayJobID is the array's job ID, or the job's own when not an array.
func arrayJobID(t TaskInfo) int64 {
	if t.ArrayJobID != 0 {
		return t.ArrayJobID
	}
	return t.JobID
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// mib is a size in MiB, rounded up, as Slurm gives memory.
func mib(b int64) string { return itoa((b-1)>>20 + 1) }
