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
)

// DefaultSqueue is squeue's default format; SqueueLong is squeue -l's;
// SqueueStart is squeue --start's.
const (
	DefaultSqueue = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
	SqueueLong    = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
	SqueueStart   = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R"
)

// squeueField is one of squeue's %-letters: its header and its value.
type squeueField struct {
	header string
	fn     func(j Job, now time.Time) string // nil: the same for every job, fixed
	fixed  string
	// span says the value is a span of time (%M, %l, %L): squeue prints
	// one right-justified whole, however narrow its column (2-03:05:00 in
	// -l's %.9l), and cuts only the words (UNLIMITED) and the header.
	span bool
}

// value is the field's value for j.
func (f squeueField) value(j Job, now time.Time) string {
	if f.fn == nil {
		return f.fixed
	}
	return f.fn(j, now)
}

// squeueFields are the %-letters burst renders; others are refused by
// ParseSqueueFormat with the list of these.
var squeueFields = map[byte]squeueField{
	// %A is each job's own id (a task of an array has its own), %F an
	// array's id (a job's own for one that is no array's), as squeue(1).
	'A': {header: "JOBID", fn: func(j Job, _ time.Time) string { return strconv.FormatInt(j.RawID, 10) }},
	'F': {header: "ARRAY_JOB_ID", fn: func(j Job, _ time.Time) string { return strconv.FormatInt(j.arrayID(), 10) }},
	'a': {header: "ACCOUNT", fn: func(j Job, _ time.Time) string { return j.Account }},
	'b': {header: "TRES_PER_NODE", fn: func(j Job, _ time.Time) string { return gres(j.GPUs) }},
	'C': {header: "CPUS", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	'D': {header: "NODES", fn: func(j Job, _ time.Time) string { return "1" }},
	'E': {header: "DEPENDENCY", fn: func(j Job, _ time.Time) string { return orNull(j.Dependency) }},
	'e': {header: "END_TIME", fn: func(j Job, _ time.Time) string { return endTime(j) }},
	'i': {header: "JOBID", fn: func(j Job, _ time.Time) string { return j.JobID() }},
	'j': {header: "NAME", fn: func(j Job, _ time.Time) string { return j.Name }},
	'K': {header: "ARRAY_TASK_ID", fn: func(j Job, _ time.Time) string { return arrayTask(j) }},
	'l': {header: "TIME_LIMIT", fn: func(j Job, _ time.Time) string { return Limit(j.TimeLimit, Duration) }, span: true},
	'M': {header: "TIME", fn: func(j Job, now time.Time) string { return Duration(j.Elapsed(now)) }, span: true},
	'm': {header: "MIN_MEMORY", fn: func(j Job, _ time.Time) string { return Mem(j.minMem()) }},
	'N': {header: "NODELIST", fn: func(j Job, _ time.Time) string { return j.Node }},
	'o': {header: "COMMAND", fn: func(j Job, _ time.Time) string { return orNull(j.Command) }},
	'P': {header: "PARTITION", fn: func(j Job, _ time.Time) string { return j.Partition }},
	'R': {header: "NODELIST(REASON)", fn: func(j Job, _ time.Time) string { return nodeOrReason(j) }},
	'r': {header: "REASON", fn: func(j Job, _ time.Time) string { return j.pendingReason() }},
	'S': {header: "START_TIME", fn: func(j Job, _ time.Time) string { return startTime(j) }},
	'T': {header: "STATE", fn: func(j Job, _ time.Time) string { return j.StateName() }},
	't': {header: "ST", fn: func(j Job, _ time.Time) string { return j.StateCode() }},
	'u': {header: "USER", fn: func(j Job, _ time.Time) string { return j.User }},
	'U': {header: "UID", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.UID) }},
	'V': {header: "SUBMIT_TIME", fn: func(j Job, _ time.Time) string { return Date(j.Submit) }},
	'x': {header: "EXC_NODES", fn: func(j Job, _ time.Time) string { return "" }},
	'Z': {header: "WORK_DIR", fn: func(j Job, _ time.Time) string { return j.WorkDir }},
	'L': {header: "TIME_LEFT", fn: func(j Job, now time.Time) string { return timeLeft(j, now) }, span: true},
	'c': {header: "MIN_CPUS", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	'q': fixed("QOS", "normal"), // Slurm's default: burst has no other
	'f': fixed("FEATURES", "(null)"),
	'n': fixed("REQ_NODES", ""),
	'B': {header: "EXEC_HOST", fn: func(j Job, _ time.Time) string { return cmp.Or(j.Node, "n/a") }},
	'Y': fixed("SCHEDNODES", "(null)"), // burst plans no start ahead
	// What burst has no notion of, printed as Slurm 22.05 prints it for a
	// job that asked for none of it (checked with the suite's real Slurm).
	'd': fixed("MIN_TMP_DISK", "0"),
	'g': {header: "GROUP", fn: func(j Job, _ time.Time) string { return groupName(j.GID) }},
	'G': {header: "GROUP", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.GID) }},
	'h': {header: "OVER_SUBSCRIBE", fn: func(j Job, _ time.Time) string { return j.overSubscribe() }},
	'H': fixed("SOCKETS_PER_NODE", "*"),
	'I': fixed("CORES_PER_SOCKET", "*"),
	'J': fixed("THREADS_PER_CORE", "*"),
	'k': {header: "COMMENT", fn: func(j Job, _ time.Time) string { return orNull(j.Comment) }},
	'O': fixed("CONTIGUOUS", "0"),
	'p': {header: "PRIORITY", fn: func(j Job, _ time.Time) string {
		return strconv.FormatFloat(float64(j.Priority())/float64(math.MaxUint32), 'f', 14, 64)
	}},
	'Q': {header: "PRIORITY", fn: func(j Job, _ time.Time) string { return strconv.FormatInt(j.Priority(), 10) }},
	's': fixed("", ""), // squeue prints an empty column
	'v': fixed("RESERVATION", "(null)"),
	'w': fixed("WCKEY", "(null)"),
	'W': fixed("LICENSES", "(null)"),
	'X': fixed("CORE_SPEC", "N/A"),
	'y': fixed("NICE", "0"),
	'z': fixed("S:C:T", "*:*:*"),
}

