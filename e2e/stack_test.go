package e2e

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// needStackTools fails under BURST_CI, and skips loudly otherwise, when
// this machine lacks what stacks need here: bwrap (the sandbox) and
// busybox-static (the test stack's one program).
func needStackTools(t *testing.T) string {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("bwrap"); err != nil {
		missing = append(missing, "bwrap (apt-get install bubblewrap)")
	}
	bb := ""
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			bb = p
		}
	}
	if bb == "" {
		missing = append(missing, "busybox (apt-get install busybox-static)")
	}
	if len(missing) == 0 {
		return bb
	}
	if os.Getenv("BURST_CI") != "" {
		t.Fatalf("stacks: missing %s (BURST_CI is set and CI must not skip)", strings.Join(missing, ", "))
	}
	t.Skipf("!!! SKIPPED: stacks: missing %s", strings.Join(missing, ", "))
	return ""
}

// testRootfs makes a root filesystem of busybox alone (its applets as
// links) with a file that only the stack holds, /etc/stackmark = mark.
func testRootfs(t *testing.T, busybox, mark string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "cat", "ls", "echo", "true", "hostname", "id", "test", "rm", "mkdir"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "stackmark"), []byte(mark+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// A stack made from a directory runs a task on this host: / is the stack
// (its own /etc/stackmark, none of the host's /usr), the task's private
// directory is /work, its --out file comes back; the digest is the same
// when the same tree is packed again (deterministic tar).
func TestStackRunLocal(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	root := testRootfs(t, bb, "local-mark")
	r := h.mustRun("stack", "create", "tools", "--from-dir", root, "--description", "busybox", "-o", "json")
	if !strings.Contains(r.stdout, `"version": 1`) || !strings.Contains(r.stdout, `"digest": "sha256:`) {
		t.Fatalf("stack create: want version 1 with a digest, got\n%s", r)
	}
	digest := between(r.stdout, `"digest": "`, `"`)
	again := h.mustRun("stack", "create", "tools", "--from-dir", root, "-o", "json")
	if d := between(again.stdout, `"digest": "`, `"`); d != digest || !strings.Contains(again.stdout, `"version": 2`) {
		t.Errorf("the same tree packed again: digest %s version 2 wanted, got\n%s (first %s)", d, again.stdout, digest)
	}
	out := t.TempDir()
	r = h.runIn(out, "run", "--stack", "tools:1", "--out", "seen.txt", "--",
		"sh", "-c", `cat /etc/stackmark > seen.txt; pwd >> seen.txt; test -e /usr/bin/bwrap && echo host-visible >> seen.txt; ls / >> seen.txt`)
	if r.code != 0 {
		t.Fatalf("run --stack: %s", r)
	}
	b, err := os.ReadFile(filepath.Join(out, "seen.txt"))
	if err != nil {
		t.Fatalf("the task's --out file did not come back: %v\n%s", err, r)
	}
	seen := string(b)
	if !strings.HasPrefix(seen, "local-mark\n/work\n") || strings.Contains(seen, "host-visible") || strings.Contains(seen, "usr") {
		t.Errorf("inside the stack the task saw:\n%s\nwant the stack's mark, /work as its directory, and no /usr of the host", seen)
	}
	// The README's map: a program of this directory (./simulate) runs
	// inside the stack, staged into each task's /work without an --in.
	if err := os.WriteFile(filepath.Join(out, "simulate"), []byte("#!/bin/sh\necho \"sim $1 $(cat /etc/stackmark)\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if m := h.runIn(out, "map", "--stack", "tools:1", "-k", "--", "./simulate", "{}", ":::", "1", "2"); m.code != 0 || m.stdout != "sim 1 local-mark\nsim 2 local-mark\n" {
		t.Errorf("map --stack -- ./simulate {}: %s", m)
	}
	// The job records the version it was given, resolved at submit.
	id := jobIDFrom(t, r)
	show := h.mustRun("show", idArg(id), "-o", "json")
	if !strings.Contains(show.stdout, digest) {
		t.Errorf("job %d's spec does not name the stack's digest %s:\n%s", id, digest, show.stdout)
	}
	list := h.mustRun("stack", "list", "tools", "-q")
	if list.stdout != "tools:1\ntools:2\n" {
		t.Errorf("stack list -q: got %q, want tools:1 and tools:2", list.stdout)
	}
	diff := h.mustRun("stack", "diff", "tools:1", "tools:2")
	if !strings.Contains(diff.stdout, "same files") {
		t.Errorf("stack diff of two packings of one tree: %s", diff)
	}
}

// Bad input: an unknown stack or version, an image file that is not an
// image, a --stack that is not a reference; each one line naming the fix,
// nothing submitted.
func TestStackBadInput(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "m"))
	notImage := filepath.Join(t.TempDir(), "x.tar")
	os.WriteFile(notImage, []byte("not a tar at all"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--stack", "nope", "--", "true"}, "burst stack create nope"},
		{[]string{"run", "--stack", "tools:7", "--", "true"}, "versions are 1 to 1"},
		{[]string{"run", "--stack", "Tools!", "--", "true"}, "a-z 0-9"},
		{[]string{"stack", "create", "img", "--from-image", notImage}, "expected a docker-archive"},
		{[]string{"stack", "create", "img"}, "--from-dir DIR or --from-image"},
		{[]string{"stack", "rm", "nope"}, "no stack"},
	} {
		r := h.run(c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("burst %s: want a failure saying %q in a line, got\n%s", strings.Join(c.args, " "), c.want, r)
		}
	}
	if jobs := h.jobsJSON(); len(jobs) != 0 {
		t.Errorf("refused submissions left %d jobs", len(jobs))
	}
}

// A map inside a stack on two namespace hosts that share nothing with
// the server: each host fetches the stack's blob from the server, every
// task runs inside it (it reads the stack's own file) and both hosts
// run some; then a pipe whose stage runs inside the stack there.
func TestStackMapHosts(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := startHostServer(t)
	h.mustRun("cluster", "create", "stackmap", "--provider", "joined")
	var agents []*hostAgent
	for _, i := range []int{1, 2} {
		agents = append(agents, h.startHostAgent(i, "--machine", fmt.Sprintf("bh%d-stack", i), "--cluster", "stackmap", "--cpus", "2"))
	}
	for _, a := range agents {
		h.waitRegistered(a)
	}
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "hosts-mark"))
	const n = 40
	args := []string{"map", "--on", "stackmap", "--stack", "tools", "--", "sh", "-c", `echo "task $0 $(cat /etc/stackmark)"`, "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	c := h.command(args...)
	c.Dir = "/"
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("map --stack on two hosts: %s", r)
	}
	for i := 1; i <= n; i++ {
		if !strings.Contains(r.stdout, fmt.Sprintf("task %d hosts-mark\n", i)) {
			t.Errorf("task %d's line (with the stack's mark) is missing:\n%s", i, r.stdout)
		}
	}
	id := jobIDFrom(t, r)
	j := h.showTasks(id, n)
	per := map[string]int{}
	for _, task := range j.TaskList {
		per[task.Machine]++
	}
	if len(per) != 2 {
		t.Errorf("tasks ran on %v, want both hosts' machines", per)
	}
	// A pipe stage inside the stack on a host: its machine may read the
	// stack's blob because the pipe uses it.
	pc := h.command("pipe", "--on", "stackmap", "echo piped | --stack tools sh -c 'cat; cat /etc/stackmark'")
	pc.Dir = "/"
	if pr := h.exec(pc); pr.code != 0 || pr.stdout != "piped\nhosts-mark\n" {
		t.Errorf("a pipe stage in a stack on a host: %s", pr)
	}
}

