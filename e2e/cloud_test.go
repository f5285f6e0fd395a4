package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/ec2standin"
)

// Burst to the cloud, end to end: a map with staged inputs and outputs
// runs on a spot cluster of the aws provider, whose instances the EC2
// stand-in (a test double: cmd/ec2-standin) launches as namespace hosts
// that run burst's user-data and join the server over TLS. One instance
// is interrupted mid-run; nothing is lost, nothing runs or is charged
// twice, and the budget adds up to the ledger. Once with the server's
// embedded blob store, once with a real MinIO that the agents reach
// directly.

// cloudTasks is the map's size; each m5.large (2 vCPUs) runs two at once.
const cloudTasks = 30

// cloudTierPrice is the test's price of the ssd tier (where inputs, outputs
// and logs are kept), in $ per GB-month: high enough that the few hundred
// KB the map keeps are charged whole nano-dollars at every meter tick.
const cloudTierPrice = 500000

func TestCloudMapSpot(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) { cloudMapSpot(t, false) })
	t.Run("minio", func(t *testing.T) { cloudMapSpot(t, true) })
}

func cloudMapSpot(t *testing.T, useMinIO bool) {
	var m *minioServer
	var standinArgs []string
	if useMinIO {
		// On the bridge, where the instances reach it. One key pair for
		// the server's AWS SDK (EC2) and its S3 client: the stand-in is
		// told to take MinIO's.
		m = startMinIO(t, hostGateway)
		cfg := filepath.Join(t.TempDir(), "standin.json")
		b, _ := json.Marshal(map[string]string{"access_key_id": m.AccessKey, "secret_access_key": m.SecretKey})
		writeFile(t, cfg, string(b), 0o600)
		standinArgs = []string{"--config", cfg}
	}
	s := startStandin(t, true, standinArgs...)
	h := awsServer(t, s, "", func(h *harness) {
		h.writePrices(fmt.Sprintf("tiers:\n  ssd: {per_gb_month: %d}\n", cloudTierPrice))
	})
	if useMinIO {
		h.mustRun("storage", "set", "s3://"+m.Bucket+"/lab", "--endpoint", m.Endpoint)
	}
	h.mustRun("cluster", "create", "c", "--provider", "aws", "--type", "m5.large", "--spot", "--max", "3",
		"--image", standinImage, "--idle-stop", "3s")

	// The data: a file per task, and a shared directory.
	big := make([]byte, 1<<20)
	rand.Read(big)
	bigSum := sha256.Sum256(big)
	stageFile(t, h.dir, "ref/a.txt", []byte("reference a\n"), 0o644)
	stageFile(t, h.dir, "ref/deep/big.bin", big, 0o644)
	var inputs []string
	want := map[string][]byte{} // output path → its bytes
	for i := range cloudTasks {
		in := fmt.Sprintf("in/%02d.txt", i)
		data := fmt.Appendf(nil, "sample %d\n", i)
		stageFile(t, h.dir, in, data, 0o644)
		inputs = append(inputs, in)
		want[fmt.Sprintf("out/%02d.out", i)] = fmt.Appendf(append(data, "reference a\n"...), "%s\n", hex.EncodeToString(bigSum[:]))
	}

	// Each run tells the witness where it runs and waits for the test to
	// let it end; then it writes its output from its staged inputs.
	w := newWitness(t)
	script := w.reportScript(`read -r code <&3 || exit 98
mkdir -p out
{ cat "$1" ref/a.txt; sha256sum ref/deep/big.bin | cut -c1-64; } > "out/$(basename "$1" .txt).out"
exit "$code"`)
	args := append([]string{"map", "-d", "--quiet", "--on", "c", "--cpus", "1", "--retries", "0",
		"--in", "ref", "--out", "out/*", "--", "bash", "-c", script, "_", "{}", ":::"}, inputs...)
	id := mustID(t, h.mustRun(args...).stdout)

	released := map[*witnessRun]bool{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- events:\n%s\n--- machines:\n%s\n--- jobs:\n%s", h.run("events", "--limit", "100").stdout, h.run("machine", "list").stdout,
				h.run("show", "--tasks", "30", idArg(id)).stdout)
			for _, r := range w.snapshot() {
				t.Logf("witness: %s ended %v released %v", r, r.hasEnded(), released[r])
			}
		}
	})
	held := func() []*witnessRun { return heldRuns(w, id, released) }
	hostsOf := func(rs []*witnessRun) []string {
		var hs []string
		for _, r := range rs {
			if !slices.Contains(hs, r.Host) {
				hs = append(hs, r.Host)
			}
		}
		slices.Sort(hs)
		return hs
	}
	// waitWave waits until six runs are held, two on each of three hosts.
	waitWave := func(what string, timeout time.Duration) []*witnessRun {
		var rs []*witnessRun
		h.waitFor(what, timeout, func() bool {
			rs = held()
			per := map[string]int{}
			for _, r := range rs {
				per[r.Host]++
			}
			return len(rs) == 6 && len(per) == 3 && per[rs[0].Host] == 2 && per[rs[1].Host] == 2 && per[rs[2].Host] == 2
		})
		return rs
	}
	start := time.Now()
	wave1 := waitWave("6 tasks to run on 3 new instances", 120*time.Second)
	t.Logf("map submitted → 3 spot instances launched, joined and running 6 tasks: %s", time.Since(start).Round(time.Millisecond))
	first := hostsOf(wave1)
	// Held a while, so that the map is not taken for one of short tasks
	// (under 1 s each on average), whose tasks the server queues ahead on
	// whichever machine frees first: the next wave spreads as this one.
	h.waitFor("the first 6 tasks to have run 1.5 s", 30*time.Second, func() bool {
		for _, tk := range h.tasks(id) {
			if tk.Attempt == 1 && tk.State == burst.Running && (tk.StartedAt == nil || time.Since(*tk.StartedAt) < 1500*time.Millisecond) {
				return false
			}
		}
		return true
	})
	for _, r := range wave1 {
		r.release(t, 0)
		released[r] = true
	}
	h.waitFor("the first 6 tasks to succeed", 30*time.Second, func() bool {
		return h.showTasks(id, cloudTasks).Tasks.Succeeded == 6
	})
	wave2 := waitWave("the next 6 tasks to run", 30*time.Second)
	if got := hostsOf(wave2); !slices.Equal(got, first) {
		t.Fatalf("the second wave runs on %v, the first ran on %v", got, first)
	}

	// Interrupt the instance of one host while it holds two tasks.
	victimHost := wave2[0].Host
	var victimRuns []*witnessRun
	for _, r := range wave2 {
		if r.Host == victimHost {
			victimRuns = append(victimRuns, r)
		}
	}
	ctx := context.Background()
	ins, err := s.Control.Instances(ctx)
	if err != nil || len(ins) != 3 {
		t.Fatalf("stand-in instances: %v %v, want 3", ins, err)
	}
	var victimIn ec2standin.InstanceInfo
	for _, in := range ins {
		if fmt.Sprintf("bh%d", in.Host) == victimHost {
			victimIn = in
		}
		if !in.Spot || in.Type != "m5.large" || in.Tags["burst:cluster"] != "c" {
			t.Errorf("instance %s: spot %v, type %s, tags %v; want a spot m5.large of cluster c", in.ID, in.Spot, in.Type, in.Tags)
		}
	}
	victim := victimIn.Tags["burst:machine"]
	if victim == "" {
		t.Fatalf("no instance runs on host %s: %+v", victimHost, ins)
	}
	notice, err := s.Control.Interrupt(ctx, victimIn.ID, 12*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	interrupted := time.Now()
	preempted := "attempt 1 preempted (spot interruption on " + victim + ")"
	h.waitFor("the victim's two tasks to be requeued as preempted", 30*time.Second, func() bool {
		n := 0
		for _, tk := range h.showTasks(id, cloudTasks).TaskList {
			if strings.Contains(tk.Reason, preempted) {
				n++
			}
		}
		return n == 2
	})
	t.Logf("spot interruption posted → both tasks of %s requeued: %s (the agent polls the metadata every 5 s)", victim, time.Since(interrupted).Round(time.Millisecond))
	var victimTasks []int
	for _, r := range victimRuns {
		victimTasks = append(victimTasks, r.Task)
		select { // never released: the cut attempt must not go on
		case <-r.ended:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s was preempted but still runs 30 s later", r)
		}
	}
	var replacement string
	h.waitFor("a replacement of "+victim+" to be started and to join", 60*time.Second, func() bool {
		asked := false
		for _, e := range h.events("") {
			asked = asked || (e.Kind == "machine.start" && strings.Contains(e.Message, "replacing "+victim+" (spot interruption) with spot"))
		}
		for _, ms := range h.machines("c") {
			if ms.State == burst.MachineRunning && !slices.Contains(first, hostOfMachine(s, t, ms.ID)) {
				replacement = ms.ID
			}
		}
		return asked && replacement != ""
	})

	// Let every other run end, the replacement's included.
	h.waitFor("the map to finish", 120*time.Second, func() bool {
		for _, r := range held() {
			if r.Host != victimHost {
				r.release(t, 0)
				released[r] = true
			}
		}
		return terminal(h.showTasks(id, 1).State)
	})

	// Every task succeeded once; the cut ones on their second attempt,
	// though --retries is 0, and say why.
	j := h.showTasks(id, cloudTasks)
	if j.State != "succeeded" || j.Tasks.Succeeded != cloudTasks || len(j.TaskList) != cloudTasks {
		t.Fatalf("job %d: %s, tasks %+v; want succeeded, %d of %d", id, j.State, j.Tasks, cloudTasks, cloudTasks)
	}
	ranOn := map[string]int{}
	for _, tk := range j.TaskList {
		ranOn[tk.Machine]++
		wantAttempt := 1
		if slices.Contains(victimTasks, tk.Index) {
			wantAttempt = 2
			if !strings.Contains(tk.Reason, preempted) || tk.Machine == victim {
				t.Errorf("task %d: on %s (%s); want it elsewhere, saying %q", tk.Index, tk.Machine, tk.Reason, preempted)
			}
		}
		if tk.State != "succeeded" || tk.Attempt != wantAttempt {
			t.Errorf("task %d: %s at attempt %d, want succeeded at attempt %d", tk.Index, tk.State, tk.Attempt, wantAttempt)
		}
	}
	if len(ranOn) < 3 || ranOn[victim] < 2 {
		t.Errorf("tasks succeeded on %v: want the three first instances (the interrupted %s with its first wave) and maybe the replacement", ranOn, victim)
	}
	runs := map[int]int{}
	for _, r := range w.runsOf(id) {
		runs[r.Task]++
	}
	for i := range cloudTasks {
		if n := runs[i]; n != 1 && !slices.Contains(victimTasks, i) || n != 2 && slices.Contains(victimTasks, i) {
			t.Errorf("task %d ran %d times", i, n)
		}
	}
	if out := h.mustRun("show", idArg(id)).stdout; !strings.Contains(out, "preempted (spot interruption on "+victim+")") {
		t.Errorf("burst show does not say the tasks were preempted:\n%s", out)
	}

	// The outputs, byte for byte, and nothing else.
	dir := filepath.Join(h.root, "results")
	h.mustRun("results", idArg(id), "--fetch", dir)
	var got []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, rel)
			if b, _ := os.ReadFile(p); !bytes.Equal(b, want[rel]) {
				t.Errorf("fetched %s: %q, want %q", rel, b, want[rel])
			}
		}
		return nil
	})
	if len(got) != cloudTasks {
		t.Errorf("results --fetch brought %d files, want %d: %v", len(got), cloudTasks, got)
	}

	// Where the bytes went.
	st := h.storage()
	var staged int64 = int64(len(big)) + int64(len("reference a\n"))
	for _, in := range inputs {
		fi, _ := os.Stat(filepath.Join(h.dir, in))
		staged += fi.Size()
	}
	if useMinIO {
		if st.Received != 0 {
			t.Errorf("the server took in %d blob bytes itself: with S3 storage, CLI and agents send them to MinIO", st.Received)
		}
		var keys []string
		for oi := range m.Client(t).ListObjects(ctx, m.Bucket, minio.ListObjectsOptions{Prefix: "lab/sha256/", Recursive: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			keys = append(keys, oi.Key)
		}
		for name, data := range map[string][]byte{"ref/deep/big.bin": big, "in/07.txt": []byte("sample 7\n"), "out/07.out": want["out/07.out"]} {
			sum := sha256.Sum256(data)
			hx := hex.EncodeToString(sum[:])
			if !slices.Contains(keys, "lab/sha256/"+hx[:2]+"/"+hx) {
				t.Errorf("%s (sha256:%s) is not in MinIO's bucket: %d objects", name, hx, len(keys))
			}
		}
	} else if st.Received < staged {
		t.Errorf("the embedded store took in %d bytes, less than the %d staged in", st.Received, staged)
	}

	// The money. The interrupted instance is stopped at its notice's time;
	// the others once idle past --idle-stop.
	h.waitIdleCluster("c", 90*time.Second)
	waitFor(t, "instance "+victimIn.ID+" to be terminated", 30*time.Second, func() bool {
		return s.instance(victimIn.ID).State == "terminated"
	})
	ms := h.machines("c")
	if len(ms) != 4 {
		t.Errorf("cluster c had %d machines, want 4 (3 and the replacement)", len(ms))
	}
	byMachine := h.costBy("machine")
	var machinesN int64
	for _, mc := range ms {
		if mc.StartedAt == nil || mc.StoppedAt == nil {
			t.Errorf("machine %s: started %v, stopped %v", mc.ID, mc.StartedAt, mc.StoppedAt)
			continue
		}
		up := mc.StoppedAt.Sub(*mc.StartedAt)
		// Charged once, from its start to its stop: each metered segment
		// (a tick of 200 ms, or a change of its tasks) is rounded to the
		// nano-dollar, so up to one per 100 ms and per task more or less.
		full := int64(cost.Accrue(mc.PriceUSDPerHour, up))
		slack := int64(up/(100*time.Millisecond)) + 4*cloudTasks
		if d := byMachine[mc.ID] - full; d > slack || d < -slack {
			t.Errorf("machine %s: charged %d n$ for %s up at $%g/h, which is %d n$", mc.ID, byMachine[mc.ID], up, mc.PriceUSDPerHour, full)
		}
		machinesN += byMachine[mc.ID]
		t.Logf("machine %s: up %s at $%g/h: charged %d n$, price × uptime %d n$", mc.ID, up.Round(time.Millisecond), mc.PriceUSDPerHour, byMachine[mc.ID], full)
	}
	for _, mc := range ms {
		if mc.ID == victim {
			if d := mc.StoppedAt.Sub(notice.Time); d < -time.Second || d > 3*time.Second {
				t.Errorf("%s stopped at %v; its notice's time was %v", victim, mc.StoppedAt, notice.Time)
			}
			if ended := s.instance(victimIn.ID).Ended; ended == nil || mc.StoppedAt.After(ended.Add(time.Second)) {
				t.Errorf("%s is charged until %v, its instance ended at %v", victim, mc.StoppedAt, ended)
			}
		}
	}
	kinds := h.costBy("kind")
	if kinds["task"] <= 0 || kinds["preemption"] <= 0 || kinds["storage:ssd"] <= 0 {
		t.Fatalf("the ledger by kind: %v; want tasks, preemption and storage on ssd charged", kinds)
	}
	// burst budget against the ledger, to the nano-dollar, from one read:
	// its parts (compute, idle, preemption, storage per tier) and the
	// ledger by kind that the server read at the same instant, though
	// storage goes on accruing every tick.
	b := decodeJSON[burst.BudgetReport](t, h.mustRun("budget", "default", "-o", "json"))
	if b.Ledger == nil {
		t.Fatalf("burst budget -o json carries no ledger: %+v", b)
	}
	ledger := map[string]int64{}
	var ledgerN int64
	for _, l := range b.Ledger.Lines {
		ledger[l.Key] += l.NUSD
		ledgerN += l.NUSD
	}
	if ledgerN != b.Ledger.TotalNUSD || b.Ledger.TotalNUSD != b.SpentNUSD {
		t.Errorf("burst budget: spent %d n$; its ledger's lines add up to %d, its total says %d", b.SpentNUSD, ledgerN, b.Ledger.TotalNUSD)
	}
	if b.TasksNUSD != ledger["task"] || b.IdleNUSD != ledger["idle"] || b.PreemptionNUSD != ledger["preemption"] {
		t.Errorf("burst budget: compute %d, idle %d, preemption %d n$; the ledger %v", b.TasksNUSD, b.IdleNUSD, b.PreemptionNUSD, ledger)
	}
	var storageN int64
	for _, l := range b.Storage {
		storageN += l.SpentNUSD
		if l.SpentNUSD != ledger["storage:"+l.Tier] {
			t.Errorf("burst budget: storage on %s %d n$, the ledger %d", l.Tier, l.SpentNUSD, ledger["storage:"+l.Tier])
		}
	}
	for k, n := range ledger {
		if tier, ok := strings.CutPrefix(k, "storage:"); ok && !slices.ContainsFunc(b.Storage, func(l burst.StorageLine) bool { return l.Tier == tier }) {
			t.Errorf("the ledger charged %d n$ of storage on %s; burst budget has no line for it: %+v", n, tier, b.Storage)
		}
	}
	if sum := b.TasksNUSD + b.IdleNUSD + b.PreemptionNUSD + storageN; sum != b.SpentNUSD || storageN != b.StorageNUSD {
		t.Errorf("burst budget: compute %d + idle %d + preemption %d + storage per tier %d = %d n$; spent says %d, storage %d",
			b.TasksNUSD, b.IdleNUSD, b.PreemptionNUSD, storageN, sum, b.SpentNUSD, b.StorageNUSD)
	}
	if ledger["task"] <= 0 || ledger["preemption"] <= 0 || ledger["storage:ssd"] <= 0 {
		t.Errorf("the ledger by kind: %v; want tasks, preemption and storage on ssd charged", ledger)
	}
	// What is settled (every machine of c is gone) is burst cost's too, and
	// the machines' lines.
	for _, k := range []string{"task", "idle", "preemption"} {
		if kinds[k] != ledger[k] {
			t.Errorf("burst cost --by kind: %s %d n$; burst budget's ledger %d", k, kinds[k], ledger[k])
		}
	}
	if compute := b.TasksNUSD + b.IdleNUSD + b.PreemptionNUSD; compute != machinesN {
		t.Errorf("burst budget: compute + idle + preemption = %d n$, the machines' lines %d n$", compute, machinesN)
	}
	if len(b.Storage) != 1 || b.Storage[0].Tier != "ssd" || b.Storage[0].Bytes < staged+int64(cloudTasks)*int64(len(want["out/00.out"])) || b.Storage[0].USDPerGBMonth != cloudTierPrice {
		t.Errorf("burst budget's storage: %+v; want the ssd tier holding at least the %d bytes staged in and the outputs", b.Storage, staged)
	}
	t.Logf("burst budget (n$): spent %d = compute %d + idle %d + preemption %d + storage %d (ssd %d); its ledger %v",
		b.SpentNUSD, b.TasksNUSD, b.IdleNUSD, b.PreemptionNUSD, b.StorageNUSD, storageN, ledger)
	txt := h.mustRun("budget", "default").stdout
	for _, w := range []string{"compute $", "lost to preemption $", "ssd", "as the ledger (burst cost) at the same instant"} {
		if !strings.Contains(txt, w) {
			t.Errorf("burst budget lacks %q:\n%s", w, txt)
		}
	}

	// The ledger's own rows (table costs of state.db), with the server
	// stopped: the settled parts are burst budget's to the nano-dollar;
	// storage went on accruing after it was read.
	h.mustRun("server", "stop")
	rows := h.ledgerRows("default")
	for _, k := range []string{"task", "idle", "preemption"} {
		if rows[k] != ledger[k] {
			t.Errorf("state.db's costs: %s %d n$; burst budget's ledger %d", k, rows[k], ledger[k])
		}
	}
	if rows["storage:ssd"] < ledger["storage:ssd"] || len(rows) != len(ledger) {
		t.Errorf("state.db's costs %v; burst budget's ledger %v: want the same keys, storage no less", rows, ledger)
	}
}

