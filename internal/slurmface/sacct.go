package slurmface

import (
	"cmp"
	"fmt"
	"io"
	"os/user"
	"slices"
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
// left-justified, as sacct keeps them), its value, and on which lines it
// has one: a job's, its batch step's (Job.Step), or both.
type acctField struct {
	name  string
	width int
	value func(j Job, x acctCtx) string
	scope acctScope
}

// acctScope says on which of sacct's lines a field has a value.
type acctScope int

const (
	onBoth   acctScope = iota
	jobOnly            // the job's (allocation's) line: users, partition, limits, requests
	stepOnly           // a step's line: what its tasks used (MaxRSS, NTasks, AveCPU)
)

// acctCtx is what a field's value depends on beyond the job: the time of
// the listing and how memory figures are written (--units, --noconvert).
type acctCtx struct {
	now       time.Time
	units     int // a unit to write memory in (unitKilo...), or -1: the largest exact one
	noConvert bool
}

var acctFields = []acctField{
	{"Account", 10, func(j Job, _ acctCtx) string { return j.Account }, onBoth},
	{"AllocCPUS", 10, func(j Job, _ acctCtx) string { return strconv.Itoa(j.CPUs) }, onBoth},
	{"AllocNodes", 10, func(j Job, _ acctCtx) string { return "1" }, onBoth},
	{"Cluster", 10, func(Job, acctCtx) string { return ClusterName }, onBoth},
	// The highest exit code of the job's steps started by srun, the
	// batch step left out: a job that ran none reads 0:0 (even one that
	// failed), as in Slurm.
	{"DerivedExitCode", 15, func(j Job, _ acctCtx) string { return j.DerivedExitCode() }, jobOnly},
	{"Elapsed", 10, func(j Job, x acctCtx) string { return LongDuration(j.Elapsed(x.now)) }, onBoth},
	{"ElapsedRaw", 10, func(j Job, x acctCtx) string { return strconv.FormatInt(int64(j.Elapsed(x.now)/time.Second), 10) }, onBoth},
	{"Eligible", 19, func(j Job, _ acctCtx) string {
		if j.Step != "" {
			return Date(j.Start) // a step is eligible when it starts
		}
		return Date(j.Eligible())
	}, onBoth},
	{"End", 19, func(j Job, _ acctCtx) string { return Date(j.End) }, onBoth},
	{"ExitCode", 8, func(j Job, _ acctCtx) string { return j.AcctExitCode() }, onBoth},
	{"GID", 6, func(j Job, _ acctCtx) string { return strconv.Itoa(j.GID) }, jobOnly},
	{"JobID", -12, func(j Job, _ acctCtx) string { return j.JobID() + stepSuffix(j) }, onBoth},
	{"JobIDRaw", -12, func(j Job, _ acctCtx) string { return strconv.FormatInt(j.RawID, 10) + stepSuffix(j) }, onBoth},
	{"JobName", 10, func(j Job, _ acctCtx) string { return cmp.Or(j.StepName, j.Step, j.Name) }, onBoth},
	{"NCPUS", 10, func(j Job, _ acctCtx) string { return strconv.Itoa(j.CPUs) }, onBoth},
	{"NNodes", 8, func(j Job, _ acctCtx) string { return "1" }, onBoth},
	{"NodeList", 15, func(j Job, _ acctCtx) string { return nodeList(j) }, onBoth},
	{"Partition", 10, func(j Job, _ acctCtx) string { return j.Partition }, jobOnly},
	{"Reason", 22, func(j Job, _ acctCtx) string { return j.pendingReason() }, jobOnly},
	{"ReqCPUS", 8, func(j Job, _ acctCtx) string { return strconv.Itoa(j.CPUs) }, onBoth},
	{"ReqMem", 10, func(j Job, x acctCtx) string { return reqMem(j.MemBytes, x) }, jobOnly},
	{"Start", 19, func(j Job, _ acctCtx) string { return Date(j.shownStart()) }, onBoth},
	{"State", 10, func(j Job, _ acctCtx) string { return j.AcctState() }, onBoth},
	{"Submit", 19, func(j Job, _ acctCtx) string {
		if j.Step != "" {
			return Date(j.Start) // a step is submitted when it starts
		}
		return Date(j.Submit)
	}, onBoth},
	{"Timelimit", 10, func(j Job, _ acctCtx) string { return Limit(j.TimeLimit, LongDuration) }, jobOnly},
	{"UID", 6, func(j Job, _ acctCtx) string { return strconv.Itoa(j.UID) }, jobOnly},
	{"User", 9, func(j Job, _ acctCtx) string { return j.User }, jobOnly},
	{"WorkDir", 20, func(j Job, _ acctCtx) string { return j.WorkDir }, jobOnly},
	{"AllocTRES", 10, func(j Job, _ acctCtx) string { return tres(j) }, onBoth},
	{"ReqTRES", 10, func(j Job, _ acctCtx) string { return tres(j) }, jobOnly},
	{"CPUTime", 10, func(j Job, x acctCtx) string { return LongDuration(j.Elapsed(x.now) * time.Duration(j.CPUs)) }, onBoth},
	{"CPUTimeRAW", 10, func(j Job, x acctCtx) string {
		return strconv.FormatInt(int64(j.Elapsed(x.now)/time.Second)*int64(j.CPUs), 10)
	}, onBoth},
	{"ReqNodes", 8, func(Job, acctCtx) string { return "1" }, onBoth},
	{"TimelimitRaw", 10, func(j Job, _ acctCtx) string {
		if j.TimeLimit <= 0 {
			return "UNLIMITED"
		}
		return strconv.FormatInt(int64((j.TimeLimit+time.Minute-1)/time.Minute), 10)
	}, jobOnly},
	{"QOS", 10, func(Job, acctCtx) string { return "normal" }, jobOnly}, // Slurm's default QOS: burst has no other
	{"Group", 9, func(j Job, _ acctCtx) string { return groupName(j.GID) }, jobOnly},
	// What the job used: CPU time on both lines (a job's is its steps'
	// sum), memory on its step's alone, as sacct reports them. burst
	// measures the resident set (MaxRSS; one task, so too) and CPU
	// time, split into user and system time where the task was read.
	{"TotalCPU", 10, func(j Job, _ acctCtx) string { return cpuTime(j.CPUTime) }, onBoth},
	{"UserCPU", 10, func(j Job, _ acctCtx) string { return splitCPU(j, j.UserCPU) }, onBoth},
	{"SystemCPU", 10, func(j Job, _ acctCtx) string { return splitCPU(j, j.SysCPU) }, onBoth},
	{"AveCPU", 10, func(j Job, _ acctCtx) string { return cpuTime(aveCPU(j)) }, stepOnly},
	{"MinCPU", 10, func(j Job, _ acctCtx) string { return cpuTime(j.CPUTime.Truncate(time.Second)) }, stepOnly},
	{"MinCPUNode", 10, func(j Job, _ acctCtx) string { return j.Node }, stepOnly},
	{"MinCPUTask", 10, func(Job, acctCtx) string { return "0" }, stepOnly},
	{"MaxRSS", 10, func(j Job, x acctCtx) string { return memUnits(j.MaxRSS, unitNone, x) }, stepOnly},
	{"AveRSS", 10, func(j Job, x acctCtx) string { return memUnits(j.MaxRSS, unitNone, x) }, stepOnly},
	{"MaxRSSNode", 10, func(j Job, _ acctCtx) string { return j.Node }, stepOnly},
	{"MaxRSSTask", 10, func(Job, acctCtx) string { return "0" }, stepOnly},
	{"NTasks", 8, func(j Job, _ acctCtx) string {
		if j.StepName != "" { // an srun step: the tasks it ran
			return strconv.Itoa(max(j.NTasks, 1))
		}
		return "1"
	}, stepOnly},
}

// aveCPU is a step's CPU time a task, whole seconds: an srun step's
// tasks' together over their number; the batch step's, one task's.
func aveCPU(j Job) time.Duration {
	d := j.CPUTime
	if j.StepName != "" {
		d /= time.Duration(max(j.NTasks, 1))
	}
	return d.Truncate(time.Second)
}

// acctBlank are sacct's other fields (`sacct --helpformat` of Slurm 22.05),
// each NAME:WIDTH (its default width, as sacct's), separated by spaces:
// accepted in --format, and empty, as sacct leaves a
// field it has no value for (virtual memory, disk and page counts, energy,
// frequencies, reservations, comments, QOS ids). A script asking for
// MaxVMSize gets its other columns. A constant: read only by
// ParseAcctFormat.
const acctBlank = " AdminComment:15 AssocID:7 AveCPUFreq:10 AveDiskRead:14 AveDiskWrite:14 AvePages:10 AveVMSize:10 " +
	"BlockID:16 Comment:14 Constraints:19 ConsumedEnergy:14 ConsumedEnergyRaw:17 Container:19 " +
	"DBIndex:-10 Flags:19 Layout:9 MaxDiskRead:12 MaxDiskReadNode:15 MaxDiskReadTask:15 MaxDiskWrite:12 " +
	"MaxDiskWriteNode:16 MaxDiskWriteTask:16 MaxPages:8 MaxPagesNode:12 MaxPagesTask:14 MaxVMSize:10 " +
	"MaxVMSizeNode:14 MaxVMSizeTask:14 McsLabel:12 Priority:10 QOSRAW:6 ReqCPUFreq:10 ReqCPUFreqGov:13 " +
	"ReqCPUFreqMax:13 ReqCPUFreqMin:13 Reservation:20 ReservationId:8 Reserved:10 ResvCPU:10 " +
	"ResvCPURAW:10 SubmitLine:20 Suspended:10 SystemComment:15 TRESUsageInAve:14 TRESUsageInMax:14 " +
	"TRESUsageInMaxNode:18 TRESUsageInMaxTask:18 TRESUsageInMin:14 TRESUsageInMinNode:18 " +
	"TRESUsageInMinTask:18 TRESUsageInTot:14 TRESUsageOutAve:15 TRESUsageOutMax:15 " +
	"TRESUsageOutMaxNode:19 TRESUsageOutMaxTask:19 TRESUsageOutMin:15 TRESUsageOutMinNode:19 " +
	"TRESUsageOutMinTask:19 TRESUsageOutTot:15 WCKey:10 WCKeyID:10 "

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

// GroupName is gid's group name, or the number when it has none here.
func GroupName(gid int) string { return groupName(gid) }

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
	return parseFields(s, lookupAcctField, func(name string) error {
		return fmt.Errorf("--format: %q is not a field of sacct: use %s", name, acctNames())
	})
}

