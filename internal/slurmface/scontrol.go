package slurmface

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ShowJob writes j as `scontrol show job` does: Slurm 22.05's keys in its
// order, grouped in its lines (or on one line with oneLine, scontrol -o).
// Keys burst has no value for carry Slurm's own placeholders ((null),
// N/A, 0), so that a program reading a key finds it where Slurm puts it.
func ShowJob(w io.Writer, j Job, oneLine bool, now time.Time) error {
	node := j.Node
	if node == "" {
		node = "(null)"
	}
	batchHost := ""
	if j.Node != "" {
		batchHost = "BatchHost=" + j.Node
	}
	tres := fmt.Sprintf("cpu=%d,node=1,billing=%d", j.CPUs, j.CPUs)
	if j.MemBytes > 0 {
		tres = fmt.Sprintf("cpu=%d,mem=%s,node=1,billing=%d", j.CPUs, Mem(j.MemBytes), j.CPUs)
	}
	if j.GPUs > 0 {
		tres += fmt.Sprintf(",gres/gpu=%d", j.GPUs)
	}
	end := "Unknown"
	switch {
	case !j.End.IsZero():
		end = Date(j.End)
	case !j.Start.IsZero() && j.TimeLimit > 0:
		end = Date(j.Start.Add(j.TimeLimit))
	}
	lines := [][]string{
		arrayHead(j),
		{fmt.Sprintf("UserId=%s(%d)", j.User, j.UID), fmt.Sprintf("GroupId=%s(%d)", j.User, j.GID), "MCS_label=N/A"},
		{"Priority=" + strconv.FormatInt(j.Priority(), 10), "Nice=0", kv("Account", orNull(j.Account)), "QOS=(null)"},
		{kv("JobState", j.StateName()), kv("Reason", j.pendingReason()), kv("Dependency", orNull(j.Dependency))},
		{"Requeue=0", "Restarts=0", "BatchFlag=1", "Reboot=0", kv("ExitCode", j.ExitCodeText())},
		{kv("RunTime", LongDuration(j.Elapsed(now))), kv("TimeLimit", Limit(j.TimeLimit, LongDuration)), "TimeMin=N/A"},
		{kv("SubmitTime", Date(j.Submit)), kv("EligibleTime", Date(j.Eligible()))},
		{kv("AccrueTime", Date(j.Submit))},
		{kv("StartTime", Date(j.Start)), kv("EndTime", end), "Deadline=N/A"},
		{"SuspendTime=None", "SecsPreSuspend=0", kv("LastSchedEval", Date(j.Start)), "Scheduler=Main"},
		{kv("Partition", j.Partition), "AllocNode:Sid=(null):0"},
		{"ReqNodeList=(null)", "ExcNodeList=(null)"},
		{kv("NodeList", node)},
		{batchHost},
		{"NumNodes=1", kv("NumCPUs", j.CPUs), "NumTasks=1", kv("CPUs/Task", j.CPUs), "ReqB:S:C:T=0:0:*:*"},
		{kv("TRES", tres)},
		{"Socks/Node=*", "NtasksPerN:B:S:C=0:0:*:*", "CoreSpec=*"},
		{kv("MinCPUsNode", j.CPUs), kv("MinMemoryNode", Mem(j.MemBytes)), "MinTmpDiskNode=0"},
		{"Features=(null)", "DelayBoot=00:00:00"},
		{"OverSubscribe=OK", "Contiguous=0", "Licenses=(null)", "Network=(null)"},
		{kv("Command", orNull(j.Command))},
		{kv("WorkDir", j.WorkDir)},
		{kv("StdErr", j.StdErr)},
		{kv("StdIn", orDevNull(j.StdIn))},
		{kv("StdOut", j.StdOut)},
		{"Power="},
	}
	if j.GPUs > 0 {
		lines = append(lines[:len(lines)-1], []string{kv("TresPerNode", fmt.Sprintf("gres:gpu:%d", j.GPUs))}, lines[len(lines)-1])
	}
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
		b.WriteString(" \n")
	} else {
		b.WriteString("\n   \n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// arrayHead is scontrol's first line: JobId, an array task's ArrayJobId,
// ArrayTaskId (the pending tasks' indices on their record) and
// ArrayTaskThrottle, then JobName.
func arrayHead(j Job) []string {
	head := []string{kv("JobId", j.RawID)}
	if j.ArrayJobID > 0 {
		task := strconv.Itoa(j.ArrayTaskID)
		if j.ArrayPending != "" {
			task, _, _ = strings.Cut(j.ArrayPending, "%")
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
