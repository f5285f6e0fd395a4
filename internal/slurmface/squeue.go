package slurmface

import (
	"cmp"
	"fmt"
	"io"
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
	value  func(j Job, now time.Time) string
}

// squeueFields are the %-letters burst renders; others are refused by
// ParseSqueueFormat with the list of these.
var squeueFields = map[byte]squeueField{
	// %A is each job's own id (a task of an array has its own), %F an
	// array's id (a job's own for one that is no array's), as squeue(1).
	'A': {"JOBID", func(j Job, _ time.Time) string { return strconv.FormatInt(j.RawID, 10) }},
	'F': {"ARRAY_JOB_ID", func(j Job, _ time.Time) string { return strconv.FormatInt(j.arrayID(), 10) }},
	'a': {"ACCOUNT", func(j Job, _ time.Time) string { return j.Account }},
	'b': {"TRES_PER_NODE", func(j Job, _ time.Time) string { return gres(j.GPUs) }},
	'C': {"CPUS", func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	'D': {"NODES", func(j Job, _ time.Time) string { return "1" }},
	'E': {"DEPENDENCY", func(j Job, _ time.Time) string { return orNull(j.Dependency) }},
	'e': {"END_TIME", func(j Job, _ time.Time) string { return endTime(j) }},
	'i': {"JOBID", func(j Job, _ time.Time) string { return j.JobID() }},
	'j': {"NAME", func(j Job, _ time.Time) string { return j.Name }},
	'K': {"ARRAY_TASK_ID", func(j Job, _ time.Time) string { return arrayTask(j) }},
	'l': {"TIME_LIMIT", func(j Job, _ time.Time) string { return Limit(j.TimeLimit, Duration) }},
	'M': {"TIME", func(j Job, now time.Time) string { return Duration(j.Elapsed(now)) }},
	'm': {"MIN_MEMORY", func(j Job, _ time.Time) string { return Mem(j.MemBytes) }},
	'N': {"NODELIST", func(j Job, _ time.Time) string { return j.Node }},
	'o': {"COMMAND", func(j Job, _ time.Time) string { return orNull(j.Command) }},
	'P': {"PARTITION", func(j Job, _ time.Time) string { return j.Partition }},
	'R': {"NODELIST(REASON)", func(j Job, _ time.Time) string { return nodeOrReason(j) }},
	'r': {"REASON", func(j Job, _ time.Time) string { return j.pendingReason() }},
	'S': {"START_TIME", func(j Job, _ time.Time) string { return startTime(j) }},
	'T': {"STATE", func(j Job, _ time.Time) string { return j.StateName() }},
	't': {"ST", func(j Job, _ time.Time) string { return j.StateCode() }},
	'u': {"USER", func(j Job, _ time.Time) string { return j.User }},
	'U': {"UID", func(j Job, _ time.Time) string { return strconv.Itoa(j.UID) }},
	'V': {"SUBMIT_TIME", func(j Job, _ time.Time) string { return Date(j.Submit) }},
	'x': {"EXC_NODES", func(j Job, _ time.Time) string { return "" }},
	'Z': {"WORK_DIR", func(j Job, _ time.Time) string { return j.WorkDir }},
	'L': {"TIME_LEFT", func(j Job, now time.Time) string { return timeLeft(j, now) }},
	'c': {"MIN_CPUS", func(j Job, _ time.Time) string { return strconv.Itoa(j.CPUs) }},
	'q': {"QOS", func(Job, time.Time) string { return "normal" }}, // Slurm's default: burst has no other
	'f': {"FEATURES", func(Job, time.Time) string { return "(null)" }},
	'n': {"REQ_NODES", func(Job, time.Time) string { return "" }},
	'B': {"EXEC_HOST", func(j Job, _ time.Time) string { return cmp.Or(j.Node, "n/a") }},
	'Y': {"SCHEDNODES", func(Job, time.Time) string { return "(null)" }}, // burst plans no start ahead
}

// timeLeft is squeue's %L: the time limit less what the job has run,
// UNLIMITED without one.
func timeLeft(j Job, now time.Time) string {
	if j.TimeLimit <= 0 {
		return "UNLIMITED"
	}
	return Duration(max(j.TimeLimit-j.Elapsed(now), 0))
}

// NeedsSpec says whether a column of f shows what only a job's spec holds
// (its working directory, its command): a listing carries no spec.
func (f Format) NeedsSpec() bool {
	for _, c := range f {
		if c.field != nil && (c.field.header == "WORK_DIR" || c.field.header == "COMMAND") {
			return true
		}
	}
	return false
}

// ShowsNode says whether f shows j's machine, which a listing gives as its
// cluster alone: %N and %B for any job that ran, %R for those it does not
// show a reason for.
func (f Format) ShowsNode(j Job) bool {
	for _, c := range f {
		if c.field == nil {
			continue
		}
		switch c.field.header {
		case "NODELIST", "EXEC_HOST":
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
	"schednodes": 'Y',
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
// ('.' right-justifies) among literal text, "%%" a percent sign.
func ParseSqueueFormat(s string) (Format, error) {
	return parseFormat(s, squeueFields)
}

// ParseStepFormat reads squeue -s's -o format, whose letters are a job
// step's (stepFields).
func ParseStepFormat(s string) (Format, error) {
	return parseFormat(s, stepFields)
}

func parseFormat(s string, fields map[byte]squeueField) (Format, error) {
	cols, err := scanFormat(s, func(c byte) bool { _, ok := fields[c]; return ok })
	if err != nil {
		return nil, fmt.Errorf("%v: use %s", err, letters(fields))
	}
	f := make(Format, len(cols))
	for i, c := range cols {
		f[i] = column{text: c.text, width: c.width, right: c.right}
		if c.letter != 0 {
			sf := fields[c.letter]
			f[i].field = &sf
		}
	}
	return f, nil
}

// DefaultSteps is squeue -s's format (with -l too, as 22.05 prints it).
const DefaultSteps = "%.15i %.8j %.9P %.8u %.9M %N"

// stepFields are the %-letters of squeue -s: a job step's. A burst job has
// one step, its batch step, running while the job runs (what srun starts
// inside it is not a step the server knows).
var stepFields = map[byte]squeueField{
	'A': {"TASKS", func(Job, time.Time) string { return "1" }},
	'b': {"TRES_PER_NODE", func(j Job, _ time.Time) string { return gres(j.GPUs) }},
	'i': {"STEPID", func(j Job, _ time.Time) string { return j.StepID() }},
	'j': {"NAME", func(Job, time.Time) string { return "batch" }},
	'l': {"TIME_LIMIT", func(j Job, _ time.Time) string { return Limit(j.TimeLimit, Duration) }},
	'M': {"TIME", func(j Job, now time.Time) string { return Duration(j.Elapsed(now)) }},
	'N': {"NODELIST", func(j Job, _ time.Time) string { return j.Node }},
	'P': {"PARTITION", func(j Job, _ time.Time) string { return j.Partition }},
	'S': {"START_TIME", func(j Job, _ time.Time) string { return startTime(j) }},
	'u': {"USER", func(j Job, _ time.Time) string { return j.User }},
	'U': {"UID", func(j Job, _ time.Time) string { return strconv.Itoa(j.UID) }},
}

// StepID is the id of a job's batch step: "12.batch", "12_3.batch".
func (j Job) StepID() string { return j.JobID() + ".batch" }

// ParseSqueueFields reads squeue's -O list: NAME[:[.]WIDTH] separated by
// commas; a field is 20 wide and left-justified unless told, and followed
// by nothing (its width pads it), as squeue does.
func ParseSqueueFields(s string) (Format, error) {
	var f Format
	for item := range strings.SplitSeq(s, ",") {
		name, w, hasW := strings.Cut(item, ":")
		letter, ok := squeueNames[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("-O %q: %q is not a field burst prints: use %s", s, name, names())
		}
		sf := squeueFields[letter]
		c := column{field: &sf, width: 20}
		if hasW {
			var err error
			if c.width, c.right, err = fieldWidth(s, w, "jobid:10"); err != nil {
				return nil, err
			}
		}
		f = append(f, c)
	}
	return f, nil
}

// Squeue writes jobs in format f, after a header line unless noHeader.
func Squeue(w io.Writer, jobs []Job, f Format, noHeader bool, now time.Time) error {
	var b strings.Builder
	if !noHeader {
		f.line(&b, func(c column) string { return c.field.header })
	}
	for _, j := range jobs {
		f.line(&b, func(c column) string { return c.field.value(j, now) })
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f Format) line(b *strings.Builder, value func(column) string) {
	for _, c := range f {
		if c.field == nil {
			b.WriteString(c.text)
			continue
		}
		b.WriteString(pad(value(c), c.width, c.right))
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

func letters(fields map[byte]squeueField) string {
	var l []string
	for c := range fields {
		l = append(l, "%"+string(c))
	}
	return sortedList(l)
}

func names() string {
	var l []string
	for n := range squeueNames {
		l = append(l, n)
	}
	return sortedList(l)
}

// nodeOrReason is %R, as squeue's manual has it: "(Reason)" for a job
// pending, failed, out of memory or timed out; for the others (running,
// completed, cancelled) the nodes it was given, "" for one cancelled before
// it ran.
func nodeOrReason(j Job) string {
	switch j.State {
	case burst.Queued, burst.Timeout, burst.Failed:
		// squeue: pending, timed out, out of memory or failed, the reason
		return "(" + j.pendingReason() + ")"
	}
	return j.Node // the others: the nodes it was given ("" if none)
}

// startTime is %S: when it started, or for a job pending for its begin
// time the earliest it may (its expected start); N/A otherwise.
func startTime(j Job) string {
	if j.Start.IsZero() && j.Deferred {
		return Date(j.Begin)
	}
	if j.Start.IsZero() {
		return "N/A"
	}
	return Date(j.Start)
}

// endTime is %e: when it ended, or for a running job with a time limit
// when it must end; N/A otherwise.
func endTime(j Job) string {
	switch {
	case !j.End.IsZero():
		return Date(j.End)
	case !j.Start.IsZero() && j.TimeLimit > 0:
		return Date(j.Start.Add(j.TimeLimit))
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