// A task run with --keep-changes writes a new file and deletes one of
// its stack's; `burst stack commit` makes that version 2 (parent 1, its
// job the task's), diff lists both changes, a task of version 2 sees
// them, and version 1 on the same machine is as it was (the changes never
// touched the cached root). Committing what has no changes is refused in
// a line that names the fix.
func TestStackCommit(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	root := testRootfs(t, bb, "commit-mark")
	if err := os.WriteFile(filepath.Join(root, "etc", "gone.txt"), []byte("bye\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.mustRun("stack", "create", "tools", "--from-dir", root)
	r := h.mustRun("run", "--stack", "tools", "--keep-changes", "--", "sh", "-c", `mkdir /opt && echo fresh > /opt/new.txt && rm /etc/gone.txt && echo wrote`)
	if !strings.Contains(r.stdout, "wrote") {
		t.Fatalf("the task inside a writable stack: %s", r)
	}
	id := jobIDFrom(t, r)
	c := h.mustRun("stack", "commit", idArg(id), "--as", "tools", "-o", "json")
	if !strings.Contains(c.stdout, `"version": 2`) || !strings.Contains(c.stdout, `"parent": 1`) || !strings.Contains(c.stdout, fmt.Sprintf(`"job": %d`, id)) {
		t.Fatalf("stack commit: want version 2, parent 1, job %d; got\n%s", id, c)
	}
	diff := h.mustRun("stack", "diff", "tools:1", "tools:2")
	for _, want := range []string{"+ opt/new.txt (6 B)", "- etc/gone.txt (4 B)"} {
		if !strings.Contains(diff.stdout, want) {
			t.Errorf("stack diff tools:1 tools:2 lacks %q:\n%s", want, diff.stdout)
		}
	}
	see := `cat /opt/new.txt 2>/dev/null || echo no-new; test -e /etc/gone.txt && echo has-gone; cat /etc/stackmark`
	r2 := h.mustRun("run", "--stack", "tools:2", "--", "sh", "-c", see)
	if r2.stdout != "fresh\ncommit-mark\n" {
		t.Errorf("a task of tools:2 saw %q, want the new file, no deleted one, and the mark", r2.stdout)
	}
	r1 := h.mustRun("run", "--stack", "tools:1", "--", "sh", "-c", see)
	if r1.stdout != "no-new\nhas-gone\ncommit-mark\n" {
		t.Errorf("a task of tools:1 after the commit saw %q: the cached root of version 1 was changed", r1.stdout)
	}
	// Nothing to commit: a job without a stack, one without
	// --keep-changes, one whose task changed nothing.
	plain := jobIDFrom(t, h.mustRun("run", "--", "true"))
	ro := jobIDFrom(t, r1)
	none := jobIDFrom(t, h.mustRun("run", "--stack", "tools", "--keep-changes", "--", "true"))
	for _, c := range []struct {
		id   int64
		want string
	}{
		{plain, "ran without a stack"},
		{ro, "run it again with --keep-changes"},
		{none, "kept no changes"},
	} {
		r := h.run("stack", "commit", idArg(c.id), "--as", "tools")
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("stack commit %d: want a failure saying %q in a line, got\n%s", c.id, c.want, r)
		}
	}
	if list := h.mustRun("stack", "list", "tools", "-q"); list.stdout != "tools:1\ntools:2\n" {
		t.Errorf("refused commits made versions: %q", list.stdout)
	}
}

// A stack shared by link: a second server pulls it with its history (two
// versions, the second committed from a task, its parent the first), a task there runs inside the
// pulled version, pulling again adds nothing, and a name that holds
// another history is refused naming --as. A revoked link, an expired one
// and one that is no link are each refused in a line.
func TestStackShare(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	a, b := newHarness(t), newHarness(t)
	a.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "shared-v1"), "--description", "first")
	job := jobIDFrom(t, a.mustRun("run", "--stack", "tools", "--keep-changes", "--", "sh", "-c", "echo shared-v2 > /etc/stackmark"))
	a.mustRun("stack", "commit", idArg(job), "--as", "tools", "--description", "second")
	sh := a.mustRun("stack", "share", "tools", "--ttl", "2h")
	link := strings.TrimSpace(sh.stdout)
	if !strings.Contains(link, "/burst_s_") || !strings.Contains(sh.stderr, "this host only") {
		t.Fatalf("stack share on a loopback server: want a link and a note that it works on this host only, got\n%s", sh)
	}
	r := b.mustRun("stack", "pull", link)
	if !strings.Contains(r.stdout, "2 versions new, to tools:2") {
		t.Errorf("stack pull: %s", r)
	}
	var here []struct {
		Version     int    `json:"version"`
		Parent      int    `json:"parent"`
		Digest      string `json:"digest"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(b.mustRun("stack", "list", "tools", "-o", "json").stdout), &here); err != nil || len(here) != 2 ||
		here[1].Parent != 1 || here[1].Description != "second" {
		t.Errorf("the pulled history: %+v %v: want versions 1 and 2, 2's parent 1, descriptions kept", here, err)
	}
	there := a.mustRun("stack", "list", "tools", "-o", "json").stdout
	for _, v := range here {
		if !strings.Contains(there, v.Digest) {
			t.Errorf("pulled version %d's digest %s is not the sharing server's", v.Version, v.Digest)
		}
	}
	run := b.mustRun("run", "--stack", "tools:2", "--", "cat", "/etc/stackmark")
	if run.stdout != "shared-v2\n" {
		t.Errorf("a task in the pulled stack read %q, want shared-v2", run.stdout)
	}
	if again := b.mustRun("stack", "pull", link); !strings.Contains(again.stdout, "up to date") {
		t.Errorf("pulling twice: %s", again)
	}
	// A project that does not exist is said, not "up to date" (which read as pulled into it).
	if r := b.run("stack", "pull", link, "--project", "nosuch"); r.code == 0 || strings.Contains(r.stdout, "up to date") || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("stack pull --project nosuch of a stack already here: want refused naming the project:\n%s", r)
	}
	b.mustRun("stack", "create", "other", "--from-dir", testRootfs(t, bb, "other"))
	if clash := b.run("stack", "pull", link, "--as", "other"); clash.code == 0 || !strings.Contains(clash.stderr, "--as NAME") {
		t.Errorf("a pull onto another history: %s", clash)
	}
	if n := b.mustRun("stack", "list", "other", "-q").stdout; n != "other:1\n" {
		t.Errorf("the refused pull changed stack other: %q", n)
	}
	// The sharing server's record: the links and their uses.
	if ev := a.mustRun("events"); !strings.Contains(ev.stdout, "stack.share") || !strings.Contains(ev.stdout, "stack.pull") {
		t.Errorf("events of the sharing server lack stack.share and stack.pull:\n%s", ev.stdout)
	}
	// Revoked.
	id := between(a.mustRun("stack", "links").stdout, "\n", "\t")
	id = strings.Fields(id + " ")[0]
	a.mustRun("stack", "unshare", id)
	if links := a.mustRun("stack", "links").stdout; !strings.Contains(links, "revoked") {
		t.Errorf("stack links after unshare: %s", links)
	}
	oneLine := func(r result, want string) {
		t.Helper()
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("want a failure saying %q in a line, got\n%s", want, r)
		}
	}
	oneLine(b.run("stack", "pull", link, "--as", "again"), "was revoked")
	// Expired: a link of one second, pulled once the clock is past its
	// expiry (as the server stored it).
	var short client.StackLink
	if err := json.Unmarshal([]byte(a.mustRun("stack", "share", "tools:1", "--ttl", "1s", "-o", "json").stdout), &short); err != nil || short.Link == "" {
		t.Fatalf("stack share -o json: %+v %v", short, err)
	}
	time.Sleep(time.Until(short.Expires) + 50*time.Millisecond)
	oneLine(b.run("stack", "pull", short.Link, "--as", "late"), "expired")
	// Removed: a live link to a stack that is gone.
	a.mustRun("stack", "create", "gone", "--from-dir", testRootfs(t, bb, "gone"))
	goneLink := strings.TrimSpace(a.mustRun("stack", "share", "gone").stdout)
	a.mustRun("stack", "rm", "gone")
	oneLine(b.run("stack", "pull", goneLink), "was removed")
	oneLine(b.run("stack", "pull", "https://example.org/nothing"), "is not a stack link")
	oneLine(b.run("stack", "pull", link[:strings.Index(link, "burst_s_")+12]), "not one of this server's")
	if n := b.mustRun("stack", "list", "-q").stdout; strings.Contains(n, "again") || strings.Contains(n, "late") {
		t.Errorf("refused pulls made stacks: %q", n)
	}
}

// A pipe whose middle stage alone runs inside a stack: it reads the
// stack's own file and the first stage's stream; the stages around it run
// on the host. Bad stack references in a stage are refused at their
// column, nothing submitted.
func TestStackPipeStage(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "pipe-mark"))
	r := h.mustRun("pipe", `echo from-host | --stack tools sh -c 'cat; cat /etc/stackmark; if test -e /usr/bin/bwrap; then echo host-visible; fi' | tr a-z A-Z`)
	if r.stdout != "FROM-HOST\nPIPE-MARK\n" {
		t.Errorf("a pipe with a stage in a stack wrote %q, want the host's line and the stack's mark, upper-cased on the host", r.stdout)
	}
	bad := h.run("pipe", "a | --stack tools:0 b")
	if bad.code == 0 || !strings.Contains(bad.stderr, "a version is a number from 1") || strings.Contains(bad.stderr, "goroutine") {
		t.Errorf("a stage's bad stack reference: %s", bad)
	}
	missing := h.run("pipe", "true | --stack nope cat")
	if missing.code == 0 || !strings.Contains(missing.stderr, "burst stack create nope") {
		t.Errorf("a stage's unknown stack: %s", missing)
	}
}

// TestStackPipeKeepChanges: a pipe stage with --keep-changes runs on a
// writable root whose changes are kept; `burst stack commit JOB --stage
// NAME` makes them the next version (and with one such stage, no --stage
// is needed). A stage that kept none is refused naming those that did.
func TestStackPipeKeepChanges(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "pipe-keep"))
	r := h.mustRun("pipe", `echo v2 | --stack tools --keep-changes --name fix sh -c 'mkdir -p /opt && cat > /opt/VERSION && echo fixed' | --stack tools --name look sh -c 'cat; cat /etc/stackmark'`)
	if r.stdout != "fixed\npipe-keep\n" {
		t.Fatalf("the pipe wrote %q, want the writable stage's line and the read-only stage's mark", r.stdout)
	}
	id := jobIDFrom(t, r)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--stage", "look"}, "stage look of job " + idArg(id) + " kept no stack changes: the stages that kept theirs: fix"},
		{[]string{"--stage", "nope"}, `has no stage "nope": its stages are echo, fix, look`},
		{[]string{"--task", "2"}, "run it again with --keep-changes"},
		{[]string{"--stage", "fix", "--task", "1"}, "stage fix of job " + idArg(id) + " runs 1 copy: --task 1 is none of them"},
	} {
		wantRefusedInALine(t, h.run(append([]string{"stack", "commit", idArg(id), "--as", "tools"}, c.args...)...), c.want)
	}
	c := h.mustRun("stack", "commit", idArg(id), "--as", "tools", "--stage", "fix", "-o", "json")
	if !strings.Contains(c.stdout, `"version": 2`) || !strings.Contains(c.stdout, fmt.Sprintf(`"job": %d`, id)) {
		t.Fatalf("stack commit --stage fix: want version 2 from job %d; got\n%s", id, c)
	}
	if diff := h.mustRun("stack", "diff", "tools:1", "tools:2"); !strings.Contains(diff.stdout, "+ opt/VERSION (3 B)") {
		t.Errorf("stack diff tools:1 tools:2 lacks the stage's new file:\n%s", diff.stdout)
	}
	if got := h.mustRun("run", "--stack", "tools:2", "--", "cat", "/opt/VERSION").stdout; got != "v2\n" {
		t.Errorf("a task of tools:2 read %q from /opt/VERSION, want the stage's v2", got)
	}
	// The one stage that kept changes is taken without --stage.
	c = h.mustRun("stack", "commit", idArg(id), "--as", "fixed")
	if !strings.Contains(c.stdout, "stack fixed:1 from job "+idArg(id)) {
		t.Errorf("stack commit without --stage: %s", c)
	}
	if bad := h.run("pipe", "true | --keep-changes cat"); bad.code == 0 || !strings.Contains(bad.stderr, "--stack NAME") {
		t.Errorf("--keep-changes without --stack: %s", bad)
	}
}