// tasks is the task list of job id as `burst show -o json` gives it.
func (h *harness) tasks(id int64) []burst.Task {
	h.t.Helper()
	var j struct {
		TaskList []burst.Task `json:"task_list"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("show", "-o", "json", "--tasks", "100000", idArg(id)).stdout), &j); err != nil {
		h.t.Fatalf("show -o json %d: %v", id, err)
	}
	return j.TaskList
}

// ledgerRows is what the ledger's own rows (table costs of state.db, read
// apart from the server) charged project, by kind, storage per tier
// ("storage:ssd").
func (h *harness) ledgerRows(project string) map[string]int64 {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.home, "state.db")+"?mode=ro")
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT kind, machine, SUM(nusd) FROM costs WHERE project = ? GROUP BY kind, machine`, project)
	if err != nil {
		h.t.Fatalf("read the ledger: %v", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var kind, machine string
		var n int64
		if err := rows.Scan(&kind, &machine, &n); err != nil {
			h.t.Fatal(err)
		}
		if kind == "storage" {
			if !strings.HasPrefix(machine, "storage:") {
				h.t.Errorf("a storage row of the ledger names %q, not storage:TIER", machine)
			}
			kind = machine
		}
		out[kind] += n
	}
	if err := rows.Err(); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// hostOfMachine is the namespace host ("bhN") of machine id's instance.
func hostOfMachine(s *standin, t *testing.T, id string) string {
	t.Helper()
	ins, err := s.Control.Instances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.Tags["burst:machine"] == id {
			return fmt.Sprintf("bh%d", in.Host)
		}
	}
	return ""
}

// The README's "Burst to the cloud" commands, as printed there, against the
// EC2 stand-in (given an Amazon Linux 2023 image, which the provider picks
// when no --image is given): the cluster, the map with staged inputs and
// outputs, results --fetch (the job id put for the README's 12) and
// burst budget.
func TestCloudReadme(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(moduleDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Burst to the cloud\n")
	if !ok {
		t.Fatal(`README.md has no "## Burst to the cloud" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var cmds []string
	for i, block := range strings.Split(sec, "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
			if !strings.HasPrefix(l, "burst ") {
				t.Fatalf("block %d of the section: %q is not a burst command", i, l)
			}
			cmds = append(cmds, l)
		}
	}
	if len(cmds) != 4 {
		t.Fatalf("the section's commands: %q; want the cluster, the map, results --fetch and budget", cmds)
	}

	cfg := filepath.Join(t.TempDir(), "standin.json")
	writeFile(t, cfg, `{"images":[{"id":"ami-0a000000000000023","name":"al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64","arch":"x86_64","owner":"amazon"}]}`, 0o600)
	s := startStandin(t, true, "--config", cfg)
	h := awsServer(t, s, "")
	stageFile(t, h.dir, "fit.sh", []byte("#!/bin/sh\nset -e\nmkdir -p results\ncat \"$1\" refs/genes.txt > \"results/$(basename \"$1\" .csv).txt\"\n"), 0o755)
	stageFile(t, h.dir, "refs/genes.txt", []byte("BRCA1\nTP53\n"), 0o644)
	for _, n := range []string{"a", "b", "c"} {
		stageFile(t, h.dir, "data/"+n+".csv", []byte("sample,"+n+"\n"), 0o644)
	}
	env := append(slices.Clone(h.env), "PATH="+filepath.Dir(burstBin)+":"+os.Getenv("PATH"))
	sh := func(line string) result {
		t.Helper()
		c := exec.Command("sh", "-c", line)
		c.Env, c.Dir = env, h.dir
		r := h.exec(c)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", line, r.code, r)
		}
		return r
	}
	sh(cmds[0])
	r := sh(cmds[1])
	id := jobIDFrom(t, r)
	if !strings.Contains(cmds[2], " 12 ") {
		t.Fatalf("%q: want the README's job id 12 to put this job's for", cmds[2])
	}
	sh(strings.Replace(cmds[2], " 12 ", " "+idArg(id)+" ", 1))
	for _, n := range []string{"a", "b", "c"} {
		got, err := os.ReadFile(filepath.Join(h.dir, "out", "results", n+".txt"))
		if want := "sample," + n + "\nBRCA1\nTP53\n"; err != nil || string(got) != want {
			t.Errorf("out/results/%s.txt: %q, %v; want %q", n, got, err, want)
		}
	}
	if out := sh(cmds[3]).stdout; !strings.Contains(out, "lost to preemption") || !strings.Contains(out, "ssd") {
		t.Errorf("%s:\n%s", cmds[3], out)
	}
	// The README promises the cluster's kind of machine, not how many the
	// autoscaler starts for three tasks: a stand-in instance is a namespace
	// of this machine, whose agent registers the host's CPUs (2 here), not
	// the type's 4, so a second may be asked for the third task.
	ins, err := s.Control.Instances(context.Background())
	if err != nil || len(ins) == 0 || slices.ContainsFunc(ins, func(in ec2standin.InstanceInfo) bool {
		return !in.Spot || in.Type != "c5.xlarge" || !strings.HasPrefix(in.Zone, "eu-west-2")
	}) {
		t.Errorf("instances: %+v %v; want spot c5.xlarge in eu-west-2, each", ins, err)
	}
}

// A map of short staged tasks on a machine of 2 CPUs: the server queues
// tasks ahead on the machine (short tasks are prefetched), and the agent
// starts a queued one only when a CPU is free, counting a task's CPUs
// from when it begins fetching its inputs, not only once its process
// runs. Never more than 2 run at once, by the times the agent reported.
func TestCloudStagedPrefetchKeepsCPUs(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	h.mustRun("cluster", "create", "pf", "--provider", "joined")
	a := h.startHostAgent(2, "--machine", "bh2-pf", "--cluster", "pf", "--cpus", "2")
	h.waitRegistered(a)
	ref := make([]byte, 1<<20)
	rand.Read(ref)
	stageFile(t, h.dir, "ref.bin", ref, 0o644)
	var inputs []string
	for i := range 24 {
		inputs = append(inputs, fmt.Sprint(i))
	}
	args := append([]string{"map", "--quiet", "--on", "pf", "--cpus", "1", "--in", "ref.bin", "--out", "*.out", "--",
		"sh", "-c", `sleep 0.2; cmp -s ref.bin ref.bin && echo "$1" > "$1.out"`, "_", "{}", ":::"}, inputs...)
	id := jobIDFrom(t, h.mustRun(args...))
	tasks := h.tasks(id)
	if len(tasks) != len(inputs) {
		t.Fatalf("%d tasks, want %d", len(tasks), len(inputs))
	}
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, tk := range tasks {
		if tk.State != burst.Succeeded || tk.StartedAt == nil || tk.EndedAt == nil {
			t.Fatalf("task %d: %s (%s), started %v, ended %v", tk.Index, tk.State, tk.Reason, tk.StartedAt, tk.EndedAt)
		}
		// The times are on the server's clock, each report moved by the
		// agent's clock as it sent it (server/clocks.go): its delivery's
		// delay counts as skew, so the start and the end of two tasks,
		// reported apart, may each be off by milliseconds (CI saw a start
		// 6 ms before the end that freed its CPU). An overlap shorter than
		// that proves nothing; three tasks of 0.2 s at once overlap longer.
		const skew = 50 * time.Millisecond
		edges = append(edges, edge{*tk.StartedAt, 1}, edge{tk.EndedAt.Add(-skew), -1})
	}
	slices.SortFunc(edges, func(x, y edge) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.delta - y.delta // an end before a start at the same instant
	})
	most, now := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	if most > 2 {
		var lines []string
		for _, tk := range tasks {
			lines = append(lines, fmt.Sprintf("task %d attempt %d: %s - %s", tk.Index, tk.Attempt,
				tk.StartedAt.Format("15:04:05.000000"), tk.EndedAt.Format("15:04:05.000000")))
		}
		t.Errorf("up to %d tasks of 1 CPU ran at once on a machine of 2 CPUs:\n%s", most, strings.Join(lines, "\n"))
	}
}
