package slurmface

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/sbatch"
)

// ShowEntity is what `scontrol show WORD` shows, as scontrol 22.05 reads
// WORD: in any case, and any start of an entity's name at least as long as
// scontrol asks for ("hostname" and "hostn" are hostnames, "hostli"
// hostlist, "j" and "jobid" jobs, "n" nodes, "pa" partitions, "c" config).
// It returns the entity's full name (config, hostnames, hostlist,
// hostlistsorted, jobs, nodes, partitions or steps: "st" and longer), or
// "" for none of these.
func ShowEntity(word string) string {
	for _, e := range [...]struct {
		name, is string
		min      int
	}{
		{"config", "config", 1}, {"hostnames", "hostnames", 5}, {"hostlist", "hostlist", 5},
		{"hostlistsorted", "hostlistsorted", 9}, {"jobs", "jobs", 1}, {"jobid", "jobs", 1},
		{"nodes", "nodes", 1}, {"partitions", "partitions", 2}, {"steps", "steps", 2},
	} {
		if len(word) >= e.min && len(word) <= len(e.name) && strings.EqualFold(word, e.name[:len(word)]) {
			return e.is
		}
	}
	return ""
}

// overSubscribe is the job's OverSubscribe, as Slurm 22.05 shows it: YES
// for one that shares its CPUs (sbatch --oversubscribe), NO for one that
// shares its node with none (--exclusive), else OK.
func (j Job) overSubscribe() string {
	switch {
	case j.Shared:
		return "YES"
	case j.Exclusive:
		return "NO"
	}
	return "OK"
}

// lastSchedEval is when the scheduler last looked at j, as scontrol's
// LastSchedEval shows it (Slurm 22.05, checked beside it): when it
// started; when it ended for its deadline, which the scheduler found it
// could no longer meet; now for one pending for resources, which the
// scheduler tries at every pass (burst's every tick); else when it was
// submitted: a job held, waiting for a dependency or its begin time, or
// cancelled before it started, is looked at no more.
func (j Job) lastSchedEval(now time.Time) time.Time {
	switch {
	case !j.Start.IsZero():
		return j.Start
	case j.MissedDeadline && j.State == burst.Cancelled:
		return j.End
	case j.State == burst.Queued && j.pendingReason() == "Resources":
		return now
	}
	return j.Submit
}

// timeMin is scontrol's TimeMin: its --time-min, N/A without one.
func (j Job) timeMin() string {
	if j.TimeMin <= 0 {
		return "N/A"
	}
	return LongDuration(j.TimeMin)
}

// minMem is the memory it asked for, as squeue's %m and scontrol's
// MinMemoryNode or MinMemoryCPU show it (Slurm 22.05, checked side by
// side): --mem-per-cpu's per CPU, not the job's; 0 for --mem=0 (all of
// its machine's, which it holds: TRES).
func (j Job) minMem() int64 {
	switch {
	case j.Batch != nil && j.Batch.MemPerCPU > 0:
		return j.Batch.MemPerCPU
	case j.Batch != nil && j.Batch.MemAll:
		return 0
	}
	return j.MemBytes
}

// TRES is the job's trackable resources as scontrol's TRES= and squeue -O
// tres-alloc show them (Slurm 22.05: the allocated ones, the requested of
// a job not yet started): "cpu=2,mem=300M,node=1,billing=2", gres/gpu=N
// after them.
func (j Job) TRES() string {
	tres := fmt.Sprintf("cpu=%d,node=1,billing=%d", j.CPUs, j.CPUs)
	if j.MemBytes > 0 {
		tres = fmt.Sprintf("cpu=%d,mem=%s,node=1,billing=%d", j.CPUs, Mem(j.MemBytes), j.CPUs)
	}
	if j.GPUs > 0 {
		tres += fmt.Sprintf(",gres/gpu=%d", j.GPUs)
	}
	return tres
}

