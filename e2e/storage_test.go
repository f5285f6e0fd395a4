package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/blob/miniotest"
	"github.com/burst-sh/burst/internal/blob/sample"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// storageLs is `burst storage ls -o json` with args.
func (h *harness) storageLs(args ...string) client.StorageList {
	h.t.Helper()
	return decodeJSON[client.StorageList](h.t, h.mustRun(append([]string{"storage", "ls", "-o", "json"}, args...)...))
}

// tierBytes are a list's totals of project: tier → bytes.
func tierBytes(l client.StorageList, project string) map[string]int64 {
	out := map[string]int64{}
	for _, t := range l.Totals {
		if t.Project == project {
			out[t.Tier] = t.Bytes
		}
	}
	return out
}

// ledgerStorage is what the ledger charged project for storage, per tier
// (`burst cost --by tier`: its storage:TIER rows), in nano-dollars.
func (h *harness) ledgerStorage(project string) map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	for _, l := range h.cost("tier", project).Lines {
		if tier, ok := strings.CutPrefix(l.Key, "storage:"); ok {
			out[tier] += l.NUSD
		}
	}
	return out
}

// budgetOf is `burst budget P -o json`.
func (h *harness) budgetOf(project string) burst.BudgetReport {
	h.t.Helper()
	return decodeJSON[burst.BudgetReport](h.t, h.mustRun("budget", project, "-o", "json"))
}

