package slurmface

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Node is one burst machine as sinfo shows a node.
type Node struct {
	Name      string
	Host      string // the host it runs on (scontrol's NodeHostName)
	Partition string // the burst cluster
	Default   bool   // the default cluster: sinfo stars its partition
	CPUs      int
	UsedCPUs  int
	MemBytes  int64
	UsedMem   int64 // what its tasks hold
	GPUs      int
	UsedGPUs  int       // what its tasks hold
	Started   time.Time // when the machine (and its agent) started: scontrol's BootTime and SlurmdStartTime
	LastBusy  time.Time // when its last task ended: scontrol's LastBusyTime (zero: not known)
	OS        string    // its kernel, uname's system, release and version: scontrol's OS= ("": not known)
	// Load is its load as its agent last read it: scontrol's CPULoad and
	// FreeMem (nil: N/A).
	Load *burst.HostLoad
	// Empty marks the line of a partition none of whose nodes is in the
	// states asked (sinfo -t): sinfo still lists it, with 0 nodes, state
	// n/a and no node list.
	Empty bool
}

// members are the nodes of a group (none for an Empty partition's).
func members(g []Node) []Node {
	if g[0].Empty {
		return nil
	}
	return g
}

// state is sinfo's %T of a node: idle, mixed or allocated (n/a for an
// Empty partition's line).
func (n Node) state() string {
	switch {
	case n.Empty:
		return "n/a"
	case n.CPUs > 0 && n.UsedCPUs >= n.CPUs:
		return "allocated"
	case n.UsedCPUs > 0:
		return "mixed"
	}
	return "idle"
}

// InStates says whether the node is in one of the states of set (from
// NodeStates).
func (n Node) InStates(set map[string]bool) bool {
	return set[n.state()] || set[n.compactState()]
}

// nodeStates are the node states sinfo -t takes (sinfo(1)), in lower case.
var nodeStates = []string{"alloc", "allocated", "cloud", "comp", "completing", "down", "drain", "drained",
	"draining", "fail", "future", "futr", "idle", "maint", "mix", "mixed", "no_respond", "npc", "perfctrs",
	"planned", "power_down", "powering_down", "powered_down", "powering_up", "reboot_issued",
	"reboot_requested", "resv", "reserved", "unk", "unknown"}

// NodeStates reads sinfo -t's comma list of node states (nil when empty);
// a state sinfo does not know is refused, naming the ones it does.
func NodeStates(list string) (map[string]bool, error) {
	if list == "" {
		return nil, nil
	}
	set := map[string]bool{}
	for item := range strings.SplitSeq(strings.ToLower(list), ",") {
		if item == "all" {
			for _, s := range nodeStates {
				set[s] = true
			}
			continue
		}
		if !slices.Contains(nodeStates, item) {
			return nil, fmt.Errorf("Bad state string: %q\nsinfo: error: valid states: %s", item, strings.Join(nodeStates, ","))
		}
		set[item] = true
	}
	return set, nil
}

// compactState is %t: sinfo's short form of %T.
func (n Node) compactState() string {
	return map[string]string{"allocated": "alloc", "mixed": "mix", "idle": "idle", "n/a": "n/a"}[n.state()]
}

// sinfo's formats (sinfo(1)), as 22.05 prints them: the default, -N's,
// -s's, -l's and -N -l's. A "#" width is the longest value's, at least 9
// (sinfo(1) documents "%#P" for -N, 22.05 right-justifies it).
const (
	DefaultSinfo   = "%#P %.5a %.10l %.6D %.6t %N"
	SinfoNodes     = "%#N %.6D %.#P %6t"
	SinfoSummarize = "%#P %.5a %.10l %.16F %N"
	SinfoLong      = "%#P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N"
	SinfoLongNodes = "%#N %.6D %.#P %.11T %4c %.8z %.6m %.8d %.6w %.8f %20E"
	SinfoReasons   = "%20E %9u %19H %N"
)

// minAutoWidth is the narrowest a "#" column is, as in sinfo.
const minAutoWidth = 9

// sinfoField is one of sinfo's %-letters. perNode fields split a
// partition's nodes into lines (nodes print together only when all of them
// have the same value); the others are the group's.
type sinfoField struct {
	header  string
	perNode bool
	value   func(g []Node) string
}