// ShowJob writes j as `scontrol show job` does: Slurm 22.05's keys in its
// order, grouped in its lines (or on one line with oneLine, scontrol -o).
// Keys burst has no value for carry Slurm's own placeholders ((null),
// N/A, 0), so that a program reading a key finds it where Slurm puts it.
func ShowJob(w io.Writer, j Job, oneLine bool, now time.Time) error {
	batchHost := ""
	if j.Node != "" {
		batchHost = "BatchHost=" + j.Node
	}
	end, start, accrue := "Unknown", j.shownStart(), "Unknown"
	if j.accrues() {
		accrue = Date(j.Submit)
	}
	if start.IsZero() && j.Deferred { // when it is to start, as 22.05 shows a job pending for its begin time
		start = j.Begin
	}
	switch {
	case !j.End.IsZero():
		end = Date(j.End)
	case !start.IsZero() && j.TimeLimit > 0:
		end = Date(start.Add(j.TimeLimit))
	}
	l := j.layout()
	minMem := kv("MinMemoryNode", Mem(j.minMem()))
	if l.memPerCPU > 0 {
		minMem = kv("MinMemoryCPU", Mem(j.minMem()))
	}
	lines := [][]string{
		arrayHead(j),
		{fmt.Sprintf("UserId=%s(%d)", j.User, j.UID), fmt.Sprintf("GroupId=%s(%d)", j.User, j.GID), "MCS_label=N/A"},
		{"Priority=" + strconv.FormatInt(j.Priority(), 10), "Nice=0", kv("Account", orNull(j.Account)), "QOS=(null)"},
		{kv("JobState", j.StateName()), kv("Reason", reasonWord(j.pendingReason())), kv("Dependency", orNull(j.Dependency))},
		{kv("Requeue", boolInt(!j.NoRequeue)), kv("Restarts", j.Restarts), "BatchFlag=1", "Reboot=0", kv("ExitCode", j.ExitCodeText())},
		{kv("RunTime", LongDuration(j.Elapsed(now))), kv("TimeLimit", Limit(j.TimeLimit, LongDuration)), kv("TimeMin", j.timeMin())},
		{kv("SubmitTime", Date(j.Submit)), kv("EligibleTime", Date(j.Eligible()))},
		{kv("AccrueTime", accrue)},
		{kv("StartTime", Date(start)), kv("EndTime", end), kv("Deadline", dateOrNA(j.Deadline))},
		{"SuspendTime=None", "SecsPreSuspend=0", kv("LastSchedEval", Date(j.lastSchedEval(now))), "Scheduler=Main"},
		{kv("Partition", j.Partition), "AllocNode:Sid=(null):0"},
		{"ReqNodeList=(null)", "ExcNodeList=(null)"},
		{kv("NodeList", j.Node)}, // empty while pending, as 22.05 prints it
		{batchHost},
		{"NumNodes=1", kv("NumCPUs", j.CPUs), kv("NumTasks", l.tasks), kv("CPUs/Task", l.perTask), "ReqB:S:C:T=0:0:*:*"},
		{kv("TRES", j.TRES())},
		{"Socks/Node=*", fmt.Sprintf("NtasksPerN:B:S:C=%d:0:*:*", l.perNode), "CoreSpec=*"},
		{kv("MinCPUsNode", l.perTask*max(1, l.perNode)), minMem, "MinTmpDiskNode=0"},
		{"Features=(null)", "DelayBoot=00:00:00"},
		{kv("OverSubscribe", j.overSubscribe()), "Contiguous=0", "Licenses=(null)", "Network=(null)"},
		{kv("Command", orNull(j.Command))},
		{kv("WorkDir", j.WorkDir)},
		{optKV("Comment", j.Comment, " ")}, // with a space after it, as 22.05 prints it
		{kv("StdErr", j.StdErr)},
		{kv("StdIn", orDevNull(j.StdIn))},
		{kv("StdOut", j.StdOut)},
		{"Power="},
	}
	if j.GPUs > 0 {
		lines = append(lines[:len(lines)-1], []string{kv("TresPerNode", fmt.Sprintf("gres:gpu:%d", j.GPUs))}, lines[len(lines)-1])
	}
	return record(w, lines, oneLine, jobEnd)
}

// BatchLayout is what an sbatch script asked for beside its CPUs and
// memory: its tasks (--ntasks, or as its nodes and --ntasks-per-node make
// them; 0 is 1), the CPUs of each (--cpus-per-task; 0 is 1), its tasks per
// node (--ntasks-per-node, the one machine's; 0 if not given) and
// --mem-per-cpu in bytes (0 if not given).
type BatchLayout struct {
	Tasks, CPUsPerTask, TasksPerNode int
	MemPerCPU                        int64
	// MemAll: --mem=0, all of its machine's memory, which its TRES
	// shows; its minimum memory (MinMemoryNode, squeue %m) reads 0.
	MemAll bool
}

// layout is what scontrol shows of j's tasks, as Slurm 22.05 shows them
// (checked with the suite's Slurm): NumTasks the tasks, CPUs/Task the CPUs
// of each, NtasksPerN --ntasks-per-node, MinCPUsNode the CPUs per task times
// the tasks per node, MinMemoryCPU --mem-per-cpu. A job with no batch
// layout (burst run --cpus 4) is one task of all its CPUs.
type layout struct {
	tasks, perTask, perNode int
	memPerCPU               int64
}

