package slurmface

import (
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
			"cloud        up   infinite      2   idle c-1,c-2\n" +
			"cloud        up   infinite      1  alloc c-3\n"},
		{name: "-o %P: one line per partition", format: "%P", want: "PARTITION\nlocal*\ncloud\n"},
		{name: "per-node fields split", format: "%R %D %c %m %G", noHeader: true, want: "" +
			"local 1 4 8192 (null)\ncloud 2 2 4096 gpu:1\ncloud 1 2 4096 (null)\n"},
		{name: "-N", format: SinfoNodes, perNode: true, noHeader: true, want: "" +
			"local-1      1 local*       mix\nc-1      1 cloud       idle\nc-2      1 cloud       idle\nc-3      1 cloud      alloc\n"},
		{name: "widths cut", format: "%.3P|%T", noHeader: true, want: "loc|mixed\nclo|idle\nclo|allocated\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseSinfoFormat(tt.format)
			if err != nil {
				t.Fatal(err)
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
	if _, err := ParseSinfoFormat("%P %y"); err == nil || !strings.Contains(err.Error(), "%y") {
		t.Errorf("%%y: %v", err)
	}
	f, err := ParseSinfoFields("partition:8,nodes:.3")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	Sinfo(&b, nodes[:1], f, false, false)
	if want := "PARTITIONOD\nlocal*    1\n"; b.String() != want { // headers are cut to the width too, as sinfo does
		t.Errorf("-O: %q, want %q", b.String(), want)
	}
}