var sinfoFields = map[byte]sinfoField{
	'P': {"PARTITION", false, func(g []Node) string {
		if g[0].Default {
			return g[0].Partition + "*"
		}
		return g[0].Partition
	}},
	'R': {"PARTITION", false, func(g []Node) string { return g[0].Partition }},
	'a': {"AVAIL", false, func([]Node) string { return "up" }},
	'l': {"TIMELIMIT", false, func([]Node) string { return "infinite" }},
	'D': {"NODES", false, func(g []Node) string { return strconv.Itoa(len(members(g))) }},
	'N': {"NODELIST", false, func(g []Node) string {
		var names []string
		for _, n := range members(g) {
			names = append(names, n.Name)
		}
		return CompressHostlist(names, true)
	}},
	// %F: the nodes allocated (or mixed), idle, other and in all.
	'F': {"NODES(A/I/O/T)", false, func(g []Node) string {
		busy, all := allocated(g), len(members(g))
		return fmt.Sprintf("%d/%d/0/%d", busy, all-busy, all)
	}},
	// %A: the nodes allocated (or mixed) and idle; %C: the CPUs
	// allocated, idle, other and in all, as scripts read what is free.
	'A': {"NODES(A/I)", false, func(g []Node) string {
		busy := allocated(g)
		return fmt.Sprintf("%d/%d", busy, len(members(g))-busy)
	}},
	'C': {"CPUS(A/I/O/T)", false, func(g []Node) string {
		used, all := 0, 0
		for _, n := range g {
			used, all = used+min(n.UsedCPUs, n.CPUs), all+n.CPUs
		}
		return fmt.Sprintf("%d/%d/0/%d", used, all-used, all)
	}},
	// %e: the memory its tasks do not hold (MiB), the least to the most
	// of the group as sinfo gives a range; %O: no load is measured (N/A,
	// as sinfo prints a node that reported none).
	'e': {"FREE_MEM", false, func(g []Node) string { return memRange(g) }},
	'O': {"CPU_LOAD", false, func([]Node) string { return "N/A" }},
	'n': {"HOSTNAMES", false, func(g []Node) string { return hosts(g) }},
	'o': {"NODE_ADDR", false, func(g []Node) string { return hosts(g) }},
	'X': {"SOCKETS", true, func(g []Node) string { return strconv.Itoa(g[0].CPUs) }},
	'Y': {"CORES", true, func([]Node) string { return "1" }},
	'Z': {"THREADS", true, func([]Node) string { return "1" }},
	'v': {"VERSION", false, func([]Node) string { return Version }},
	'b': {"ACTIVE_FEATURES", true, func([]Node) string { return "(null)" }},
	'p': {"PRIO_TIER", false, func([]Node) string { return "1" }},
	'I': {"PRIO_JOB_FACTOR", false, func([]Node) string { return "1" }},
	'S': {"ALLOCNODES", false, func([]Node) string { return "all" }},
	'L': {"DEFAULTTIME", false, func([]Node) string { return "n/a" }},
	'M': {"PREEMPT_MODE", false, func([]Node) string { return "OFF" }},
	'B': {"MAX_CPUS_PER_NODE", false, func([]Node) string { return "UNLIMITED" }},
	's': {"JOB_SIZE", false, func([]Node) string { return "1-infinite" }},
	'r': {"ROOT", false, func([]Node) string { return "no" }},
	'h': {"OVERSUBS", false, func([]Node) string { return "NO" }},
	'g': {"GROUPS", false, func([]Node) string { return "all" }},
	// A machine's topology is not known: Slurm's own default for a node
	// of N CPUs declared without one, N sockets of one core.
	'z': {"S:C:T", true, func(g []Node) string {
		if g[0].Empty {
			return "0:0:0"
		}
		return strconv.Itoa(g[0].CPUs) + ":1:1"
	}},
	'd': {"TMP_DISK", true, func([]Node) string { return "0" }},
	'w': {"WEIGHT", true, func([]Node) string { return "1" }},
	'f': {"AVAIL_FEATURES", true, func([]Node) string { return "(null)" }},
	'E': {"REASON", true, func([]Node) string { return "none" }},
	'u': {"USER", true, func([]Node) string { return "Unknown" }},
	'H': {"TIMESTAMP", true, func([]Node) string { return "Unknown" }},
	't': {"STATE", true, func(g []Node) string { return g[0].compactState() }},
	'T': {"STATE", true, func(g []Node) string { return g[0].state() }},
	'c': {"CPUS", true, func(g []Node) string { return strconv.Itoa(g[0].CPUs) }},
	'm': {"MEMORY", true, func(g []Node) string { return strconv.FormatInt(g[0].MemBytes>>20, 10) }},
	// -O AllocMem, which has no %-letter: the memory the node's tasks
	// hold (MiB), a line for each value, as 22.05's sinfo groups it.
	allocMem: {"ALLOCMEM", true, func(g []Node) string { return strconv.FormatInt(g[0].UsedMem>>20, 10) }},
	// -O GresUsed: the GPUs its tasks hold, (null) on a node of none.
	gresUsed: {"GRES_USED", true, func(g []Node) string { return usedGres(g[0]) }},
	'G': {"GRES", true, func(g []Node) string {
		if g[0].GPUs > 0 {
			return "gpu:" + strconv.Itoa(g[0].GPUs)
		}
		return "(null)"
	}},
}