// TestStackSbatchContainer: Slurm's --container takes a stack reference
// (#SBATCH --container=NAME, or sbatch --container on the command line)
// and runs the script inside that stack; a path (an OCI bundle) is
// refused in one line naming the `burst stack create` that makes a stack
// of it.
func TestStackSbatchContainer(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "sbatch-mark"))
	writeFile(t, filepath.Join(h.dir, "in-stack.sh"), "#!/bin/sh\n#SBATCH --container=tools\n#SBATCH --output=out-%j.txt\ncat /etc/stackmark\n", 0o755)
	r := h.runIn(h.dir, "run", "in-stack.sh")
	if r.code != 0 {
		t.Fatalf("a script with #SBATCH --container=tools: %s", r)
	}
	id := jobIDFrom(t, r)
	if out := readFile(t, filepath.Join(h.dir, "out-"+idArg(id)+".txt")); out != "sbatch-mark\n" {
		t.Errorf("the script inside the stack wrote %q, want the stack's mark", out)
	}
	if j := h.mustRun("show", idArg(id), "-o", "json").stdout; !strings.Contains(j, `"name": "tools"`) {
		t.Errorf("burst show of the job names no stack tools:\n%s", j)
	}
	bundle := filepath.Join(h.dir, "mybundle")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.dir, "bundle.sh"), "#!/bin/sh\n#SBATCH --container="+bundle+"\ntrue\n", 0o755)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "bundle.sh"}, "bundle.sh:2"},
		{[]string{"slurm", "sbatch", "--container", bundle, "--wrap", "true"}, "--container"},
	} {
		wantRefusedInALine(t, h.runIn(h.dir, c.args...), c.want, "burst stack create mybundle --from-dir "+filepath.Join(bundle, "rootfs"))
	}
	if bad := h.runIn(h.dir, "slurm", "sbatch", "--container=nope", "--wrap", "true"); bad.code == 0 || !strings.Contains(bad.stderr, "burst stack create nope") {
		t.Errorf("an unknown stack in --container: %s", bad)
	}
}

