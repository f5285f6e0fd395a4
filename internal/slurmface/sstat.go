package slurmface

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultSstat is sstat's default --format (Slurm 22.05's, as it prints
// with no -o).
const DefaultSstat = "JobID,MaxVMSize,MaxVMSizeNode,MaxVMSizeTask,AveVMSize,MaxRSS,MaxRSSNode,MaxRSSTask,AveRSS," +
	"MaxPages,MaxPagesNode,MaxPagesTask,AvePages,MinCPU,MinCPUNode,MinCPUTask,AveCPU,NTasks,AveCPUFreq," +
	"ReqCPUFreqMin,ReqCPUFreqMax,ReqCPUFreqGov,ConsumedEnergy,MaxDiskRead,MaxDiskReadNode,MaxDiskReadTask," +
	"AveDiskRead,MaxDiskWrite,MaxDiskWriteNode,MaxDiskWriteTask,AveDiskWrite,TRESUsageInAve,TRESUsageInMax," +
	"TRESUsageInMaxNode,TRESUsageInMaxTask,TRESUsageInMin,TRESUsageInMinNode,TRESUsageInMinTask,TRESUsageInTot," +
	"TRESUsageOutAve,TRESUsageOutMax,TRESUsageOutMaxNode,TRESUsageOutMaxTask,TRESUsageOutMin,TRESUsageOutMinNode," +
	"TRESUsageOutMinTask,TRESUsageOutTot"

// SstatPids is sstat -i's format.
const SstatPids = "JobID,Nodelist,Pids"

// sstatFields are sstat's fields in --helpformat's order, with their
// default widths (Slurm 22.05's). A running step's figures are what its
// agent last sampled of the step's processes: its CPU time and peak
// resident set (one task, on one machine: the averages, minimums and
// maximums are the same figure, its task 0). burst does not measure
// virtual memory, pages, disk bytes, energy or CPU frequency: those read
// 0, as Slurm's own figures do where its gathering plugin cannot read them
// (jobacct_gather/cgroup on cgroup v2 gives 0 virtual memory).
var sstatFields = []acctField{
	{"AveCPU", 10, func(j Job, _ acctCtx) string { return cpuTime(aveCPU(j)) }, onBoth},
	{"AveCPUFreq", 10, zero, onBoth},
	{"AveDiskRead", 12, zero, onBoth},
	{"AveDiskWrite", 12, zero, onBoth},
	{"AvePages", 10, zero, onBoth},
	{"AveRSS", 10, func(j Job, x acctCtx) string { return memUnits(j.MaxRSS, unitNone, x) }, onBoth},
	{"AveVMSize", 10, zero, onBoth},
	{"ConsumedEnergy", 14, zero, onBoth},
	{"ConsumedEnergyRaw", 17, zero, onBoth},
	{"JobID", -12, func(j Job, _ acctCtx) string { return j.JobID() + stepSuffix(j) }, onBoth},
	{"MaxDiskRead", 12, zero, onBoth},
	{"MaxDiskReadNode", 15, node, onBoth},
	{"MaxDiskReadTask", 15, zero, onBoth},
	{"MaxDiskWrite", 12, zero, onBoth},
	{"MaxDiskWriteNode", 16, node, onBoth},
	{"MaxDiskWriteTask", 16, zero, onBoth},
	{"MaxPages", 8, zero, onBoth},
	{"MaxPagesNode", 12, node, onBoth},
	{"MaxPagesTask", 14, zero, onBoth},
	{"MaxRSS", 10, func(j Job, x acctCtx) string { return memUnits(j.MaxRSS, unitNone, x) }, onBoth},
	{"MaxRSSNode", 10, node, onBoth},
	{"MaxRSSTask", 10, zero, onBoth},
	{"MaxVMSize", 10, zero, onBoth},
	{"MaxVMSizeNode", 14, node, onBoth},
	{"MaxVMSizeTask", 14, zero, onBoth},
	{"MinCPU", 10, func(j Job, _ acctCtx) string { return cpuTime(j.CPUTime.Truncate(time.Second)) }, onBoth},
	{"MinCPUNode", 10, node, onBoth},
	{"MinCPUTask", 10, zero, onBoth},
	{"Nodelist", 20, node, onBoth},
	{"NTasks", 8, func(j Job, _ acctCtx) string { return strconv.Itoa(max(j.NTasks, 1)) }, onBoth},
	{"Pids", 20, func(Job, acctCtx) string { return "" }, onBoth}, // the processes are the agent's to know
	{"ReqCPUFreq", 10, zero, onBoth},
	{"ReqCPUFreqMin", 13, zero, onBoth},
	{"ReqCPUFreqMax", 13, zero, onBoth},
	{"ReqCPUFreqGov", 13, zero, onBoth},
	{"TRESUsageInAve", 14, tresIn, onBoth},
	{"TRESUsageInMax", 14, tresIn, onBoth},
	{"TRESUsageInMaxNode", 18, tresInNode, onBoth},
	{"TRESUsageInMaxTask", 18, tresInTask, onBoth},
	{"TRESUsageInMin", 14, tresIn, onBoth},
	{"TRESUsageInMinNode", 18, tresInNode, onBoth},
	{"TRESUsageInMinTask", 18, tresInTask, onBoth},
	{"TRESUsageInTot", 14, tresIn, onBoth},
	{"TRESUsageOutAve", 15, tresOut, onBoth},
	{"TRESUsageOutMax", 15, tresOut, onBoth},
	{"TRESUsageOutMaxNode", 19, tresOutNode, onBoth},
	{"TRESUsageOutMaxTask", 19, tresOutTask, onBoth},
	{"TRESUsageOutMin", 15, tresOut, onBoth},
	{"TRESUsageOutMinNode", 19, tresOutNode, onBoth},
	{"TRESUsageOutMinTask", 19, tresOutTask, onBoth},
	{"TRESUsageOutTot", 15, tresOut, onBoth},
}

