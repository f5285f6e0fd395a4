package slurmface

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Expansions and compressions as Slurm 22.05's scontrol show hostnames,
// hostlist and hostlistsorted print them (run here against a slurm.conf).
func TestHostlist(t *testing.T) {
	for expr, want := range map[string]string{
		"c[1-3],d[08-10],e": "c1 c2 c3 d08 d09 d10 e",
		"r[1-2]-n[1-2]":     "r1-n1 r1-n2 r2-n1 r2-n2",
		"n[9-11]":           "n9 n10 n11",
		"a b":               "a b",
		"x[1,3-4]y":         "x1y x3y x4y",
		"node007":           "node007",
	} {
		got, err := ExpandHostlist(expr)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("ExpandHostlist(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	for _, bad := range []string{"a[3-1]", "a[1-", "a]", "a[x]", "a[1-99999999]", "a[-1]", "a[1-1000000]b[1-1000000]"} {
		if got, err := ExpandHostlist(bad); err == nil || !strings.HasPrefix(err.Error(), "Invalid hostlist: ") {
			t.Errorf("ExpandHostlist(%q) = %q, %v; want Invalid hostlist", bad, got, err)
		}
	}
	for in, want := range map[string]string{
		"c3,c1,c2,d08,d09,e": "c[3,1-2],d[08-09],e",
		"c1,c1,c2":           "c[1,1-2]",
		"n9,n10,n11,n011":    "n[9-11,011]",
		"x1,x2":              "x[1-2]",
		"c1,d1":              "c1,d1",
		"b2,a1,a2":           "b2,a[1-2]",
		"local-1":            "local-1",
	} {
		if got := CompressHostlist(strings.Split(in, ","), false); got != want {
			t.Errorf("CompressHostlist(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CompressHostlist([]string{"c3", "c1", "c2", "c1"}, true); got != "c[1-3]" {
		t.Errorf("sorted = %q, want c[1-3]", got)
	}
	// A file of hosts (a path holds a /), as scontrol and srun -w read one.
	f := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(f, []byte("c[1-2]\nd1,e1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := HostlistArg(f); err != nil || strings.Join(got, " ") != "c1 c2 d1 e1" {
		t.Errorf("HostlistArg(file) = %q, %v", got, err)
	}
	if _, err := HostlistArg(f + ".missing"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("HostlistArg(missing file) = %v, want no such file", err)
	}
	if got, err := HostlistArg("c[1-2]"); err != nil || len(got) != 2 {
		t.Errorf("HostlistArg(expression) = %q, %v", got, err)
	}
	// Round trip.
	hosts := []string{"gpu01", "gpu02", "gpu03", "cpu7", "cpu9", "login"}
	back, err := ExpandHostlist(CompressHostlist(hosts, false))
	if err != nil || !slices.Equal(back, hosts) {
		t.Errorf("round trip of %q: %q, %v", hosts, back, err)
	}
}

// TestShowEntity reads `scontrol show WORD` as scontrol 22.05 does (each
// checked with the suite's Slurm): a public script's `scontrol show
// hostname $SLURM_JOB_NODELIST` got burst's usage message and no host.
func TestShowEntity(t *testing.T) {
	for word, want := range map[string]string{
		"hostnames": "hostnames", "hostname": "hostnames", "hostn": "hostnames", "HostNames": "hostnames", "hostnam": "hostnames",
		"host": "", "hos": "", "hostnamesx": "",
		"hostlist": "hostlist", "hostl": "hostlist", "HOSTLIST": "hostlist", "hostlists": "hostlistsorted", "hostlistsorted": "hostlistsorted",
		"job": "jobs", "jobs": "jobs", "j": "jobs", "jobid": "jobs", "Jobid": "jobs", "JOB": "jobs",
		"node": "nodes", "n": "nodes", "nodes": "nodes", "pa": "partitions", "partition": "partitions", "p": "",
		"config": "config", "c": "config", "conf": "config", "": "",
		"step": "steps", "st": "steps", "STEP": "steps", "steps": "steps", "s": "", "stepsx": "",
	} {
		if got := ShowEntity(word); got != want {
			t.Errorf("ShowEntity(%q) = %q, want %q", word, got, want)
		}
	}
}