// wantRefusedInALine checks that r failed with one line of stderr saying
// each of wants.
func wantRefusedInALine(t *testing.T, r result, wants ...string) {
	t.Helper()
	ok := r.code != 0 && strings.Count(strings.TrimSpace(r.stderr), "\n") == 0
	for _, w := range wants {
		ok = ok && strings.Contains(r.stderr, w)
	}
	if !ok {
		t.Errorf("want a failure in one line saying %q, got\n%s", wants, r)
	}
}

// On a machine without bwrap (its agent's PATH lacks it) the agent says
// it runs no stacks: a stack job bound to its cluster is refused at
// submit in one line naming the fix, nothing submitted, while the same
// job without a stack runs.
func TestStackRefusedWithoutBwrap(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/bin/sh", "/bin/true"} {
		if err := os.Symlink(p, filepath.Join(bin, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	h.setEnv("PATH", bin)
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "m"))
	h.waitFor("the local agent to register", 30*time.Second, func() bool {
		return strings.Contains(h.mustRun("machine", "list").stdout, "running")
	})
	r := h.run("run", "--stack", "tools", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "no machine of cluster local can run stacks") || !strings.Contains(r.stderr, "install bubblewrap") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("a stack job where no machine runs stacks: want a refusal in a line, got\n%s", r)
	}
	if jobs := h.jobsJSON(); len(jobs) != 0 {
		t.Errorf("the refused submission left %d jobs", len(jobs))
	}
	h.mustRun("run", "--", "true")
}