// allocMem is the key of sinfo -O's AllocMem in sinfoFields: no letter
// -o reads.
const allocMem = 0x01

// gresUsed is the key of sinfo -O's GresUsed: no letter either.
const gresUsed = 0x02

// usedGres is sinfo -O GresUsed of node n, as Slurm 22.05 writes it:
// "(null)" for a node with no GPUs (checked beside it), "gpu:0(IDX:N/A)"
// for one none of whose GPUs is held; for one whose tasks hold some,
// "gpu:N" (Slurm adds the held GPUs' indices, "(IDX:0-1)", which burst's
// listing of machines does not carry).
func usedGres(n Node) string {
	switch {
	case n.GPUs == 0:
		return "(null)"
	case n.UsedGPUs == 0:
		return "gpu:0(IDX:N/A)"
	}
	return "gpu:" + strconv.Itoa(n.UsedGPUs)
}

// sinfoNames are sinfo -O's names for the same fields.
var sinfoNames = map[string]byte{
	"partition": 'P', "partitionname": 'R', "available": 'a', "time": 'l', "timelimit": 'l', "nodes": 'D',
	"nodelist": 'N', "statecompact": 't', "statelong": 'T', "cpus": 'c', "memory": 'm', "gres": 'G',
	"nodeaiot": 'F', "size": 's', "root": 'r', "oversubscribe": 'h', "groups": 'g', "socketcorethread": 'z',
	"disk": 'd', "weight": 'w', "features": 'f', "reason": 'E', "nodeai": 'A', "cpusstate": 'C',
	"freemem": 'e', "cpusload": 'O', "nodehost": 'n', "nodeaddr": 'o', "sockets": 'X', "cores": 'Y',
	"threads": 'Z', "version": 'v', "features_act": 'b', "prioritytier": 'p', "priorityjobfactor": 'I',
	"allocnodes": 'S', "defaulttime": 'L', "preemptmode": 'M', "maxcpuspernode": 'B', "allocmem": allocMem,
	"gresused": gresUsed,
}

// Version is the Slurm release whose commands burst answers as.
const Version = "22.05.8"

