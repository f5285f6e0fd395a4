package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// slurmPilotsJoin: a server that listens on the test hosts' bridge
// address (10.251.0.1, TLS with its own CA; the suite's Slurm nodes run on
// this host and reach it there) starts Slurm pilots that join as any
// machine does: each with a one-time join token minted for its own name,
// exchanged for a machine credential of that machine, kept in the pilot's
// own state file. The pilot script holds no home token and no join URL;
// the map's output is right; revoking a pilot ends it, and its Slurm job
// is cancelled as for any lost pilot.
func slurmPilotsJoin(t *testing.T) {
	h := startHostServerWith(t, func(h *harness) { needSlurm(t, h) }) // the server runs sbatch: it needs SLURM_CONF
	if addr := h.serverInfo().Addr; !strings.HasPrefix(addr, "https://"+hostGateway+":") {
		t.Fatalf("the server should serve TLS on the bridge: %s", addr)
	}
	h.createHPC()
	id := jobIDFromStdout(t, h.mustRun("map", "-d", "--on", "hpc", "--", "sh", "-c", "sleep 1; echo out-$0", ":::", "1", "2", "3", "4"))
	h.mustRun("wait", idArg(id))
	if j := h.show(id); j.State != "succeeded" {
		t.Fatalf("map on joined pilots: %+v", j)
	}
	out := h.mustRun("results", idArg(id)).stdout
	for _, k := range []string{"1", "2", "3", "4"} {
		if !strings.Contains(out, "out-"+k+"\n") {
			t.Errorf("results lack out-%s:\n%s", k, out)
		}
	}

	homeToken, err := os.ReadFile(filepath.Join(h.home, "token"))
	if err != nil || len(strings.TrimSpace(string(homeToken))) == 0 {
		t.Fatalf("the home's token: %v", err)
	}
	secret := strings.TrimSpace(string(homeToken))
	pilots := filepath.Join(h.home, "pilots")
	if st, err := os.Stat(pilots); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the pilots' directory: %v %v, want 0700", st, err)
	}
	ms := h.machines("hpc")
	if len(ms) == 0 {
		t.Fatal("no pilot machine listed")
	}
	used := map[string]bool{}
	for _, tok := range decodeJSON[[]client.JoinTokenInfo](t, h.mustRun("join-token", "list", "-o", "json")) {
		if tok.Cluster == "hpc" && tok.Used != nil {
			used[tok.UsedBy] = true
		}
	}
	for _, m := range ms {
		// The machine joined under the name burst gave it, with a
		// token minted for it (not hpc-1-2 beside a pending hpc-1).
		if !used[m.ID] {
			t.Errorf("machine %s joined with no token of its own: tokens used by %v", m.ID, used)
		}
		script, err := os.ReadFile(filepath.Join(pilots, m.ID+".sbatch"))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{secret, "--token-file", client.JoinTokenPrefix, "--server"} {
			if strings.Contains(string(script), bad) {
				t.Errorf("pilot script of %s holds %q:\n%s", m.ID, bad, script)
			}
		}
		if !strings.Contains(string(script), "--join-file") {
			t.Errorf("pilot script of %s does not join:\n%s", m.ID, script)
		}
		join := filepath.Join(pilots, m.ID+".join")
		if st, err := os.Stat(join); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("join file of %s: %v %v, want 0600", m.ID, st, err)
		}
		b, err := os.ReadFile(filepath.Join(pilots, m.ID+".joined.json"))
		if err != nil {
			t.Fatalf("pilot %s kept no state of its own: %v", m.ID, err)
		}
		var st struct {
			Servers []struct{ Machine, Cluster, Credential string }
		}
		if err := json.Unmarshal(b, &st); err != nil || len(st.Servers) != 1 {
			t.Fatalf("state of %s: %s %v", m.ID, b, err)
		}
		s := st.Servers[0]
		if s.Machine != m.ID || s.Cluster != "hpc" || !strings.HasPrefix(s.Credential, client.MachineCredentialPrefix) {
			t.Errorf("pilot %s serves as %s of %s with a credential %.9s..., want its own machine credential", m.ID, s.Machine, s.Cluster, s.Credential)
		}
		log, _ := os.ReadFile(filepath.Join(pilots, m.ID+".log"))
		if strings.Contains(string(log), client.JoinTokenPrefix) || strings.Contains(string(log), secret) {
			t.Errorf("pilot log of %s shows a secret:\n%s", m.ID, log)
		}
	}
	if _, err := os.Stat(filepath.Join(h.home, "joined.json")); err == nil {
		t.Error("a pilot kept its credential in the shared home's joined.json")
	}

	// Revoke a pilot while a task runs there: its agent exits, the machine
	// is lost (the task requeued), and its Slurm job is cancelled.
	h.waitIdleCluster("hpc", 60*time.Second)
	gate, count := filepath.Join(h.root, "go"), filepath.Join(h.root, "count")
	long := h.submit("--on", "hpc", "--", "sh", "-c", "echo run >> "+count+"; while [ ! -e "+gate+" ]; do sleep 0.1; done; echo done")
	h.waitFor("the task to start on a pilot", 90*time.Second, func() bool { b, _ := os.ReadFile(count); return len(b) > 0 })
	lj := h.show(long)
	m := lj.task0(t).Machine
	var job string
	for _, x := range h.machines("hpc") {
		if x.ID == m {
			job = pilotJob(x)
		}
	}
	if job == "" {
		t.Fatalf("machine %s of the task is not a listed pilot", m)
	}
	if r := h.mustRun("machine", "revoke", m); !strings.Contains(r.stdout, "credential revoked") {
		t.Fatalf("machine revoke:\n%s", r)
	}
	h.waitFor("the revoked pilot's Slurm job "+job+" to end", 60*time.Second, func() bool {
		st := slurmJobs(t)[job]
		return !strings.HasPrefix(st, "RUNNING") && !strings.HasPrefix(st, "PENDING") && !strings.HasPrefix(st, "COMPLETING")
	})
	// The autoscaler may start the machine again for the requeued task: a
	// new Slurm job, whose pilot joins with a new token for that name
	// (pending, it may still name the old job until sbatch answers).
	for _, x := range h.machines("hpc") {
		if x.ID == m && pilotJob(x) == job && x.State != burst.MachineLost && x.State != burst.MachineStopped && x.State != burst.MachinePending {
			t.Errorf("revoked pilot %s is %s on its old Slurm job %s", m, x.State, job)
		}
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.mustRun("wait", idArg(long))
	lj = h.show(long)
	runs, _ := os.ReadFile(count)
	if lj.State != "succeeded" || strings.Count(string(runs), "run") != 2 {
		t.Errorf("the revoked pilot's task: %+v, ran %q", lj, runs)
	}
	recordFault(t, faultRow{Fault: "Slurm pilot revoked under a task", Tasks: 1,
		Lost: boolInt(lj.State != "succeeded"), Duplicated: max(0, strings.Count(string(runs), "run")-2)})
}