// between is the text of s after the first from, up to to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// A stack's name is its project's: nora, member of venus, cannot put a
// version of her own under mars's stack "tools" (every job of mars that
// runs in "tools" would run her files), neither by `burst stack create`
// nor by the API; she names hers otherwise. A member of mars makes its
// next version.
func TestStackNameIsItsProjects(t *testing.T) {
	t.Parallel()
	l := newLabVenus(t)
	h := l.h
	tree := func(mark string) string {
		dir := filepath.Join(t.TempDir(), "rootfs")
		if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bin", "tool"), []byte("echo "+mark+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	if r := l.as("alice", "stack", "create", "tools", "--from-dir", tree("mars"), "--project", "mars"); r.code != 0 {
		t.Fatalf("alice makes mars's stack tools: %s", r)
	}
	r := l.as("nora", "stack", "create", "tools", "--from-dir", tree("nora"), "--project", "venus")
	if r.code == 0 || !strings.Contains(r.stderr, "project mars's") || !strings.Contains(r.stderr, "another name") {
		t.Fatalf("nora put a version under mars's stack tools from venus:\n%s\nwant refused, naming mars and the way out", r)
	}
	// The same by the API, with a blob venus holds (hers, uploaded above).
	var vs []client.Stack
	if r := l.as("nora", "stack", "create", "ntools", "--from-dir", tree("nora"), "--project", "venus"); r.code != 0 {
		t.Fatalf("nora makes venus's own stack: %s", r)
	}
	if err := json.Unmarshal([]byte(h.mustRun("stack", "list", "ntools", "-o", "json").stdout), &vs); err != nil || len(vs) != 1 {
		t.Fatalf("stack list ntools: %v %+v", err, vs)
	}
	body := fmt.Sprintf(`{"name":"tools","project":"venus","digest":%q,"size":%d}`, vs[0].Digest, vs[0].Size)
	if code, msg := l.call(t, l.tokens["nora"], "POST", "/v1/stacks", body); code != 409 {
		t.Fatalf("nora's POST /v1/stacks of tools in venus: %d %s, want 409", code, msg)
	}
	if r := l.as("bob", "stack", "create", "tools", "--from-dir", tree("mars2"), "--project", "mars"); r.code != 0 {
		t.Fatalf("bob (owner of mars) makes tools:2: %s", r)
	}
	vs = nil
	if err := json.Unmarshal([]byte(h.mustRun("stack", "list", "tools", "-o", "json").stdout), &vs); err != nil || len(vs) != 2 {
		t.Fatalf("stack list tools: %v %+v, want mars's two versions", err, vs)
	}
	for _, v := range vs {
		if v.Project != "mars" || v.Author == "nora" {
			t.Errorf("tools:%d is %s's of %s, want mars's", v.Version, v.Author, v.Project)
		}
	}
}