// parseFields reads a --format of sacct or sstat: lookup finds a field by
// its name, unknown says one is not a field.
func parseFields(s string, lookup func(string) (acctField, bool), unknown func(name string) error) (AcctFormat, error) {
	var out AcctFormat
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, w, hasW := strings.Cut(item, "%")
		f, ok := lookup(name)
		if !ok {
			return nil, unknown(name)
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

// lookupAcctField finds a --format field by its name in any case or, as
// sacct matches them, by the start of one (Exit: ExitCode; the first in
// --helpformat's order when several start so).
func lookupAcctField(name string) (acctField, bool) {
	if name == "" {
		return acctField{}, false
	}
	var prefixed []string
	for _, n := range allAcctNames() {
		if strings.EqualFold(n, name) {
			return acctFieldNamed(n), true
		}
		if len(n) > len(name) && strings.EqualFold(n[:len(name)], name) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 0 {
		return acctField{}, false
	}
	return acctFieldNamed(prefixed[0]), true
}

// acctFieldNamed is the field of that exact name: one burst fills, or one
// of acctBlank, empty.
func acctFieldNamed(name string) acctField {
	for _, af := range acctFields {
		if af.name == name {
			return af
		}
	}
	at := strings.Index(acctBlank, " "+name+":") + len(name) + 2
	width, _ := strconv.Atoi(acctBlank[at : at+strings.IndexByte(acctBlank[at:], ' ')])
	return acctField{name, width, func(Job, acctCtx) string { return "" }, onBoth}
}

// allAcctNames are the field names sacct takes, sorted as --helpformat
// lists them (by name, in any case).
func allAcctNames() []string {
	var names []string
	for nw := range strings.FieldsSeq(acctBlank) {
		name, _, _ := strings.Cut(nw, ":")
		names = append(names, name)
	}
	for _, f := range acctFields {
		names = append(names, f.name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return names
}

// AcctFieldList is sacct --helpformat: the field names, four to a line,
// each 19 wide.
func AcctFieldList() string { return fieldList(allAcctNames()) }

// fieldList is a --helpformat of sacct or sstat: names four to a line,
// each 19 wide.
func fieldList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		switch {
		case i%4 != 0:
			b.WriteByte(' ')
		case i > 0:
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%-19s", n)
	}
	b.WriteByte('\n')
	return b.String()
}

// NeedsCPUSplit says whether f shows user or system CPU time, which a
// listing gives as their sum alone.
func (f AcctFormat) NeedsCPUSplit() bool { return f.has("UserCPU", "SystemCPU") }

// NeedsNode says whether f shows the machine a job ran on, which a
// listing gives as its cluster alone.
func (f AcctFormat) NeedsNode() bool { return f.has("NodeList", "MaxRSSNode", "MinCPUNode") }

func (f AcctFormat) has(names ...string) bool {
	for _, c := range f {
		if slices.Contains(names, c.f.name) {
			return true
		}
	}
	return false
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

// SacctOptions say how Sacct writes: its separators, header and memory units.
type SacctOptions struct {
	Parsable  Parsable
	Delimiter string // between fields with -p/-P (default "|")
	NoHeader  bool
	// Units is --units: K, M, G, T or P to write memory figures in, 0 for
	// the largest unit that keeps them exact (sacct's default).
	Units     byte
	NoConvert bool // --noconvert: memory figures in the unit they were measured in
}

// ParseUnits reads sacct's --units: one of K, M, G, T, P (any case).
func ParseUnits(v string) (byte, error) {
	if len(v) == 1 {
		if u := strings.ToUpper(v)[0]; strings.IndexByte("KMGTP", u) >= 0 {
			return u, nil
		}
	}
	return 0, fmt.Errorf("--units=%s: write one of K, M, G, T, P, e.g. --units=G", v)
}

// Sacct writes jobs (and steps: Job.Step) as sacct does, with its header
// (and, in columns, the dashed line under it) unless o.NoHeader.
func Sacct(w io.Writer, jobs []Job, f AcctFormat, o SacctOptions, now time.Time) error {
	x := acctCtx{now: now, units: -1, noConvert: o.NoConvert}
	if o.Units != 0 {
		x.units = strings.IndexByte(units, o.Units)
	}
	sep := cmp.Or(o.Delimiter, "|")
	var b strings.Builder
	if !o.NoHeader {
		// A name too long for its column is cut short, with no '+'.
		f.line(&b, o.Parsable, sep, func(c acctColumn) string {
			if o.Parsable == Columns && len(c.f.name) > abs(c.width) {
				return c.f.name[:abs(c.width)]
			}
			return c.f.name
		})
		if o.Parsable == Columns {
			f.line(&b, o.Parsable, sep, func(c acctColumn) string { return strings.Repeat("-", abs(c.width)) })
		}
	}
	for _, j := range jobs {
		f.line(&b, o.Parsable, sep, func(c acctColumn) string {
			if c.f.scope == jobOnly && j.Step != "" || c.f.scope == stepOnly && j.Step == "" {
				return ""
			}
			return c.f.value(j, x)
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f AcctFormat) line(b *strings.Builder, p Parsable, sep string, value func(acctColumn) string) {
	for i, c := range f {
		v := value(c)
		switch p {
		case Columns:
			b.WriteString(fitAcct(v, c.width))
			b.WriteByte(' ')
		case Parsable1:
			b.WriteString(v)
			b.WriteString(sep)
		case Parsable2:
			if i > 0 {
				b.WriteString(sep)
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
	return strings.Join(l, ", ") + " (sacct --helpformat lists every field it takes)"
}

func nodeList(j Job) string {
	if j.Node == "" {
		return "None assigned"
	}
	return j.Node
}

// reqMem is sacct's ReqMem: the job's memory (burst's per job), in
// sacct's units, without the n or c that sacct wrote before 21.08 (22.05
// writes the memory of the job's requested TRES); "0" when it declared
// none, as squeue's %m shows it.
func reqMem(b int64, x acctCtx) string {
	if b == 0 {
		return "0"
	}
	return memUnits((b+1<<20-1)>>20, unitMega, x)
}

// Memory units, as sacct numbers them.
const (
	unitNone = iota
	unitKilo
	unitMega
)

// units are their suffixes (none for bytes).
const units = " KMGTP"

// memUnits writes n, in the unit orig (unitNone for bytes), as sacct
// writes memory: in x.units when set; as measured with --noconvert;
// otherwise in the largest unit that keeps it exact, a half counting as
// exact (4716K, 2G, 1.50G). A whole number is written without decimals,
// another with two.
func memUnits(n int64, orig int, x acctCtx) string {
	if n <= 0 {
		return "0"
	}
	num, unit := float64(n), orig
	switch {
	case x.units >= 0:
		for ; unit < x.units; unit++ {
			num /= 1024
		}
		for ; unit > x.units; unit-- {
			num *= 1024
		}
	case x.noConvert:
	default:
		for num >= 1024 && uint64(num)%512 == 0 {
			num /= 1024
			unit++
		}
	}
	suffix := strings.TrimSpace(units[unit : unit+1])
	if num == float64(uint64(num)) {
		return strconv.FormatUint(uint64(num), 10) + suffix
	}
	return strconv.FormatFloat(num, 'f', 2, 64) + suffix
}

// cpuTime writes CPU time as sacct does: MM:SS.mmm below an hour (00:MM:SS
// for whole seconds), else as its other durations (LongDuration).
func cpuTime(d time.Duration) string {
	if d >= time.Hour {
		return LongDuration(d)
	}
	secs, ms := int64(d/time.Second), int64(d%time.Second/time.Millisecond)
	if ms > 0 {
		return fmt.Sprintf("%02d:%02d.%03d", secs/60, secs%60, ms)
	}
	return fmt.Sprintf("00:%02d:%02d", secs/60, secs%60)
}

// splitCPU is UserCPU or SystemCPU: blank where burst knows the job's CPU
// time only as a sum (a listing's job line).
func splitCPU(j Job, d time.Duration) string {
	if !j.CPUSplit {
		return ""
	}
	return cpuTime(d)
}

// stepSuffix is ".batch" on a batch step's line.
func stepSuffix(j Job) string {
	if j.Step == "" {
		return ""
	}
	return "." + j.Step
}
