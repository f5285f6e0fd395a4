package slurmface

import (
	"slices"
	"strings"
	"testing"
)

func TestSinfo(t *testing.T) {
	nodes := []Node{
		{Name: "local-1", Partition: "local", Default: true, CPUs: 4, UsedCPUs: 1, MemBytes: 8 << 30},
		{Name: "c-1", Partition: "cloud", CPUs: 2, MemBytes: 4 << 30, GPUs: 1},
		{Name: "c-2", Partition: "cloud", CPUs: 2, MemBytes: 4 << 30, GPUs: 1},
		{Name: "c-3", Partition: "cloud", CPUs: 2, UsedCPUs: 2, MemBytes: 4 << 30},
	}
	tests := []struct {
		name, format string
		noHeader     bool
		perNode      bool
		want         string
	}{
		{name: "default: a line per partition and state", format: DefaultSinfo, want: "" +
			"PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n" +
			"local*       up   infinite      1    mix local-1\n" +
			"cloud        up   infinite      2   idle c-[1-2]\n" +
			"cloud        up   infinite      1  alloc c-3\n"},
		{name: "-o %P: one line per partition", format: "%P", want: "PARTITION\nlocal*\ncloud\n"},
		{name: "per-node fields split", format: "%R %D %c %m %G", noHeader: true, want: "" +
			"local 1 4 8192 (null)\ncloud 2 2 4096 gpu:1\ncloud 1 2 4096 (null)\n"},
		{name: "-N", format: SinfoNodes, perNode: true, noHeader: true, want: "" +
			"local-1        1    local* mix   \n" +
			"c-1            1     cloud idle  \n" +
			"c-2            1     cloud idle  \n" +
			"c-3            1     cloud alloc \n"},
		{name: "-s: a line per partition, nodes allocated/idle/other/total", format: SinfoSummarize, want: "" +
			"PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST\n" +
			"local*       up   infinite          1/0/0/1 local-1\n" +
			"cloud        up   infinite          1/2/0/3 c-[1-3]\n"},
		{name: "-l", format: SinfoLong, want: "" +
			"PARTITION AVAIL  TIMELIMIT   JOB_SIZE ROOT OVERSUBS     GROUPS  NODES       STATE NODELIST\n" +
			"local*       up   infinite 1-infinite   no       NO        all      1       mixed local-1\n" +
			"cloud        up   infinite 1-infinite   no       NO        all      2        idle c-[1-2]\n" +
			"cloud        up   infinite 1-infinite   no       NO        all      1   allocated c-3\n"},
		{name: "-N -l", format: SinfoLongNodes, perNode: true, want: "" +
			"NODELIST   NODES PARTITION       STATE CPUS    S:C:T MEMORY TMP_DISK WEIGHT AVAIL_FE REASON              \n" +
			"local-1        1    local*       mixed 4       4:1:1   8192        0      1   (null) none                \n" +
			"c-1            1     cloud        idle 2       2:1:1   4096        0      1   (null) none                \n" +
			"c-2            1     cloud        idle 2       2:1:1   4096        0      1   (null) none                \n" +
			"c-3            1     cloud   allocated 2       2:1:1   4096        0      1   (null) none                \n"},
		{name: "CPUs and nodes in use, free memory, as scripts read them", format: "%P %C %A %e %O %X:%Y:%Z %v", noHeader: true, want: "" +
			"local* 1/3/0/4 1/0 8192 N/A 4:1:1 22.05.8\n" +
			"cloud 2/4/0/6 1/2 4096 N/A 2:1:1 22.05.8\n"},
		{name: "widths cut", format: "%.3P|%T", noHeader: true, want: "loc|mixed\nclo|idle\nclo|allocated\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, bad := ParseSinfoFormat(tt.format)
			if bad != nil {
				t.Fatal(bad)
			}
			var b strings.Builder
			if err := Sinfo(&b, nodes, f, tt.noHeader, tt.perNode); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
	// A "#" column is as wide as its longest value (at least 9).
	f, bad := ParseSinfoFormat(DefaultSinfo)
	if bad != nil {
		t.Fatal(bad)
	}
	var long strings.Builder
	Sinfo(&long, []Node{{Name: "g-1", Partition: "interactive-gpu", CPUs: 2}, nodes[0]}, f, false, false)
	if want := "" +
		"PARTITION       AVAIL  TIMELIMIT  NODES  STATE NODELIST\n" +
		"interactive-gpu    up   infinite      1   idle g-1\n" +
		"local*             up   infinite      1    mix local-1\n"; long.String() != want {
		t.Errorf("a long partition name:\n%s\nwant\n%s", long.String(), want)
	}
	// A partition none of whose nodes is in -t's states: its line, 0 nodes,
	// n/a, no node list, as 22.05's sinfo -t drain prints it.
	f, _ = ParseSinfoFormat(DefaultSinfo + "|%F|%C|%A|%z")
	var empty strings.Builder
	Sinfo(&empty, []Node{{Partition: "local", Default: true, Empty: true}}, f, true, false)
	if want := "local*       up   infinite      0    n/a |0/0/0/0|0/0/0/0|0/0|0:0:0\n"; empty.String() != want {
		t.Errorf("an empty partition's line: got %q, want %q", empty.String(), want)
	}
	// -O's names for them; free memory over nodes that differ is a range.
	f, bad = ParseSinfoFields("cpusstate:8,nodeai:5,freemem")
	if bad != nil {
		t.Fatal(bad)
	}
	var free strings.Builder
	busy := nodes[3]
	busy.UsedMem = 3 << 30
	Sinfo(&free, []Node{nodes[1], busy}, f, true, false)
	if want := "2/2/0/4 1/1  1024-4096           \n"; free.String() != want {
		t.Errorf("-O cpusstate,nodeai,freemem: got %q, want %q", free.String(), want)
	}
	// A letter that is no field stays as written and is named, as sinfo
	// says "Invalid node format specification: y" and lists all the same.
	f, bad = ParseSinfoFormat("%P %y|%-5a|%")
	var b strings.Builder
	Sinfo(&b, nodes[:1], f, true, false)
	if want := "local* %y|%-5a|\n"; b.String() != want || !slices.Equal(bad, []string{"y", "-", ""}) {
		t.Errorf("%%y, %%-5a, a last %%: %q, bad %q; want %q, bad [y - \"\"]", b.String(), bad, want)
	}
	f, bad = ParseSinfoFields("partition:8,bogus,nodes:.3")
	if !slices.Equal(bad, []string{"bogus"}) {
		t.Fatal(bad)
	}
	b.Reset()
	Sinfo(&b, nodes[:1], f, false, false)
	if want := "PARTITIONOD\nlocal*    1\n"; b.String() != want { // headers are cut to the width too, as sinfo does
		t.Errorf("-O: %q, want %q", b.String(), want)
	}
}

func TestNodeStates(t *testing.T) {
	set, err := NodeStates("IDLE,mix")
	if err != nil {
		t.Fatal(err)
	}
	idle, mixed, full := Node{CPUs: 2}, Node{CPUs: 2, UsedCPUs: 1}, Node{CPUs: 2, UsedCPUs: 2}
	if !idle.InStates(set) || !mixed.InStates(set) || full.InStates(set) {
		t.Errorf("-t IDLE,mix: idle %v, mixed %v, allocated %v", idle.InStates(set), mixed.InStates(set), full.InStates(set))
	}
	if set, _ := NodeStates("allocated"); !full.InStates(set) || mixed.InStates(set) {
		t.Errorf("-t allocated")
	}
	if set, _ := NodeStates(""); set != nil {
		t.Errorf("no -t: %v, want nil (every node)", set)
	}
	if _, err := NodeStates("idle,sleepy"); err == nil || !strings.Contains(err.Error(), `Bad state string: "sleepy"`) ||
		!strings.Contains(err.Error(), "valid states: ") {
		t.Errorf("-t sleepy: %v", err)
	}
}

// sinfo -S: the first key decides first, "-" descends, "#P" keeps the
// partitions as given, names compare numerically where both have a digit
// (node2 before node10), and letters sinfo does not sort by are ignored.
func TestSinfoSort(t *testing.T) {
	nodes := []Node{
		{Name: "b-10", Partition: "zeta", CPUs: 4},
		{Name: "b-2", Partition: "zeta", CPUs: 8, UsedCPUs: 8},
		{Name: "a-1", Partition: "alpha", CPUs: 2, UsedCPUs: 1},
		{Name: "a-3", Partition: "alpha", CPUs: 16},
	}
	f, _ := ParseSinfoFormat("%N")
	for _, tt := range []struct{ spec, want string }{
		{"", "b-10 b-2 a-1 a-3"},
		{"N", "a-1 a-3 b-2 b-10"},
		{"-N", "b-10 b-2 a-3 a-1"},
		{"-c", "a-3 b-2 b-10 a-1"},
		{"P,-c", "a-3 a-1 b-2 b-10"},
		{"#P,c", "b-10 b-2 a-1 a-3"},
		{"t,N", "a-3 b-10 b-2 a-1"}, // idle, then allocated, then mixed
		{"x,+N", "a-1 a-3 b-2 b-10"},
	} {
		var b strings.Builder
		if err := SinfoSorted(&b, nodes, f, true, true, tt.spec); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(strings.Fields(b.String()), " "); got != tt.want {
			t.Errorf("-S %q: %s, want %s", tt.spec, got, tt.want)
		}
	}
}

// Without -N a line holds several nodes: it sorts by its lowest name (the
// hostlist sorted, numbers as numbers) and its least CPUs, as sinfo's
// sort.c compares them.
func TestSinfoSortGroups(t *testing.T) {
	nodes := []Node{
		{Name: "b-10", Partition: "p", CPUs: 4},
		{Name: "b-2", Partition: "p", CPUs: 4},
		{Name: "b-3", Partition: "q", CPUs: 8},
		{Name: "b-11", Partition: "q", CPUs: 2, UsedCPUs: 2},
	}
	f, _ := ParseSinfoFormat("%R %t %N")
	for _, tt := range []struct{ spec, want string }{
		{"N", "p idle b-[2,10] q idle b-3 q alloc b-11"},
		{"-N", "q alloc b-11 q idle b-3 p idle b-[2,10]"},
		{"c", "q alloc b-11 p idle b-[2,10] q idle b-3"},
	} {
		var b strings.Builder
		if err := SinfoSorted(&b, nodes, f, true, false, tt.spec); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(strings.Fields(b.String()), " "); got != tt.want {
			t.Errorf("-S %q: %s, want %s", tt.spec, got, tt.want)
		}
	}
}

// sinfo -O AllocMem: the memory the nodes' tasks hold, in MiB, a line for
// each value, as the suite's Slurm 22.05 printed `sinfo -O
// AllocMem,Partition,StateLong` with a node holding jobs of 300 and 100
// MiB ("ALLOCMEM            PARTITION ...", "400 ... allocated", "0 ...
// idle"). burst refused the field ("Invalid job format specification:
// AllocMem") and left the column out.
func TestSinfoAllocMem(t *testing.T) {
	f, bad := ParseSinfoFields("AllocMem,Partition,StateLong")
	if bad != nil {
		t.Fatal(bad)
	}
	busy := Node{Name: "local-1", Partition: "local", Default: true, CPUs: 2, UsedCPUs: 2, MemBytes: 2000 << 20, UsedMem: 400 << 20}
	idle := Node{Name: "local-2", Partition: "local", Default: true, CPUs: 2, MemBytes: 2000 << 20}
	var b strings.Builder
	Sinfo(&b, []Node{busy, idle}, f, false, false)
	want := "ALLOCMEM            PARTITION           STATE               \n" +
		"400                 local*              allocated           \n" +
		"0                   local*              idle                \n"
	if b.String() != want {
		t.Errorf("-O AllocMem,Partition,StateLong:\n%s\nwant\n%s", b.String(), want)
	}
}

// sinfo -O GresUsed: what GRES the nodes' tasks hold, as the suite's Slurm
// 22.05 printed `sinfo -O GresUsed` on nodes of no GPUs ("GRES_USED",
// then "(null)", 20 wide). burst refused the field ("Invalid job format
// specification: GresUsed").
func TestSinfoGresUsed(t *testing.T) {
	f, bad := ParseSinfoFields("GresUsed")
	if bad != nil {
		t.Fatal(bad)
	}
	var b strings.Builder
	Sinfo(&b, []Node{{Name: "local-1", Partition: "local", Default: true, CPUs: 2, MemBytes: 2000 << 20}}, f, false, false)
	if want := "GRES_USED           \n(null)              \n"; b.String() != want {
		t.Errorf("-O GresUsed:\n%q\nwant\n%q", b.String(), want)
	}
	for _, tt := range []struct {
		n    Node
		want string
	}{{Node{GPUs: 2}, "gpu:0(IDX:N/A)"}, {Node{GPUs: 2, UsedGPUs: 1}, "gpu:1"}} {
		if got := usedGres(tt.n); got != tt.want {
			t.Errorf("GresUsed of %+v: %q, want %q", tt.n, got, tt.want)
		}
	}
}