// squeueNamed are squeue -O's fields that have no %-letter.
var squeueNamed = map[string]squeueField{
	"numtasks":     {header: "TASKS", fn: func(j Job, _ time.Time) string { return strconv.Itoa(max(j.NTasks, 1)) }},
	"stdout":       {header: "STDOUT", fn: func(j Job, _ time.Time) string { return j.StdOut }},
	"stderr":       {header: "STDERR", fn: func(j Job, _ time.Time) string { return j.StdErr }},
	"stdin":        {header: "STDIN", fn: func(j Job, _ time.Time) string { return orDevNull(j.StdIn) }},
	"pendingtime":  {header: "PENDING_TIME", fn: func(j Job, now time.Time) string { return strconv.FormatInt(int64(j.pending(now)/time.Second), 10) }},
	"hetjobid":     fixed("HET_JOB_ID", "N/A"),
	"hetjoboffset": fixed("HET_JOB_OFFSET", "N/A"),
	"hetjobidset":  fixed("HET_JOB_ID_SET", "N/A"),
	"cluster":      {header: "CLUSTER", fn: func(Job, time.Time) string { return ClusterName }},
	"network":      fixed("NETWORK", "(null)"),
	"requeue":      fixed("REQUEUE", "1"),
	"batchflag":    fixed("BATCH_FLAG", "1"),
	"deadline":     {header: "DEADLINE", fn: func(j Job, _ time.Time) string { return dateOrNA(j.Deadline) }},
	"mintime":      {header: "TIME_MIN", fn: func(j Job, _ time.Time) string { return Duration(j.TimeMin) }},
	"preempttime":  fixed("PREEMPT_TIME", "N/A"),
	"tres-alloc":   {header: "TRES_ALLOC", fn: func(j Job, _ time.Time) string { return j.TRES() }},
	// As Slurm 22.05's squeue prints them (checked side by side): a
	// requeued job's runs after its first, the exit status as one wait
	// status (768 for exit 3), when it became eligible and began to accrue
	// age (N/A while held), and the fields burst has no value for.
	"restartcnt": {header: "RESTART_COUNT", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.Restarts) }},
	"exit_code": {header: "EXIT_CODE", fn: func(j Job, _ time.Time) string {
		status, sig := j.exitStatus()
		return strconv.Itoa(status<<8 | sig)
	}},
	"eligibletime": {header: "ELIGIBLE_TIME", fn: func(j Job, _ time.Time) string { return dateOrNA(j.Eligible()) }},
	"accruetime": {header: "ACCRUE_TIME", fn: func(j Job, _ time.Time) string {
		if !j.accrues() {
			return "N/A"
		}
		return Date(j.Submit)
	}},
	"maxcpus":          {header: "MAX_CPUS", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	"maxnodes":         fixed("MAX_NODES", "1"),
	"sockets":          fixed("SOCKETS_PER_NODE", "*"),
	"cores":            fixed("CORES_PER_SOCKET", "*"),
	"threads":          fixed("THREADS_PER_CORE", "*"),
	"ntpercore":        fixed("NTASKS_PER_CORE", "N/A"),
	"ntpersocket":      fixed("NTASKS_PER_SOCKET", "N/A"),
	"ntperboard":       fixed("NTASKS_PER_BOARD", "0"),
	"boardspernode":    fixed("BOARDS_PER_NODE", "0"),
	"sperboard":        fixed("SOCKETS_PER_BOARD", "0"),
	"reboot":           fixed("REBOOT", "0"),
	"reqswitch":        fixed("REQ_SWITCH", "0"),
	"wait4switch":      fixed("WAIT4SWITCH", "0:00"),
	"associd":          fixed("ASSOC_ID", "0"),
	"delayboot":        fixed("DELAY_BOOT", "0:00"),
	"derivedec":        fixed("DERIVED_EC", "0"),
	"origin":           fixed("ORIGIN", "NA"),
	"originraw":        fixed("ORIGIN_RAW", "NA"),
	"siblingsactive":   fixed("ACTIVE_SIBLINGS", "NA"),
	"siblingsviable":   fixed("VIABLE_SIBLINGS", "NA"),
	"prefer":           fixed("PREFER", "(null)"),
	"profile":          fixed("PROFILE", "NotSet"),
	"resizetime":       fixed("RESIZE_TIME", "N/A"),
	"system_comment":   fixed("SYSTEM_COMMENT", "(null)"),
	"admin_comment":    fixed("ADMIN_COMMENT", "(null)"),
	"clusterfeature":   fixed("CLUSTER_FEATURES", "(null)"),
	"mcslabel":         fixed("MCSLABEL", "(null)"),
	"burstbuffer":      fixed("BURST_BUFFER", "(null)"),
	"burstbufferstate": fixed("BURST_BUFFER_STATE", "(null)"),
	"cpus-per-tres":    fixed("CPUS_PER_TRES", "N/A"),
	"mem-per-tres":     fixed("MEM_PER_TRES", "N/A"),
	"tres-bind":        fixed("TRES_BIND", "N/A"),
	"tres-freq":        fixed("TRES_FREQ", "N/A"),
	"tres-per-socket":  fixed("TRES_PER_SOCKET", "N/A"),
	"tres-per-job":     fixed("TRES_PER_JOB", "N/A"),
	"tres-per-task":    fixed("TRES_PER_TASK", "N/A"),
}