// memRange is sinfo's %e of a group: the memory free on its nodes (MiB),
// "LEAST-MOST" when they differ.
func memRange(g []Node) string {
	free := func(n Node) int64 { return max(n.MemBytes-n.UsedMem, 0) >> 20 }
	lo, hi := least(g, free), -least(g, func(n Node) int64 { return -free(n) })
	if lo == hi {
		return strconv.FormatInt(lo, 10)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// hosts is sinfo's %n (and %o) of a group: its nodes' hosts, each once.
func hosts(g []Node) string {
	var hs []string
	for _, n := range members(g) {
		if !slices.Contains(hs, n.Host) {
			hs = append(hs, n.Host)
		}
	}
	return CompressHostlist(hs, false)
}

// SinfoFormat is a parsed sinfo format.
type SinfoFormat []fmtColumn

// ParseSinfoFormat reads sinfo's -o format: %[.][WIDTH]LETTER fields among
// literal text. A specification naming no field stays as written and is
// in bad (sinfo says "Invalid node format specification: X" of each and
// lists all the same).
func ParseSinfoFormat(s string) (f SinfoFormat, bad []string) {
	cols, bad := scanFormat(s, func(c byte) bool { _, ok := sinfoFields[c]; return ok })
	return SinfoFormat(cols), bad
}

// ParseSinfoFields reads sinfo's -O list: NAME[:[.][WIDTH][SUFFIX]]
// separated by commas (fieldSpec), 20 wide unless told (sinfo -O's
// default). A name that is no field is left out and in bad, as sinfo
// leaves it out.
func ParseSinfoFields(s string) (f SinfoFormat, bad []string) {
	for item := range strings.SplitSeq(s, ",") {
		name, w, hasW := strings.Cut(item, ":")
		letter, ok := sinfoNames[strings.ToLower(name)]
		if !ok {
			bad = append(bad, name)
			continue
		}
		c := fmtColumn{letter: letter, width: 20}
		var suffix string
		if hasW {
			c.width, c.right, suffix = fieldSpec(w)
		}
		f = append(f, c)
		if suffix != "" {
			f = append(f, fmtColumn{text: suffix})
		}
	}
	return f, bad
}

// fieldSpec reads what follows a -O field's colon as squeue and sinfo
// (Slurm 22.05's _parse_long_token) read it: '.' right-justifies, the
// digits after it are the width (none: 0, the whole value), and the rest
// is a suffix written after the field, in the header too
// ("JobArrayID:.19 ," is 19 wide, right-justified, then a space).
func fieldSpec(w string) (width int, right bool, suffix string) {
	if right = strings.HasPrefix(w, "."); right {
		w = w[1:]
	}
	digits := len(w) - len(strings.TrimLeft(w, "0123456789"))
	width, _ = strconv.Atoi(w[:digits])
	return width, right, w[digits:]
}

// Sinfo writes nodes (in the order given: partition by partition) in
// format f, after a header unless noHeader: per partition, one line for
// each set of nodes alike in every per-node field f shows (so by state with
// the default format), or with perNode one line per node.
func Sinfo(w io.Writer, nodes []Node, f SinfoFormat, noHeader, perNode bool) error {
	return SinfoSorted(w, nodes, f, noHeader, perNode, "")
}

// SinfoSorted is Sinfo with its lines in the order of sinfo's -S list
// (sortSpec; "" keeps the order given), as sinfo sorts them: each key a
// field's letter, after "+" (ascending, the default) or "-" (descending),
// "#P" the partitions in the order given; the first key decides first, and
// a letter sinfo does not sort by is ignored, as sinfo ignores it.
func SinfoSorted(w io.Writer, nodes []Node, f SinfoFormat, noHeader, perNode bool, sortSpec string) error {
	var b strings.Builder
	var groups [][]Node
	index := map[string]int{}
	for _, n := range nodes {
		key := n.Partition
		for _, c := range f {
			if sf, ok := sinfoFields[c.letter]; ok && sf.perNode {
				key += "\x00" + sf.value([]Node{n})
			}
		}
		if perNode {
			key += "\x00" + n.Name
		}
		if i, ok := index[key]; ok {
			groups[i] = append(groups[i], n)
			continue
		}
		index[key] = len(groups)
		groups = append(groups, []Node{n})
	}
	sortGroups(groups, sortSpec)
	f = slices.Clone(f)
	for i, c := range f {
		if c.auto {
			f[i].width = minAutoWidth
			for _, g := range groups {
				f[i].width = max(f[i].width, len(sinfoFields[c.letter].value(g)))
			}
		}
	}
	if !noHeader {
		fmtLine(&b, f, func(c fmtColumn) string { return sinfoFields[c.letter].header })
	}
	for _, g := range groups {
		fmtLine(&b, f, func(c fmtColumn) string { return sinfoFields[c.letter].value(g) })
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtColumn is one column of a %-format: literal text (letter 0), or a
// field with a width (0: as wide as its value) and a side.
type fmtColumn struct {
	text   string
	letter byte
	width  int
	right  bool
	auto   bool // "#": as wide as the longest value (sinfo)
}

// scanFormat reads a Slurm %-format (squeue -o, sinfo -o):
// %[.][WIDTH]LETTER fields ('.' right-justifies) among literal text, "%%"
// a percent sign; known says which letters are fields. As Slurm's
// commands, it takes a specification whose letter names no field as text,
// as written ("%-12T" stays "%-12T": '-' is no letter), and returns each
// such letter in bad for the command to name; a '%' that ends the format
// is dropped, named as "" in bad; one whose field the format's end cuts
// short stays as text.
func scanFormat(s string, known func(byte) bool) (f []fmtColumn, bad []string) {
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		c := fmtColumn{}
		pct := i
		i++
		if i >= len(s) {
			bad = append(bad, "")
			break
		}
		if s[i] == '.' {
			c.right = true
			i++
		}
		if i < len(s) && s[i] == '#' {
			c.auto = true
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		c.width, _ = strconv.Atoi(s[start:i])
		if i >= len(s) {
			lit.WriteString(s[pct:])
			break
		}
		if !known(s[i]) {
			lit.WriteString(s[pct : i+1])
			bad = append(bad, s[i:i+1])
			continue
		}
		if lit.Len() > 0 {
			f = append(f, fmtColumn{text: lit.String()})
			lit.Reset()
		}
		c.letter = s[i]
		f = append(f, c)
	}
	if lit.Len() > 0 {
		f = append(f, fmtColumn{text: lit.String()})
	}
	return f, bad
}

// fmtLine writes one line of columns, each field's value fitted to its
// width (pad).
func fmtLine(b *strings.Builder, f []fmtColumn, value func(fmtColumn) string) {
	for _, c := range f {
		if c.letter == 0 {
			b.WriteString(c.text)
			continue
		}
		b.WriteString(pad(value(c), c.width, c.right))
	}
	b.WriteByte('\n')
}

// sinfoSortKeys are what sinfo's -S letters compare, for the fields burst
// has (the others are the same for every line here, and sort nothing).
var sinfoSortKeys = map[byte]func(a, b []Node) int{
	'P': func(a, b []Node) int { return strings.Compare(a[0].Partition, b[0].Partition) },
	'c': func(a, b []Node) int { return cmp.Compare(least(a, Node.cpus), least(b, Node.cpus)) },
	'm': func(a, b []Node) int { return cmp.Compare(least(a, Node.mem), least(b, Node.mem)) },
	'D': func(a, b []Node) int { return cmp.Compare(len(a), len(b)) },
	'A': func(a, b []Node) int { return cmp.Compare(allocated(a), allocated(b)) },
	'F': func(a, b []Node) int { return cmp.Compare(allocated(a), allocated(b)) },
	'N': func(a, b []Node) int { return compareHostnames(lowestName(a), lowestName(b)) },
	'n': func(a, b []Node) int { return compareHostnames(lowestName(a), lowestName(b)) },
	't': func(a, b []Node) int { return cmp.Compare(stateRank(a[0]), stateRank(b[0])) },
	'T': func(a, b []Node) int { return cmp.Compare(stateRank(a[0]), stateRank(b[0])) },
}

// sortGroups orders sinfo's lines by spec, as sinfo applies it: from the
// last key to the first, each sort stable.
func sortGroups(groups [][]Node, spec string) {
	order := map[string]int{} // "#P": the partitions as given
	for _, g := range groups {
		if _, ok := order[g[0].Partition]; !ok {
			order[g[0].Partition] = len(order)
		}
	}
	for i := len(spec) - 1; i >= 0; i-- {
		c := spec[i]
		if c == ',' || c == '#' || c == '+' || c == '-' {
			continue
		}
		key := sinfoSortKeys[c]
		if c == 'P' && i > 0 && spec[i-1] == '#' {
			key = func(a, b []Node) int { return cmp.Compare(order[a[0].Partition], order[b[0].Partition]) }
		}
		if key == nil {
			continue
		}
		desc := i > 0 && spec[i-1] == '-'
		slices.SortStableFunc(groups, func(a, b []Node) int {
			if desc {
				return key(b, a)
			}
			return key(a, b)
		})
	}
}

// A line of several nodes compares by its least CPUs and memory (sinfo's
// min_cpus, min_mem) and by its lowest name (the first of its sorted
// hostlist).
func (n Node) cpus() int64 { return int64(n.CPUs) }
func (n Node) mem() int64  { return n.MemBytes }

func least(g []Node, f func(Node) int64) int64 {
	v := f(g[0])
	for _, n := range g[1:] {
		v = min(v, f(n))
	}
	return v
}

func lowestName(g []Node) string {
	name := g[0].Name
	for _, n := range g[1:] {
		if compareHostnames(n.Name, name) < 0 {
			name = n.Name
		}
	}
	return name
}

// allocated counts the nodes of g that run work (%F's A).
func allocated(g []Node) int {
	n := 0
	for _, x := range g {
		if x.UsedCPUs > 0 {
			n++
		}
	}
	return n
}

// stateRank is a node's state in Slurm's order of node states (idle
// before allocated before mixed), which sinfo's "t" sorts by.
func stateRank(n Node) int {
	switch n.compactState() {
	case "idle":
		return 2
	case "alloc":
		return 3
	default:
		return 5 // mix
	}
}

// compareHostnames compares two names as sinfo does: at their first
// difference, numerically where both have a digit there ("node2" before
// "node10"), else as strings.
func compareHostnames(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		if isDigit(a[i]) && isDigit(b[i]) {
			return cmp.Compare(leadingInt(a[i:]), leadingInt(b[i:]))
		}
		return strings.Compare(a, b)
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// leadingInt is the number s begins with.
func leadingInt(s string) int {
	n := 0
	for i := 0; i < len(s) && isDigit(s[i]) && n < 1<<40; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
