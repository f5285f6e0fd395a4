package slurmface

import (
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultSacct is sacct's default --format; SacctBrief is sacct -b's.
const (
	DefaultSacct = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode"
	SacctBrief   = "JobID,State,ExitCode"
)

// acctField is one of sacct's --format fields: its default width (negative:
// left-justified, as sacct keeps them) and its value.
type acctField struct {
	name  string
	width int
	value func(j Job, now time.Time) string
}

var acctFields = []acctField{
	{"Account", 10, func(j Job, _ time.Time) string { return j.Account }},
	{"AllocCPUS", 10, func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	{"AllocNodes", 10, func(j Job, _ time.Time) string { return "1" }},
	{"Cluster", 10, func(Job, time.Time) string { return ClusterName }},
	{"DerivedExitCode", 15, func(j Job, _ time.Time) string { return j.ExitCodeText() }},
	{"Elapsed", 10, func(j Job, now time.Time) string { return LongDuration(j.Elapsed(now)) }},
	{"ElapsedRaw", 10, func(j Job, now time.Time) string { return strconv.FormatInt(int64(j.Elapsed(now)/time.Second), 10) }},
	{"Eligible", 19, func(j Job, _ time.Time) string { return Date(j.Eligible()) }},
	{"End", 19, func(j Job, _ time.Time) string { return Date(j.End) }},
	{"ExitCode", 8, func(j Job, _ time.Time) string { return j.ExitCodeText() }},
	{"GID", 6, func(j Job, _ time.Time) string { return strconv.Itoa(j.GID) }},
	{"JobID", -12, func(j Job, _ time.Time) string { return j.JobID() }},
	{"JobIDRaw", -12, func(j Job, _ time.Time) string { return strconv.FormatInt(j.RawID, 10) }},
	{"JobName", 10, func(j Job, _ time.Time) string { return j.Name }},
	{"NCPUS", 10, func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	{"NNodes", 8, func(j Job, _ time.Time) string { return "1" }},
	{"NodeList", 15, func(j Job, _ time.Time) string { return nodeList(j) }},
	{"Partition", 10, func(j Job, _ time.Time) string { return j.Partition }},
	{"Reason", 22, func(j Job, _ time.Time) string { return j.pendingReason() }},
	{"ReqCPUS", 8, func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	{"ReqMem", 10, func(j Job, _ time.Time) string { return reqMem(j.MemBytes) }},
	{"Start", 19, func(j Job, _ time.Time) string { return Date(j.Start) }},
	{"State", 10, func(j Job, _ time.Time) string { return j.AcctState() }},
	{"Submit", 19, func(j Job, _ time.Time) string { return Date(j.Submit) }},
	{"Timelimit", 10, func(j Job, _ time.Time) string { return Limit(j.TimeLimit, LongDuration) }},
	{"UID", 6, func(j Job, _ time.Time) string { return strconv.Itoa(j.UID) }},
	{"User", 9, func(j Job, _ time.Time) string { return j.User }},
	{"WorkDir", 20, func(j Job, _ time.Time) string { return j.WorkDir }},
	{"AllocTRES", 30, func(j Job, _ time.Time) string { return tres(j) }},
	{"ReqTRES", 30, func(j Job, _ time.Time) string { return tres(j) }},
	{"CPUTime", 10, func(j Job, now time.Time) string { return LongDuration(j.Elapsed(now) * time.Duration(j.CPUs)) }},
	{"CPUTimeRAW", 10, func(j Job, now time.Time) string {
		return strconv.FormatInt(int64(j.Elapsed(now)/time.Second)*int64(j.CPUs), 10)
	}},
	{"ReqNodes", 8, func(Job, time.Time) string { return "1" }},
	{"TimelimitRaw", 12, func(j Job, _ time.Time) string {
		if j.TimeLimit <= 0 {
			return "UNLIMITED"
		}
		return strconv.FormatInt(int64((j.TimeLimit+time.Minute-1)/time.Minute), 10)
	}},
	{"QOS", 10, func(Job, time.Time) string { return "normal" }}, // Slurm's default QOS: burst has no other
	{"Group", 9, func(j Job, _ time.Time) string { return groupName(j.GID) }},
}

// acctBlank are sacct's other fields (`sacct --helpformat` of Slurm 22.05),
// separated by spaces: accepted in --format, and empty, as sacct leaves a
// field it has no value for (usage per step, energy, frequencies,
// reservations, comments, QOS ids). A script asking for MaxRSS or TotalCPU
// gets its other columns. A constant: read only by ParseAcctFormat.
const acctBlank = " AdminComment AssocID AveCPU AveCPUFreq AveDiskRead AveDiskWrite AvePages AveRSS " +
	"AveVMSize BlockID Comment Constraints ConsumedEnergy ConsumedEnergyRaw Container DBIndex Flags Layout MaxDiskRead " +
	"MaxDiskReadNode MaxDiskReadTask MaxDiskWrite MaxDiskWriteNode MaxDiskWriteTask MaxPages MaxPagesNode MaxPagesTask " +
	"MaxRSS MaxRSSNode MaxRSSTask MaxVMSize MaxVMSizeNode MaxVMSizeTask McsLabel MinCPU MinCPUNode MinCPUTask NTasks " +
	"Priority QOSRAW ReqCPUFreq ReqCPUFreqGov ReqCPUFreqMax ReqCPUFreqMin Reservation ReservationId Reserved ResvCPU " +
	"ResvCPURAW SubmitLine Suspended SystemComment SystemCPU TotalCPU TRESUsageInAve TRESUsageInMax TRESUsageInMaxNode " +
	"TRESUsageInMaxTask TRESUsageInMin TRESUsageInMinNode TRESUsageInMinTask TRESUsageInTot TRESUsageOutAve " +
	"TRESUsageOutMax TRESUsageOutMaxNode TRESUsageOutMaxTask TRESUsageOutMin TRESUsageOutMinNode TRESUsageOutMinTask " +
	"TRESUsageOutTot UserCPU WCKey WCKeyID "

// tres is a job's trackable resources as sacct's AllocTRES writes them:
// billing=N,cpu=N,[gres/gpu=N,]mem=M,node=1.
func tres(j Job) string {
	parts := []string{fmt.Sprintf("billing=%d", j.CPUs), fmt.Sprintf("cpu=%d", j.CPUs)}
	if j.GPUs > 0 {
		parts = append(parts, fmt.Sprintf("gres/gpu=%d", j.GPUs))
	}
	if j.MemBytes > 0 {
		parts = append(parts, "mem="+Mem(j.MemBytes))
	}
	return strings.Join(append(parts, "node=1"), ",")
}

// groupName is gid's group name, or the number when it has none here.
// Each gid is looked up once a process: a listing's rows share a few.
func groupName(gid int) string {
	if n, ok := groupNames.Load(gid); ok {
		return n.(string)
	}
	name := strconv.Itoa(gid)
	if g, err := user.LookupGroupId(name); err == nil {
		name = g.Name
	}
	groupNames.Store(gid, name)
	return name
}

var groupNames sync.Map // gid -> its name (groupName)

// AcctFormat is a parsed sacct --format.
type AcctFormat []acctColumn

type acctColumn struct {
	f     acctField
	width int
}

// NeedsSpec says whether a column of f shows what only a job's spec holds
// (its begin time, working directory): a listing of ended jobs carries no
// spec, so the caller fetches each shown job's. Partition, which the spec
// holds too, is not counted: every listed job carries its cluster.
func (f AcctFormat) NeedsSpec() bool {
	for _, c := range f {
		switch c.f.name {
		case "Eligible", "WorkDir":
			return true
		}
	}
	return false
}

// ParseAcctFormat reads sacct's --format: field names (any case)
// separated by commas, each with an optional %WIDTH (a negative width
// left-justifies).
func ParseAcctFormat(s string) (AcctFormat, error) {
	var out AcctFormat
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, w, hasW := strings.Cut(item, "%")
		f, ok := acctField{}, false
		for _, af := range acctFields {
			if strings.EqualFold(af.name, name) {
				f, ok = af, true
			}
		}
		if !ok {
			if i := strings.Index(strings.ToLower(acctBlank), " "+strings.ToLower(name)+" "); i >= 0 && name != "" {
				f, ok = acctField{acctBlank[i+1 : i+1+len(name)], 10, func(Job, time.Time) string { return "" }}, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("--format: %q is not a field of sacct: use %s", name, acctNames())
		}
		c := acctColumn{f: f, width: f.width}
		if hasW {
			n, err := strconv.Atoi(w)
			if err != nil {
				return nil, fmt.Errorf("--format: %q: the width after %% must be a number, e.g. JobName%%30", item)
			}
			c.width = n
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--format %q names no field: write e.g. --format=JobID,State,ExitCode", s)
	}
	return out, nil
}

// Parsable says how sacct separates fields: in columns (Columns), with
// '|' after each field (-p, Parsable) or between them (-P, Parsable2).
type Parsable int

const (
	Columns Parsable = iota
	Parsable1
	Parsable2
)

// ParsableOf is the Parsable of sacct's (and sacctmgr's) -p and -P flags;
// -P wins.
func ParsableOf(p1, p2 bool) Parsable {
	switch {
	case p2:
		return Parsable2
	case p1:
		return Parsable1
	}
	return Columns
}

// Sacct writes jobs as sacct does, with its header (and, in columns, the
// dashed line under it) unless noHeader.
func Sacct(w io.Writer, jobs []Job, f AcctFormat, p Parsable, noHeader bool, now time.Time) error {
	var b strings.Builder
	if !noHeader {
		f.line(&b, p, func(c acctColumn) string { return c.f.name })
		if p == Columns {
			f.line(&b, p, func(c acctColumn) string { return strings.Repeat("-", abs(c.width)) })
		}
	}
	for _, j := range jobs {
		f.line(&b, p, func(c acctColumn) string { return c.f.value(j, now) })
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f AcctFormat) line(b *strings.Builder, p Parsable, value func(acctColumn) string) {
	for i, c := range f {
		v := value(c)
		switch p {
		case Columns:
			b.WriteString(fitAcct(v, c.width))
			b.WriteByte(' ')
		case Parsable1:
			b.WriteString(v)
			b.WriteByte('|')
		case Parsable2:
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(v)
		}
	}
	b.WriteByte('\n')
}

// fitAcct fits v to width as sacct does: a value too long is cut and ends
// in '+'; a negative width left-justifies.
func fitAcct(v string, width int) string {
	n := abs(width)
	if len(v) > n {
		if n == 0 {
			return ""
		}
		return v[:n-1] + "+"
	}
	if width < 0 {
		return v + strings.Repeat(" ", n-len(v))
	}
	return strings.Repeat(" ", n-len(v)) + v
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func acctNames() string {
	var l []string
	for _, f := range acctFields {
		l = append(l, f.name)
	}
	return strings.Join(l, ", ")
}

func nodeList(j Job) string {
	if j.Node == "" {
		return "None assigned"
	}
	return j.Node
}

// reqMem is sacct's ReqMem: the job's memory (burst's per job), "0n"
// when it declared none.
func reqMem(b int64) string {
	if b == 0 {
		return "0n"
	}
	return Mem(b)
}