// Priority is the job's priority as Slurm's priority/basic plugin gives
// it: below 2^32 - 2^16, one less for each job submitted after (the first
// submitted goes first), an array's tasks all their array's; 1 at the
// least (0 would mean held).
func (j Job) Priority() int64 {
	if j.Held && j.State == burst.Queued {
		return 0 // Slurm holds a job by giving it priority 0
	}
	return max(1, 4294901760-j.arrayID())
}

// pending is how long it waited before it started (squeue -O
// PendingTime): to now for one still pending, 0 for one that ended
// without starting.
func (j Job) pending(now time.Time) time.Duration {
	switch {
	case !j.Start.IsZero():
		return max(j.Start.Sub(j.Submit), 0)
	case j.State == burst.Queued:
		return max(now.Sub(j.Submit), 0)
	}
	return 0
}

// fixed is a field whose value is the same for every job (a value, not a
// function: the table is built at every start of the binary, and a closure
// each would be an allocation each).
func fixed(header, value string) squeueField { return squeueField{header: header, fixed: value} }

// timeLeft is squeue's %L: the time limit less what the job has run,
// UNLIMITED without one.
func timeLeft(j Job, now time.Time) string {
	if j.TimeLimit <= 0 {
		return "UNLIMITED"
	}
	return Duration(max(j.TimeLimit-j.Elapsed(now), 0))
}