// With the embedded store: ls shows what a project holds and its price per
// tier; tier moves bytes between tiers (the ledger then charges the new
// tier, the budget shows the same bytes); rm refuses the input of a job
// not yet ended, naming it, and once the job is cancelled removes the blob
// and its file; storage then stops accruing, and the budget's storage is
// the ledger's storage rows to the nano-dollar. Every change is an audit
// event.
func TestStorageLsRmTierEmbedded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Dear tiers, so that a few MB cost whole nano-dollars within a test.
	h.writePrices("tiers:\n  ssd: {per_gb_month: 2000}\n  cold_hdd: {per_gb_month: 1000}\n")
	const na, nb = 1 << 20, 2<<20 + 7
	a := h.blobFile("a.bin", na)
	b := h.blobFile("b.bin", nb)
	h.mustRun("storage", "put", "a.bin", "b.bin")

	l := h.storageLs("--project", "default")
	if len(l.Blobs) != 2 || l.Blobs[0].Tier != "ssd" || l.Blobs[0].Kind != "input" || l.Blobs[0].Location != "embedded" {
		t.Fatalf("storage ls after two uploads: %+v; want two input blobs on ssd, embedded", l.Blobs)
	}
	if tb := tierBytes(l, "default"); tb["ssd"] != na+nb || len(l.Totals) != 1 || l.Totals[0].USDPerMonth != float64(na+nb)/1e9*2000 {
		t.Fatalf("storage ls totals: %+v; want %d bytes on ssd at 2000 $/GB-month", l.Totals, na+nb)
	}
	table := h.mustRun("storage", "ls").stdout
	if !strings.Contains(table, a[:19]) || !strings.Contains(table, "$/MONTH") {
		t.Fatalf("storage ls table should show the digests and the price per month:\n%s", table)
	}

	// Move a to cold_hdd: bytes move, the ledger starts charging cold_hdd.
	r := decodeJSON[client.StorageEdited](t, h.mustRun("storage", "tier", a, "--to", "cold_hdd", "-o", "json"))
	if len(r.Changes) != 1 || r.Changes[0].From != "ssd" || r.Changes[0].To != "cold_hdd" || r.Changes[0].Size != na {
		t.Fatalf("storage tier: %+v; want a moved from ssd to cold_hdd", r)
	}
	if r := h.run("storage", "tier", a, "--to", "tape"); r.code == 0 || !strings.Contains(r.stderr, "cold_hdd") {
		t.Fatalf("a move to an unknown tier:\n%s\nwant refused, listing the known tiers", r)
	}
	l = h.storageLs("--project", "default")
	if tb := tierBytes(l, "default"); tb["ssd"] != nb || tb["cold_hdd"] != na {
		t.Fatalf("after the move: %v; want ssd %d, cold_hdd %d", tb, nb, na)
	}
	if l2 := h.storageLs("--tier", "cold_hdd"); len(l2.Blobs) != 1 || l2.Blobs[0].Digest != a {
		t.Fatalf("storage ls --tier cold_hdd: %+v; want a alone", l2.Blobs)
	}
	bud := h.budgetOf("default")
	for _, s := range bud.Storage {
		if s.Bytes != tierBytes(l, "default")[s.Tier] {
			t.Fatalf("budget storage %+v differs from storage ls %v", bud.Storage, tierBytes(l, "default"))
		}
	}
	h.waitFor("the ledger to charge cold_hdd", 20*time.Second, func() bool { return h.ledgerStorage("default")["cold_hdd"] > 0 })

	// A job uses a as input: its removal is refused, naming the job.
	id, err := strconv.ParseInt(strings.TrimSpace(h.mustRun("run", "-d", "--in", "a.bin", "--", "sleep", "600").stdout), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor("the job to use a as input", 20*time.Second, func() bool {
		l := h.storageLs("--job", idArg(id))
		return len(l.Blobs) == 1 && l.Blobs[0].Digest == a
	})
	if r := h.run("storage", "rm", a); r.code == 0 || !strings.Contains(r.stderr, "job "+idArg(id)) || !strings.Contains(r.stderr, "burst cancel") {
		t.Fatalf("rm of a running job's input:\n%s\nwant refused, naming job %d and the fix", r, id)
	}
	if got := tierBytes(h.storageLs(), "default"); got["cold_hdd"] != na {
		t.Fatalf("a refused rm changed the storage: %v", got)
	}
	dry := decodeJSON[client.StorageEdited](t, h.mustRun("storage", "rm", b, "--dry-run", "-o", "json"))
	if !dry.DryRun || len(dry.Changes) != 1 || len(dry.Deleted) != 1 {
		t.Fatalf("rm --dry-run: %+v; want b said to go", dry)
	}
	if got := tierBytes(h.storageLs(), "default"); got["ssd"] != nb {
		t.Fatalf("a dry run changed the storage: %v", got)
	}
	h.mustRun("cancel", idArg(id))
	h.waitFor("the job to end", 30*time.Second, func() bool { return terminal(h.show(id).State) })

	files := len(h.blobFiles())
	rm := decodeJSON[client.StorageEdited](t, h.mustRun("storage", "rm", a, b, "-o", "json"))
	if len(rm.Changes) != 2 || len(rm.Deleted) != 2 {
		t.Fatalf("rm of both: %+v; want both removed and deleted", rm)
	}
	if got := len(h.blobFiles()); got != files-2 {
		t.Fatalf("after rm the store holds %d files, want %d", got, files-2)
	}
	for _, d := range []string{a, b} {
		if _, err := os.Stat(filepath.Join(h.home, "blobs", "sha256", d[7:9], d[7:])); !os.IsNotExist(err) {
			t.Fatalf("blob %s still on disk after rm: %v", d, err)
		}
	}
	if r := h.run("storage", "get", a, "--size", strconv.Itoa(na), "-o", "gone.bin"); r.code == 0 {
		t.Fatalf("a removed blob still reads:\n%s", r)
	}
	if l := h.storageLs("--project", "default"); len(l.Blobs) != 0 || len(l.Totals) != 0 {
		t.Fatalf("after rm: %+v; want nothing held", l)
	}

	// Nothing kept: accrual stops, and the budget's storage is the
	// ledger's storage rows to the nano-dollar.
	first := h.budgetOf("default").StorageUSD
	var sum int64
	h.waitFor("two reads of the ledger a tick apart", 10*time.Second, func() bool {
		before := h.ledgerStorage("default")
		time.Sleep(300 * time.Millisecond)
		after := h.ledgerStorage("default")
		sum = 0
		for tier, n := range after {
			if before[tier] != n {
				return false
			}
			sum += n
		}
		return true
	})
	if got := h.budgetOf("default").StorageUSD; got != cost.NUSD(sum).Dollars() || got != first {
		t.Fatalf("budget storage %v (first %v), ledger storage rows %d n$: want equal and no longer growing", got, first, sum)
	}
	evs := h.events("default")
	for _, k := range []string{"storage.tier", "storage.rm"} {
		if !hasEvent(evs, k, "") {
			t.Fatalf("no %s event in the audit trail", k)
		}
	}
}