func (j Job) layout() layout {
	b := j.Batch
	if b == nil {
		return layout{tasks: 1, perTask: j.CPUs}
	}
	l := layout{tasks: max(b.Tasks, 1), perTask: b.CPUsPerTask, perNode: b.TasksPerNode, memPerCPU: b.MemPerCPU}
	if l.perTask == 0 && j.Exclusive {
		l.perTask = 1 // the machine's CPUs are the job's; a task asked for one (Slurm 22.05: NumCPUs=2 CPUs/Task=1)
	}
	if l.perTask == 0 { // the CPUs its tasks share (burst run SCRIPT --cpus 4 without -c)
		l.perTask = max(1, j.CPUs/l.tasks)
	}
	return l
}

// recordEnd is how one of scontrol's records ends: multi on lines, one
// on one line (scontrol -o).
type recordEnd struct{ multi, one string }

var (
	// jobEnd: a job's ends with an empty indented line, or a space.
	jobEnd = recordEnd{"\n   \n\n", " \n"}
	// plainEnd: a node's, partition's or step's with an empty line, or
	// nothing (Slurm 22.05 side by side, byte for byte).
	plainEnd = recordEnd{"\n\n", "\n"}
)

// record writes one of scontrol's records: its lines, each after the first
// indented three spaces, or with oneLine all on one line; end closes it.
func record(w io.Writer, lines [][]string, oneLine bool, end recordEnd) error {
	var b strings.Builder
	first := true
	for _, l := range lines {
		if len(l) == 1 && l[0] == "" {
			continue // BatchHost of a job that never ran
		}
		switch {
		case oneLine && !first:
			b.WriteByte(' ')
		case !oneLine && !first:
			b.WriteString("\n   ")
		}
		b.WriteString(strings.Join(l, " "))
		first = false
	}
	if oneLine {
		b.WriteString(end.one)
	} else {
		b.WriteString(end.multi)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ShowNode writes a burst machine as `scontrol show node` does: Slurm
// 22.05's keys in its order (checked with the suite's real Slurm), with the
// machine's CPUs (CPUTot, CPUEfctv, CPUAlloc: what its tasks hold),
// memory in MiB (RealMemory, AllocMem), GPUs (Gres), its cluster as its
// partition, State IDLE, MIXED or ALLOCATED, and its start as BootTime
// and SlurmdStartTime (its agent starts with it), its kernel as OS= and
// when its last task ended as LastBusyTime (lines left out when its agent
// did not say); Slurm's placeholders where burst has no value.
func ShowNode(w io.Writer, n Node, oneLine bool) error {
	gres := "(null)"
	tres := fmt.Sprintf("cpu=%d,mem=%dM,billing=%d", n.CPUs, n.MemBytes>>20, n.CPUs)
	if n.GPUs > 0 {
		gres = fmt.Sprintf("gpu:%d", n.GPUs)
		tres += fmt.Sprintf(",gres/gpu=%d", n.GPUs)
	}
	alloc := ""
	if n.UsedCPUs > 0 {
		alloc = fmt.Sprintf("cpu=%d", n.UsedCPUs)
		if mib := n.UsedMem >> 20; mib > 0 { // none held: left out, as Slurm leaves a TRES of 0 out
			alloc += fmt.Sprintf(",mem=%dM", mib)
		}
	}
	lines := [][]string{
		// Three lines end with a space, as slurm_sprint_node_table ends
		// them: scontrol -o then has two spaces after them.
		{kv("NodeName", n.Name), "Arch=x86_64", "CoresPerSocket=1 "},
		{kv("CPUAlloc", n.UsedCPUs), kv("CPUEfctv", n.CPUs), kv("CPUTot", n.CPUs), kv("CPULoad", cpuLoad(n.Load))},
		{"AvailableFeatures=(null)"},
		{"ActiveFeatures=(null)"},
		{kv("Gres", gres)},
		{kv("NodeAddr", cmp.Or(n.Host, n.Name)), kv("NodeHostName", cmp.Or(n.Host, n.Name)), "Version=22.05.8"},
		{optKV("OS", n.OS, " ")},
		{kv("RealMemory", n.MemBytes>>20), kv("AllocMem", n.UsedMem>>20), kv("FreeMem", freeMem(n.Load)), kv("Sockets", n.CPUs), "Boards=1"},
		{kv("State", strings.ToUpper(n.state())), "ThreadsPerCore=1", "TmpDisk=0", "Weight=1", "Owner=N/A", "MCS_label=N/A"},
		{kv("Partitions", n.Partition) + " "},
		{kv("BootTime", nodeTime(n.Started)), kv("SlurmdStartTime", nodeTime(n.Started))},
		{optKV("LastBusyTime", dateOrEmpty(n.LastBusy), "")},
		{kv("CfgTRES", tres)},
		{kv("AllocTRES", alloc)},
		{"CapWatts=n/a"},
		{"CurrentWatts=0", "AveWatts=0"},
		{"ExtSensorsJoules=n/s", "ExtSensorsWatts=0", "ExtSensorsTemp=n/s"},
	}
	return record(w, lines, oneLine, plainEnd)
}

// cpuLoad is scontrol's CPULoad: the 5-minute load average to two
// places, as slurmd keeps it (a whole number of hundredths, cut); N/A
// when not known.
func cpuLoad(l *burst.HostLoad) string {
	if l == nil {
		return "N/A"
	}
	return strconv.FormatFloat(math.Floor(l.CPULoad*100+1e-9)/100, 'f', 2, 64)
}

// freeMem is scontrol's FreeMem: the free memory in whole MiB; N/A when
// not known.
func freeMem(l *burst.HostLoad) string {
	if l == nil {
		return "N/A"
	}
	return strconv.FormatInt(l.FreeMemBytes>>20, 10)
}

// optKV is key=v and then tail, or nothing (the line left out) when v is
// "".
func optKV(key, v, tail string) string {
	if v == "" {
		return ""
	}
	return key + "=" + v + tail
}

// dateOrEmpty is Date(t), "" when t is zero.
func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return Date(t)
}

// nodeTime is a node's BootTime or SlurmdStartTime as scontrol writes it:
// None when not known.
func nodeTime(t time.Time) string {
	if t.IsZero() {
		return "None"
	}
	return Date(t)
}

// ShowPartition writes a burst cluster as `scontrol show partition` does,
// from its running machines (nodes, all of the one partition): Slurm
// 22.05's keys in its order, its machines (Nodes, a hostlist), their CPUs
// and memory (TotalCPUs, TRES), Default=YES for the default cluster.
func ShowPartition(w io.Writer, name string, nodes []Node, oneLine bool) error {
	var names []string
	cpus, mem, def := 0, int64(0), "NO"
	for _, n := range nodes {
		names = append(names, n.Name)
		cpus += n.CPUs
		mem += n.MemBytes
		if n.Default {
			def = "YES"
		}
	}
	list := "(null)"
	if len(names) > 0 {
		list = CompressHostlist(names, false)
	}
	lines := [][]string{
		{kv("PartitionName", name)},
		{"AllowGroups=ALL", "AllowAccounts=ALL", "AllowQos=ALL"},
		{"AllocNodes=ALL", kv("Default", def), "QoS=N/A"},
		{"DefaultTime=NONE", "DisableRootJobs=NO", "ExclusiveUser=NO", "GraceTime=0", "Hidden=NO"},
		{"MaxNodes=UNLIMITED", "MaxTime=UNLIMITED", "MinNodes=0", "LLN=NO", "MaxCPUsPerNode=UNLIMITED"},
		{kv("Nodes", list)},
		{"PriorityJobFactor=1", "PriorityTier=1", "RootOnly=NO", "ReqResv=NO", "OverSubscribe=NO"},
		{"OverTimeLimit=NONE", "PreemptMode=OFF"},
		{"State=UP", kv("TotalCPUs", cpus), kv("TotalNodes", len(nodes)), "SelectTypeParameters=NONE"},
		{"JobDefaults=(null)"},
		{"DefMemPerNode=UNLIMITED", "MaxMemPerNode=UNLIMITED"},
		{kv("TRES", fmt.Sprintf("cpu=%d,mem=%dM,node=%d,billing=%d", cpus, mem>>20, len(nodes), cpus))},
	}
	return record(w, lines, oneLine, plainEnd)
}

// arrayHead is scontrol's first line: JobId, an array task's ArrayJobId,
// ArrayTaskId (the pending tasks' indices on their record, and %N when
// the array runs at most N at once) and
// ArrayTaskThrottle, then JobName.
func arrayHead(j Job) []string {
	head := []string{kv("JobId", j.RawID)}
	if j.ArrayJobID > 0 {
		task := strconv.Itoa(j.ArrayTaskID)
		if j.ArrayPending != "" {
			task = j.ArrayPending // with its throttle: 3-5%2, as 22.05 prints it
		}
		head = append(head, kv("ArrayJobId", j.ArrayJobID), kv("ArrayTaskId", task))
		if j.ArrayThrottle > 0 {
			head = append(head, kv("ArrayTaskThrottle", j.ArrayThrottle))
		}
	}
	return append(head, kv("JobName", j.Name))
}

func kv(k string, v any) string { return fmt.Sprintf("%s=%v", k, v) }

func orDevNull(s string) string {
	if s == "" {
		return "/dev/null"
	}
	return s
}

// ShownStdio is an output file name pattern as Slurm 22.05's scontrol
// shows a job's StdOut and StdErr: %A, %a, %j, %u and %x expanded for j
// (written so, with no width), and anything else left as written: %N %t
// %s %J %n %b, a width (%5j), %% and a backslash, though the file's name
// on disk has them expanded (checked beside 22.05:
// StdOut=.../o_12_%N_%t_%s_%J_wrap.out for -o o_%j_%N_%t_%s_%J_%x.out).
func ShownStdio(pattern string, j Job) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' || i+1 == len(pattern) {
			b.WriteByte(pattern[i])
			continue
		}
		switch pattern[i+1] {
		case 'A':
			b.WriteString(strconv.FormatInt(j.arrayID(), 10))
		case 'a':
			task := int64(sbatch.NoArrayTask) // no array's task, or an array's pending ones
			if j.ArrayJobID != 0 && j.ArrayPending == "" {
				task = int64(j.ArrayTaskID)
			}
			b.WriteString(strconv.FormatInt(task, 10))
		case 'j':
			b.WriteString(strconv.FormatInt(j.RawID, 10))
		case 'u':
			b.WriteString(j.User)
		case 'x':
			b.WriteString(j.Name)
		default:
			b.WriteByte('%')
			continue
		}
		i++
	}
	return b.String()
}