// NeedsSpec says whether a column of f shows what only a job's spec holds
// (its working directory, its command, its --comment, its --input, its tasks, whether it
// takes its machine whole, the memory it asked for (0 for --mem=0, where
// the listing has what it holds), its --deadline and --time-min): a
// listing carries no spec.
func (f Format) NeedsSpec() bool {
	return f.shows("WORK_DIR", "COMMAND", "TASKS", "OVER_SUBSCRIBE", "MIN_MEMORY", "DEADLINE", "TIME_MIN", "COMMENT")
}

// ShowsFiles says whether f shows a job's files (squeue -O STDOUT, STDERR,
// STDIN): its spec's patterns, unexpanded, run or not.
func (f Format) ShowsFiles() bool { return f.shows("STDOUT", "STDERR", "STDIN") }

func (f Format) shows(headers ...string) bool {
	for _, c := range f {
		if c.field != nil && slices.Contains(headers, c.field.header) {
			return true
		}
	}
	return false
}

// NeedsTask says whether f shows of j what its first task alone tells: its
// machine, which a listing gives as its cluster alone (%N and %B for any
// job that ran, %R for those it does not show a reason for), its restarts
// and the signal that ended it (-O RestartCnt, exit_code).
func (f Format) NeedsTask(j Job) bool {
	for _, c := range f {
		if c.field == nil {
			continue
		}
		switch c.field.header {
		case "NODELIST", "EXEC_HOST", "RESTART_COUNT", "EXIT_CODE":
			return true
		case "NODELIST(REASON)":
			if !strings.HasPrefix(nodeOrReason(j), "(") {
				return true
			}
		}
	}
	return false
}

// squeueNames are squeue -O's field names for the same values.
var squeueNames = map[string]byte{
	"account": 'a', "arrayjobid": 'F', "arraytaskid": 'K', "command": 'o', "cpus-per-task": 'C',
	"numcpus": 'C', "endtime": 'e', "jobid": 'A', "jobarrayid": 'i', "name": 'j', "timelimit": 'l',
	"timeused": 'M', "minmemory": 'm', "nodelist": 'N', "partition": 'P', "reasonlist": 'R',
	"reason": 'r', "starttime": 'S', "state": 'T', "statecompact": 't', "username": 'u', "userid": 'U',
	"submittime": 'V', "workdir": 'Z', "numnodes": 'D', "tres-per-node": 'b', "dependency": 'E',
	"timeleft": 'L', "mincpus": 'c', "qos": 'q', "feature": 'f', "reqnodes": 'n', "exechost": 'B',
	"schednodes": 'Y', "comment": 'k', "contiguous": 'O', "corespec": 'X', "groupid": 'G', "groupname": 'g',
	"mintmpdisk": 'd', "nice": 'y', "oversubscribe": 'h', "priority": 'p', "prioritylong": 'Q', "reservation": 'v',
	"wckey": 'w', "licenses": 'W', "sct": 'z', "batchhost": 'B',
}

// column is one column of a format: literal text, or a field with a width
// (0: as wide as its value) and a side.
type column struct {
	text  string // literal text, when field is nil
	field *squeueField
	width int
	right bool
}

// Format is a parsed squeue format.
type Format []column

// ParseSqueueFormat reads squeue's -o format: %[.][width]LETTER fields
// ('.' right-justifies) among literal text, "%%" a percent sign. A
// specification naming no field stays as written and is in bad: squeue
// says "Invalid job format specification: X" of each and lists all the
// same, exit 0 (checked with Slurm 22.05).
//
// "%all" is every letter, a-z then A-Z, separated by '|', as squeue's
// manual has it ("all fields available ... with a vertical bar
// separating each field").
func ParseSqueueFormat(s string) (f Format, bad []string) {
	if strings.EqualFold(s, "%all") {
		s = allLetters
	}
	return parseFormat(s, squeueFields)
}