// A tier move that picks nothing (a project that holds no blob, a digest
// or job it does not hold) is refused as rm refuses it, naming the project
// and `burst storage ls`, rather than saying the blobs picked are there
// already.
func TestStorageTierPicksNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("project", "create", "mars")
	d := h.blobFile("a.bin", 10)
	h.mustRun("storage", "put", "a.bin")
	for _, args := range [][]string{
		{"--all", "--project", "mars"},
		{d, "--project", "mars"},
		{"--job", "999", "--project", "default"},
		{"--all", "--project", "mars", "--dry-run"},
	} {
		r := h.run(append([]string{"storage", "tier", "--to", "cold_hdd"}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "holds no blob") || !strings.Contains(r.stderr, "burst storage ls --project") {
			t.Fatalf("storage tier %v picks nothing:\n%s\nwant refused, naming burst storage ls", args, r)
		}
	}
	// What it does pick still moves, and a second move says it is there already.
	h.mustRun("storage", "tier", "--all", "--to", "cold_hdd")
	if r := h.mustRun("storage", "tier", "--all", "--to", "cold_hdd"); !strings.Contains(r.stdout, "there already") {
		t.Fatalf("a second move to the same tier:\n%s\nwant: there already", r)
	}
}

// A lifecycle rule moves a project's blobs to a cheaper tier once they
// are old enough, then a delete rule removes them (and their file), each
// an audit event; a rule to a dearer tier never moves anything.
func TestStorageLifecycleEmbedded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.blobFile("c.bin", 4096)
	h.mustRun("storage", "put", "c.bin")
	if r := h.run("storage", "rule", "default", "--to", "tape", "--after", "1s"); r.code == 0 || !strings.Contains(r.stderr, "cold_hdd") {
		t.Fatalf("a rule to an unknown tier:\n%s\nwant refused, listing the tiers", r)
	}
	out := h.mustRun("storage", "rule", "default", "--to", "cold_hdd", "--after", "1s").stdout
	if !strings.Contains(out, "to cold_hdd after 1s") {
		t.Fatalf("storage rule printed %q, want the rule", out)
	}
	h.waitFor("the rule to move c to cold_hdd", 30*time.Second, func() bool {
		l := h.storageLs("--project", "default")
		return len(l.Blobs) == 1 && l.Blobs[0].Tier == "cold_hdd" && tierBytes(l, "default")["cold_hdd"] == 4096
	})
	if !hasEvent(h.events("default"), "storage.lifecycle", "") {
		t.Fatal("a lifecycle move wrote no storage.lifecycle event")
	}
	if l := h.storageLs(); len(l.Rules) != 1 || l.Rules[0].Action != "cold_hdd" || l.Rules[0].AfterS != 1 {
		t.Fatalf("storage ls rules: %+v", l.Rules)
	}
	h.mustRun("storage", "rule", "default", "--delete", "--after", "2s")
	h.waitFor("the delete rule to remove c", 30*time.Second, func() bool {
		l := h.storageLs("--project", "default")
		return len(l.Blobs) == 0 && len(l.Totals) == 0
	})
	h.waitFor("c's file to go", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(h.home, "blobs", "sha256", c[7:9], c[7:]))
		return os.IsNotExist(err)
	})
	h.mustRun("storage", "rule", "default", "--remove")
	if l := h.storageLs(); len(l.Rules) != 0 {
		t.Fatalf("after --remove the rules are %+v", l.Rules)
	}
}

// Against a real MinIO: storage set is an audit event; a move to a tier
// whose catalog entry names an s3_class gives the object that class
// (MinIO offers STANDARD and REDUCED_REDUNDANCY only), one to a class the
// store refuses changes nothing; rm deletes the object from the bucket.
func TestStorageTierRmMinIO(t *testing.T) {
	t.Parallel()
	m := startMinIO(t, "")
	h := newHarness(t)
	h.writePrices("tiers:\n  cold_hdd: {s3_class: REDUCED_REDUNDANCY}\n  archive: {s3_class: DEEP_ARCHIVE}\n")
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		h.setEnv(k, v)
	}
	h.mustRun("storage", "set", "s3://"+m.Bucket+"/lab", "--endpoint", m.Endpoint)
	if !hasEvent(h.events(""), "storage.set", "") {
		t.Fatal("storage set wrote no storage.set event")
	}
	d := h.blobFile("s.bin", 100_000)
	h.mustRun("storage", "put", "s.bin")
	key := "lab/sha256/" + d[7:9] + "/" + d[7:]
	mc := m.Client(t)
	class := func() string {
		oi, err := mc.StatObject(context.Background(), m.Bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("the blob's object: %v", err)
		}
		return miniotest.ObjectClass(oi)
	}
	if c := class(); c != "STANDARD" {
		t.Fatalf("a new blob's class is %q, want STANDARD", c)
	}
	l := h.storageLs("--project", "default")
	if len(l.Blobs) != 1 || !strings.HasPrefix(l.Blobs[0].Location, "s3://"+m.Bucket+"/lab") {
		t.Fatalf("storage ls: %+v; want the blob in the bucket", l.Blobs)
	}
	h.mustRun("storage", "tier", "--all", "--to", "cold_hdd")
	if c := class(); c != "REDUCED_REDUNDANCY" {
		t.Fatalf("after tier --to cold_hdd the object's class is %q, want REDUCED_REDUNDANCY", c)
	}
	if r := h.run("storage", "tier", "--all", "--to", "archive"); r.code == 0 || !strings.Contains(r.stderr, "nothing was moved") {
		t.Fatalf("a move to a class MinIO refuses:\n%s\nwant refused, saying nothing moved", r)
	}
	if tb := tierBytes(h.storageLs(), "default"); tb["cold_hdd"] != 100_000 || tb["archive"] != 0 {
		t.Fatalf("after a refused move: %v; want the bytes still on cold_hdd", tb)
	}
	h.mustRun("storage", "tier", "--all", "--to", "ssd")
	if c := class(); c != "REDUCED_REDUNDANCY" {
		t.Fatalf("a tier without s3_class changed the class to %q", c)
	}
	h.mustRun("storage", "rm", d)
	if _, err := mc.StatObject(context.Background(), m.Bucket, key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("after rm the object is still in the bucket: %v", err)
	}
}

