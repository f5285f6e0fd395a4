package provider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A node slurm.conf does not declare is refused before any slurmd runs:
// `burst slurm resume zz9 --cluster elastic` used to print "zz9 running",
// and the machine went lost a moment later, its slurmd having exited.
// scontrol is a stand-in on PATH that answers as Slurm 22.05's does
// ("Node zz9 not found", exit 1).
func TestSlurmNodesStartUnknownNode(t *testing.T) {
	bin := t.TempDir()
	stub := "#!/bin/sh\n[ \"$3\" = cl1 ] && { echo NodeName=cl1 State=IDLE+CLOUD+POWERED_DOWN; exit 0; }\necho \"Node $3 not found\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "scontrol"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	logs := filepath.Join(t.TempDir(), "logs")
	n := &SlurmNodes{}
	h, err := n.Start(context.Background(), Spec{ID: "zz9", Cluster: "elastic"}, Connect{LogDir: logs})
	if err == nil {
		n.Stop(context.Background(), h)
		t.Fatalf("Start of node zz9, which Slurm does not have: started (%+v); want it refused", h)
	}
	if want := "Slurm has no node zz9 (scontrol: Node zz9 not found)"; !strings.Contains(err.Error(), want) {
		t.Errorf("Start of node zz9: %v; want it to say %q", err, want)
	}
	if _, err := os.Stat(logs); err == nil {
		t.Errorf("Start of node zz9 made its log folder: a slurmd was started")
	}
}