// allLetters is squeue's %all (checked with Slurm 22.05: the same line).
const allLetters = "%a|%b|%c|%d|%e|%f|%g|%h|%i|%j|%k|%l|%m|%n|%o|%p|%q|%r|%s|%t|%u|%v|%w|%x|%y|%z|" +
	"%A|%B|%C|%D|%E|%F|%G|%H|%I|%J|%K|%L|%M|%N|%O|%P|%Q|%R|%S|%T|%U|%V|%W|%X|%Y|%Z"

// ParseStepFormat reads squeue -s's -o format, whose letters are a job
// step's (stepFields).
func ParseStepFormat(s string) (f Format, bad []string) {
	return parseFormat(s, stepFields)
}

func parseFormat(s string, fields map[byte]squeueField) (Format, []string) {
	cols, bad := scanFormat(s, func(c byte) bool { _, ok := fields[c]; return ok })
	f := make(Format, len(cols))
	for i, c := range cols {
		f[i] = column{text: c.text, width: c.width, right: c.right}
		if c.letter != 0 {
			sf := fields[c.letter]
			f[i].field = &sf
		}
	}
	return f, bad
}

// DefaultSteps is squeue -s's format (with -l too, as 22.05 prints it).
const DefaultSteps = "%.15i %.8j %.9P %.8u %.9M %N"

// stepFields are the %-letters of squeue -s: a job step's. squeue lists a
// burst job's batch step while the job runs, and the steps srun runs in it
// (RunningSteps), which its agent reports as they start and end.
var stepFields = map[byte]squeueField{
	'A': {header: "TASKS", fn: func(j Job, _ time.Time) string { return strconv.Itoa(max(j.NTasks, 1)) }},
	'b': {header: "TRES_PER_JOB", fn: func(j Job, _ time.Time) string { // 22.05: (null) for a step of no GPUs
		if j.GPUs > 0 {
			return gres(j.GPUs)
		}
		return "(null)"
	}},
	'i': {header: "STEPID", fn: func(j Job, _ time.Time) string { return j.StepID() }},
	'j': {header: "NAME", fn: func(j Job, _ time.Time) string { return cmp.Or(j.StepName, "batch") }},
	'l': fixed("TIME_LIMIT", "UNLIMITED"), // a step's own, which the batch step has none of
	'M': {header: "TIME", fn: func(j Job, now time.Time) string { return Duration(j.Elapsed(now)) }, span: true},
	'N': {header: "NODELIST", fn: func(j Job, _ time.Time) string { return j.Node }},
	'P': {header: "PARTITION", fn: func(j Job, _ time.Time) string { return j.Partition }},
	'S': {header: "START_TIME", fn: func(j Job, _ time.Time) string { return startTime(j) }},
	'u': {header: "USER", fn: func(j Job, _ time.Time) string { return j.User }},
	'U': {header: "UID", fn: func(j Job, _ time.Time) string { return strconv.Itoa(j.UID) }},
}

// StepID is the id of a job's step: its batch step's, "12.batch",
// "12_3.batch", or on a line of an srun step (Step set) that step's,
// "12.0".
func (j Job) StepID() string { return j.JobID() + "." + cmp.Or(j.Step, "batch") }

// RunningSteps are the lines squeue -s lists of running job j: its batch
// step after the srun steps running in it, as squeue orders a job's
// steps (the batch step's id is the highest); of a job srun made outside
// any job, its step 0 alone (StepLines).
func (j Job) RunningSteps() []Job {
	var out []Job
	for _, s := range j.SrunSteps() {
		if s.State == burst.Running {
			out = append(out, s)
		}
	}
	if j.SrunStep && len(j.Steps) > 0 {
		return out
	}
	b := j
	b.NTasks = 1 // the batch step is one task
	b = b.asSrunStep()
	b.Steps = nil
	return append(out, b)
}

// ParseSqueueFields reads squeue's -O list: NAME[:[.][WIDTH][SUFFIX]]
// separated by commas (fieldSpec); a field is 20 wide and left-justified
// unless told, and followed by its suffix alone (its width pads it), as
// squeue does. A name that is no field is left out and in bad, as squeue
// leaves it out (saying so).
func ParseSqueueFields(s string) (f Format, bad []string) {
	for item := range strings.SplitSeq(s, ",") {
		name, w, hasW := strings.Cut(item, ":")
		sf, ok := squeueNamed[strings.ToLower(name)]
		if !ok {
			letter, known := squeueNames[strings.ToLower(name)]
			if !known {
				bad = append(bad, name)
				continue
			}
			sf = squeueFields[letter]
		}
		c := column{field: &sf, width: 20}
		var suffix string
		if hasW {
			c.width, c.right, suffix = fieldSpec(w)
		}
		f = append(f, c)
		if suffix != "" {
			f = append(f, column{text: suffix})
		}
	}
	return f, bad
}