func zero(Job, acctCtx) string     { return "0" }
func node(j Job, _ acctCtx) string { return j.Node }

// The TRES usage fields, as sstat writes them: what went in (CPU time,
// memory; energy, disk, pages and virtual memory 0 here) and out (energy,
// disk), on the step's machine, by its task 0.
func tresIn(j Job, x acctCtx) string {
	return "cpu=" + cpuTime(j.CPUTime.Truncate(time.Second)) + ",energy=0,fs/disk=0,mem=" + memUnits(j.MaxRSS, unitNone, x) + ",pages=0,vmem=0"
}
func tresInNode(j Job, _ acctCtx) string {
	n := j.Node
	return "cpu=" + n + ",energy=" + n + ",fs/disk=" + n + ",mem=" + n + ",pages=" + n + ",vmem=" + n
}
func tresInTask(Job, acctCtx) string      { return "cpu=00:00:00,fs/disk=0,mem=0,pages=0,vmem=0" }
func tresOut(Job, acctCtx) string         { return "energy=0,fs/disk=0" }
func tresOutNode(j Job, _ acctCtx) string { return "energy=" + j.Node + ",fs/disk=" + j.Node }
func tresOutTask(Job, acctCtx) string     { return "fs/disk=0" }

// ParseSstatFormat reads sstat's --format: field names (any case, or the
// start of one) separated by commas, each with an optional %WIDTH. A name
// that is no field is refused in sstat's words.
func ParseSstatFormat(s string) (AcctFormat, error) {
	return parseFields(s, lookupSstatField, func(name string) error {
		return fmt.Errorf("sstat: error: Invalid field requested: %q", name)
	})
}

func lookupSstatField(name string) (acctField, bool) {
	if name == "" {
		return acctField{}, false
	}
	for _, f := range sstatFields {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	for _, f := range sstatFields {
		if len(f.name) > len(name) && strings.EqualFold(f.name[:len(name)], name) {
			return f, true
		}
	}
	return acctField{}, false
}

// SstatFieldList is sstat --helpformat: the field names, four to a line,
// each 19 wide.
func SstatFieldList() string {
	names := make([]string, len(sstatFields))
	for i, f := range sstatFields {
		names[i] = f.name
	}
	return fieldList(names)
}