// A crash between rm's commit and its delete leaves the blob queued: the
// next start deletes it. (The store is changed as that commit leaves it,
// with the server stopped, then the server starts.)
func TestStorageSweepOnStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d := h.blobFile("q.bin", 5000)
	h.mustRun("storage", "put", "q.bin")
	path := filepath.Join(h.home, "blobs", "sha256", d[7:9], d[7:])
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	h.mustRun("server", "stop")
	st, err := store.Open(filepath.Join(h.home, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(context.Background(), func(tx *store.Tx) error {
		_, _, err := tx.DropBlobRefs("default", store.RefSel{Digests: []string{d}})
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the blob's file went before the server started: %v", err)
	}
	h.mustRun("storage", "ls") // starts the server
	h.waitFor("the queued blob to be deleted at start", 20*time.Second, func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	})
	if l := h.storageLs(); len(l.Blobs) != 0 || len(l.Totals) != 0 {
		t.Fatalf("after the sweep: %+v; want nothing held", l)
	}
}

// Who may: a viewer of mars lists mars's blobs but not another project's,
// and may not remove or move them; a member removes; only the owner sets a
// rule; a user with no role sees nothing.
func TestStorageWhoMay(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	h := l.h
	h.mustRun("project", "create", "venus")
	m := h.blobFile("m.bin", 2000)
	h.blobFile("v.bin", 3000)
	h.mustRun("storage", "put", "m.bin", "--project", "mars")
	h.mustRun("storage", "put", "v.bin", "--project", "venus")

	ls := func(user string, args ...string) client.StorageList {
		t.Helper()
		r := l.as(user, append([]string{"storage", "ls", "-o", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%s: storage ls: %s", user, r)
		}
		return decodeJSON[client.StorageList](t, r)
	}
	if got := ls("vic"); len(got.Blobs) != 1 || got.Blobs[0].Digest != m || len(got.Totals) != 1 || got.Totals[0].Project != "mars" {
		t.Fatalf("vic (viewer of mars) lists %+v; want mars's blob and totals only", got)
	}
	if got := ls("nora"); len(got.Blobs) != 0 || len(got.Totals) != 0 {
		t.Fatalf("nora (no role) lists %+v; want nothing", got)
	}
	if r := l.as("vic", "storage", "ls", "--project", "venus"); r.code == 0 {
		t.Fatalf("vic lists venus:\n%s", r)
	}
	if r := l.as("vic", "storage", "rm", m, "--project", "mars"); r.code == 0 {
		t.Fatalf("a viewer removed a blob:\n%s", r)
	}
	if r := l.as("vic", "storage", "tier", "--all", "--to", "cold_hdd", "--project", "mars"); r.code == 0 {
		t.Fatalf("a viewer moved blobs:\n%s", r)
	}
	if r := l.as("alice", "storage", "rule", "mars", "--delete", "--after", "30d"); r.code == 0 {
		t.Fatalf("a member set a rule:\n%s", r)
	}
	if r := l.as("bob", "storage", "rule", "mars", "--to", "cold_hdd", "--after", "30d"); r.code != 0 {
		t.Fatalf("the owner could not set a rule:\n%s", r)
	}
	if r := l.as("alice", "storage", "rm", m, "--project", "mars"); r.code != 0 {
		t.Fatalf("a member could not remove a blob of mars:\n%s", r)
	}
	if got := ls("vic"); len(got.Blobs) != 0 || len(got.Rules) != 1 {
		t.Fatalf("after alice's rm vic lists %+v; want no blob, bob's rule", got)
	}
	rms := 0
	for _, e := range h.events("mars") {
		if e.Kind == "storage.rm" {
			rms++
			if e.Actor != "alice" {
				t.Fatalf("the rm's audit event names %q, want alice", e.Actor)
			}
		}
	}
	if rms != 1 {
		t.Fatalf("%d storage.rm events in mars, want alice's one", rms)
	}
}

// A blob's digest is no key to it (docs/security-users.md): nora, member
// of venus and of no role in mars, knows the digest of a small file mars
// holds. Offered by digest (or by size and sample, which for a small file
// is the file), the server does not say it holds it, so she cannot try
// likely contents one by one; sent with other bytes, it is refused; in
// no case does venus come to hold it, nor may she read it. Sent with its
// very bytes (she has the file), it is hers to read. A member of mars,
// who may read it, is told it is held and sends nothing.
func TestBlobDigestIsNoKey(t *testing.T) {
	t.Parallel()
	l := newLabVenus(t)
	h := l.h
	secret, d := l.marsSecret(t)
	size := len(secret)
	nora := l.tokens["nora"]
	read := func(who string) (int, string) {
		return l.call(t, l.tokens[who], "GET", "/v1/blobs/"+d, "")
	}
	offer := func(who, project, blobs string) client.BlobOffers {
		t.Helper()
		code, body := l.call(t, l.tokens[who], "POST", "/v1/blobs/uploads", `{"project":"`+project+`","kind":"input","blobs":[`+blobs+`]}`)
		var o client.BlobOffers
		if code != 200 || json.Unmarshal([]byte(body), &o) != nil || len(o.Blobs) != 1 {
			t.Fatalf("%s offers %s to %s: %d %s", who, blobs, project, code, body)
		}
		return o
	}
	if o := offer("nora", "venus", fmt.Sprintf(`{"digest":%q,"size":%d}`, d, size)); o.Blobs[0].Have {
		t.Errorf("nora offered mars's digest to venus: told it is held (%+v), with no byte sent", o.Blobs[0])
	}
	if o := offer("nora", "venus", fmt.Sprintf(`{"digest":%q,"size":%d}`, d, size+1)); o.Blobs[0].Have {
		t.Errorf("nora offered mars's digest with another size: %+v", o.Blobs[0])
	}
	smp, err := sample.Of(bytes.NewReader(secret), int64(size))
	if err != nil {
		t.Fatal(err)
	}
	if o := offer("nora", "venus", fmt.Sprintf(`{"size":%d,"sample":%q}`, size, smp)); !o.Blobs[0].Stream {
		t.Errorf("nora asked by size and sample (the file itself): told venus could hold it (%+v), which says mars does", o.Blobs[0])
	}
	if code, body := l.call(t, nora, "PUT", "/v1/blobs/"+d+"?project=venus&kind=input", "pin=0000\n"); code != 400 {
		t.Errorf("nora PUT other bytes under mars's digest: %d %s, want 400", code, body)
	}
	if code, body := read("nora"); code != 404 {
		t.Fatalf("nora reads mars's blob by its digest: %d %q, want 404", code, body)
	}
	if r := l.as("nora", "storage", "ls", "--project", "venus", "-o", "json"); r.code != 0 || strings.Contains(r.stdout, d) {
		t.Fatalf("venus holds mars's blob after nora's tries: %s", r)
	}

	before := h.storage().Received
	if r := l.as("bob", "storage", "put", "pin.txt", "--project", "mars"); r.code != 0 {
		t.Fatalf("bob (owner of mars) puts the file again: %s", r)
	}
	if got := h.storage().Received; got != before {
		t.Errorf("bob's put of a blob mars holds sent %d bytes, want none", got-before)
	}
	if code, body := l.call(t, nora, "PUT", "/v1/blobs/"+d+"?project=venus&kind=input", string(secret)); code != 200 {
		t.Fatalf("nora PUT the file's own bytes: %d %s", code, body)
	}
	if code, body := read("nora"); code != 200 || body != string(secret) {
		t.Fatalf("nora, having sent the bytes, reads: %d %q", code, body)
	}
}