// Squeue writes jobs in format f, after a header line unless noHeader.
func Squeue(w io.Writer, jobs []Job, f Format, noHeader bool, now time.Time) error {
	var b strings.Builder
	if !noHeader {
		f.line(&b, false, func(c column) string { return c.field.header })
	}
	for _, j := range jobs {
		f.line(&b, true, func(c column) string { return c.field.value(j, now) })
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// line writes one line of f: its header's (values false) or a job's.
func (f Format) line(b *strings.Builder, values bool, value func(column) string) {
	for _, c := range f {
		if c.field == nil {
			b.WriteString(c.text)
			continue
		}
		v, width := value(c), c.width
		if values && c.right && c.field.span && v != "" && v[0] >= '0' && v[0] <= '9' {
			width = max(width, len(v))
		}
		b.WriteString(pad(v, width, c.right))
	}
	b.WriteByte('\n')
}

// pad fits v to width as squeue does: cut to width when longer, padded on
// the right (or, right-justified, on the left) when shorter; width 0 keeps v.
func pad(v string, width int, right bool) string {
	if width <= 0 {
		return v
	}
	if len(v) > width {
		return v[:width]
	}
	if right {
		return strings.Repeat(" ", width-len(v)) + v
	}
	return v + strings.Repeat(" ", width-len(v))
}

// nodeOrReason is %R, as squeue's manual has it: "(Reason)" for a job
// pending, failed, out of memory, timed out or past its deadline; for the others (running,
// completed, cancelled) the nodes it was given, "" for one cancelled before
// it ran.
func nodeOrReason(j Job) string {
	switch j.State {
	case burst.Queued, burst.Timeout, burst.Failed:
		// squeue: pending, timed out, out of memory or failed, the reason
		return "(" + j.pendingReason() + ")"
	case burst.Cancelled:
		if j.MissedDeadline {
			return "(" + j.pendingReason() + ")" // (DeadLine), as Slurm 22.05's squeue -t DL shows it
		}
	}
	return j.Node // the others: the nodes it was given ("" if none)
}

// startTime is %S: when it started, or for a job pending for its begin
// time the earliest it may (its expected start); for one cancelled (or
// ended as DEADLINE) before it started, when it ended, as Slurm 22.05's
// squeue shows it; N/A otherwise.
func startTime(j Job) string {
	if j.Start.IsZero() && j.Deferred {
		return Date(j.Begin)
	}
	return dateOrNA(j.shownStart())
}

// dateOrNA is t as squeue writes a time, N/A when there is none.
func dateOrNA(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return Date(t)
}

// endTime is %e: when it ended, or for a running job with a time limit
// when it must end, for one pending for its begin time when it would end
// if it started then (NONE with no time limit); N/A otherwise.
func endTime(j Job) string {
	switch {
	case !j.End.IsZero():
		return Date(j.End)
	case !j.Start.IsZero() && j.TimeLimit > 0:
		return Date(j.Start.Add(j.TimeLimit))
	case j.Start.IsZero() && j.Deferred && j.TimeLimit > 0:
		return Date(j.Begin.Add(j.TimeLimit)) // pending for its begin time: when it must end if it starts then
	case j.Start.IsZero() && j.Deferred, !j.Start.IsZero():
		return "NONE" // as 22.05 prints it for such a job, or one running, with no time limit
	}
	return "N/A"
}

func arrayTask(j Job) string {
	if j.ArrayPending != "" {
		return j.ArrayPending
	}
	if j.ArrayJobID > 0 {
		return strconv.Itoa(j.ArrayTaskID)
	}
	return "N/A"
}

func gres(gpus int) string {
	if gpus > 0 {
		return fmt.Sprintf("gres:gpu:%d", gpus)
	}
	return "N/A"
}

func orNull(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}