// ShowStep writes a running step s (a line of RunningSteps: the batch
// step, or an srun step with Step set) as `scontrol show step` does:
// Slurm 22.05's keys in its order and lines, or on one line with oneLine.
// The batch step has no CPUs, TRES or srun of its own (CPUs=0,
// TRES=(null), SrunHost:Pid=(null):0) and no Dist, as 22.05 shows it; an
// srun step's Dist is Block for more tasks than nodes, else Cyclic (srun's
// default). burst keeps no srun host or pid, no step time limit and no
// reserved ports: Slurm's placeholders stand for them.
func ShowStep(w io.Writer, s Job, oneLine bool) error {
	cpus, tres, dist := 0, "(null)", ""
	if s.Step != "" {
		cpus = s.CPUs
		tres = fmt.Sprintf("cpu=%d,node=1", s.CPUs)
		if s.MemBytes > 0 {
			tres = fmt.Sprintf("cpu=%d,mem=%s,node=1", s.CPUs, Mem(s.MemBytes))
		}
		if s.GPUs > 0 {
			tres += fmt.Sprintf(",gres/gpu=%d", s.GPUs)
		}
		dist = " Dist=Cyclic"
		if s.NTasks > 1 {
			dist = " Dist=Block"
		}
	}
	lines := [][]string{
		{kv("StepId", s.StepID()), kv("UserId", s.UID), kv("StartTime", Date(s.Start)), "TimeLimit=UNLIMITED"},
		{kv("State", s.StateName()), kv("Partition", s.Partition), kv("NodeList", s.Node)},
		{"Nodes=1", kv("CPUs", cpus), kv("Tasks", max(s.NTasks, 1)), kv("Name", cmp.Or(s.StepName, "batch")), "Network=(null)"},
		{kv("TRES", tres)},
		{"ResvPorts=(null)"},
		{"CPUFreqReq=Default" + dist},
		{"SrunHost:Pid=(null):0"},
	}
	if oneLine {
		_, err := io.WriteString(w, strings.Join(slices.Concat(lines...), " ")+"\n")
		return err
	}
	return record(w, lines, false, plainEnd)
}

// StepsOfJob are the lines `scontrol show step` writes of running job j:
// its batch step, then the srun steps running in it by id (RunningSteps
// in slurmctld's order: the batch step was made first); of a job srun
// made outside any job, its step 0 alone.
func StepsOfJob(j Job) []Job {
	steps := j.RunningSteps()
	if n := len(steps); n > 0 && steps[n-1].Step == "" {
		return append(steps[n-1:], steps[:n-1]...)
	}
	return steps
}

// boolInt is b as Slurm prints a flag: 1 or 0.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