// A machine reports its task's stack changes by digest; committing them
// takes a blob of that job alone. A machine that reported another job's
// changes (another project's, here venus's secret) commits nothing: the
// commit is refused and no version holds venus's file.
func TestStackCommitTakesItsJobsChanges(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	h.mustRun("project", "create", "venus")
	h.mustRun("stack", "create", "tools", "--from-dir", testRootfs(t, bb, "mark"))
	theirs := jobIDFrom(t, h.mustRun("run", "--project", "venus", "--stack", "tools", "--keep-changes", "--", "sh", "-c", "mkdir /opt && echo venus-secret > /opt/secret.txt"))
	mine := jobIDFrom(t, h.mustRun("run", "--stack", "tools", "--keep-changes", "--", "sh", "-c", "mkdir /opt && echo mine > /opt/mine.txt"))
	h.mustRun("server", "stop")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.home, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE stack_changes SET (digest, size) = (SELECT digest, size FROM stack_changes WHERE job_id = ?) WHERE job_id = ?`, theirs, mine)
	db.Close()
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("make job %d's changes those job %d reported: %v (%d rows)", mine, theirs, err, n)
	}
	r := h.run("stack", "commit", idArg(mine), "--as", "mine")
	if r.code == 0 || !strings.Contains(r.stderr, "no blob of that job") {
		t.Fatalf("commit of changes that are another job's blob:\n%s\nwant refused", r)
	}
	if list := h.run("stack", "list", "mine", "-q"); strings.Contains(list.stdout, "mine:") {
		t.Fatalf("a version was made of venus's changes: %s", list)
	}
	if r := h.mustRun("stack", "commit", idArg(theirs), "--as", "vtools"); !strings.Contains(r.stdout, "vtools:1") {
		t.Errorf("venus's own commit: %s", r)
	}
}

// A version's manifest (what `burst stack show` and `diff` list) is what
// its tar holds, read by the server: a member who POSTs a version with a
// list of files of her own making is not believed, and a blob that is no
// stack's tar makes no version.
func TestStackManifestIsTheTars(t *testing.T) {
	t.Parallel()
	l := newLabVenus(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "tool"), []byte("echo tool\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := l.as("nora", "stack", "create", "ntools", "--from-dir", dir, "--project", "venus"); r.code != 0 {
		t.Fatalf("nora makes venus's stack: %s", r)
	}
	var vs []client.Stack
	if err := json.Unmarshal([]byte(l.h.mustRun("stack", "list", "ntools", "-o", "json").stdout), &vs); err != nil || len(vs) != 1 {
		t.Fatalf("stack list ntools: %v %+v", err, vs)
	}
	body := fmt.Sprintf(`{"name":"lies","project":"venus","digest":%q,"size":%d,"manifest":[{"path":"etc/harmless","mode":420,"size":1,"sha256":"00"}]}`, vs[0].Digest, vs[0].Size)
	if code, msg := l.call(t, l.tokens["nora"], "POST", "/v1/stacks", body); code != 200 {
		t.Fatalf("POST /v1/stacks: %d %s", code, msg)
	}
	if d := l.h.mustRun("stack", "diff", "ntools:1", "lies:1").stdout; !strings.Contains(d, "hold the same files") {
		t.Errorf("lies:1 (ntools:1's tar) lists other files than its tar's, the uploader's:\n%s", d)
	}
	// A blob of venus that is no tar: a staged input.
	data := []byte("just some data, no tar\n")
	if err := os.WriteFile(filepath.Join(l.h.dir, "data.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := l.as("nora", "run", "--project", "venus", "--in", "data.txt", "--", "true"); r.code != 0 {
		t.Fatalf("nora stages data.txt in venus: %s", r)
	}
	sum := sha256.Sum256(data)
	body = fmt.Sprintf(`{"name":"notar","project":"venus","digest":"sha256:%x","size":%d}`, sum, len(data))
	if code, msg := l.call(t, l.tokens["nora"], "POST", "/v1/stacks", body); code != 400 || !strings.Contains(msg, "no stack's tar") {
		t.Errorf("a version of a blob that is no tar: %d %s, want 400 saying so", code, msg)
	}
}
