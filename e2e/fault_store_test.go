package e2e

import (
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// A store damaged while its server was stopped (4 KiB of garbage in the
// middle of state.db, under a 5,000-task map's results) is never served:
// the next command fails, exits non-zero and names the snapshot to restore;
// `burst server restore` of that snapshot serves every result again.
func TestFaultStoreCorruptRestore(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("BURST_SNAPSHOT_EVERY", "1s")
	const n = 5000
	args := []string{"map", "-d", "--", "echo", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	id := strings.TrimSpace(h.mustRun(args...).stdout)
	h.mustRun("wait", id)
	ended := time.Now()

	// A snapshot taken after the map ended holds all of it.
	backups := filepath.Join(h.home, "backups")
	h.waitFor("a snapshot begun after the map ended", 30*time.Second, func() bool {
		return snapshotSince(backups, ended)
	})
	h.mustRun("server", "stop", "--all")
	if _, err := os.Stat(filepath.Join(h.home, "state.db-wal")); err == nil {
		t.Log("note: a WAL file outlived the stopped server")
	}
	garbage(t, filepath.Join(h.home, "state.db"))

	r := h.run("results", id)
	if r.code == 0 {
		t.Fatalf("results from a damaged store exited 0 with %d lines; want a refusal:\n%s", strings.Count(r.stdout, "\n"), r)
	}
	m := regexp.MustCompile("burst server restore (\\S+)`").FindStringSubmatch(r.stderr)
	if m == nil || !strings.Contains(r.stderr, "damaged") || !strings.HasPrefix(m[1], backups) {
		t.Fatalf("the refusal does not name a snapshot to restore:\n%s", r)
	}
	if r.stdout != "" {
		t.Errorf("a refused store still printed results: %q", tail(r.stdout, 200))
	}
	r = h.mustRun("server", "restore", m[1])
	if !strings.Contains(r.stdout, "state.db.damaged-") {
		t.Errorf("restore does not say where the damaged store went: %s", r)
	}
	if aside, _ := filepath.Glob(filepath.Join(h.home, "state.db.damaged-*")); len(aside) == 0 {
		t.Error("the damaged store was not kept aside")
	}

	recordFault(t, servedInFull(t, h, id, n, "corrupt store: 4 KiB garbage in state.db, restored"))
}

// servedInFull counts how the results of id, a map of `echo {}` over 1..n,
// come back: each line once, in order, every task succeeded at its first
// attempt.
func servedInFull(t *testing.T, h *harness, id string, n int, fault string) faultRow {
	t.Helper()
	out := h.mustRun("results", id).stdout
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	row := faultRow{Fault: fault, Tasks: n}
	seen := map[string]int{}
	for _, l := range lines {
		seen[l]++
	}
	for i := 1; i <= n; i++ {
		switch c := seen[strconv.Itoa(i)]; {
		case c == 0:
			row.Lost++
		case c > 1:
			row.Duplicated++
		}
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Errorf("restored results: line %d is %q, want %d", i+1, l, i+1)
			break
		}
	}
	for _, res := range h.results(id) {
		if res.State != "succeeded" || res.Attempt != 1 {
			row.FailedWrongly++
			if row.FailedWrongly <= 5 {
				t.Logf("task %d: %s at attempt %d: %s", res.Index, res.State, res.Attempt, res.Reason)
			}
		}
	}
	return row
}

// A store damaged under a running server (garbage over the middle half of
// state.db, as a failing disk leaves it) is not served in part: the server
// exits once a read or its snapshot meets a damaged page, a command never
// prints part of the results and exits 0, the next command names the
// snapshot to restore, and the restore serves everything again.
func TestFaultStoreCorruptWhileServing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("BURST_SNAPSHOT_EVERY", "1s")
	const n = 2000
	args := []string{"map", "-d", "--", "echo", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	id := strings.TrimSpace(h.mustRun(args...).stdout)
	h.mustRun("wait", id)
	ended := time.Now()
	backups := filepath.Join(h.home, "backups")
	h.waitFor("a snapshot begun after the map ended", 30*time.Second, func() bool {
		return snapshotSince(backups, ended)
	})
	pid := h.serverPID()
	path := filepath.Join(h.home, "state.db")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, fi.Size()/2/4096*4096)
	for i := range junk {
		junk[i] = byte(i*131 + 7)
	}
	if _, err := f.WriteAt(junk, fi.Size()/4/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Whatever this read meets, it is all of the results or a failure.
	r := h.run("results", id)
	want := ""
	for i := 1; i <= n; i++ {
		want += strconv.Itoa(i) + "\n"
	}
	if r.code == 0 && r.stdout != want {
		t.Errorf("results from a store damaged under its server exited 0 with %d of %d lines", strings.Count(r.stdout, "\n"), n)
	}
	// The snapshot reads every page: the server finds the damage and goes.
	h.waitFor("the server to exit on the damaged store", 30*time.Second, func() bool { return !alive(pid) })
	if b, _ := os.ReadFile(filepath.Join(h.home, "server.log")); !strings.Contains(string(b), "the store is damaged") {
		t.Errorf("the server's log does not say why it exited")
	}
	r = h.run("results", id)
	m := regexp.MustCompile("burst server restore (\\S+)`").FindStringSubmatch(r.stderr)
	if r.code == 0 || m == nil || r.stdout != "" {
		t.Fatalf("after the server left, results must fail and name the snapshot to restore:\n%s", r)
	}
	// The server that met the damage marked the store for the next start.
	mark := filepath.Join(h.home, "state.db.damaged-marker")
	if b, err := os.ReadFile(mark); err != nil || len(b) == 0 {
		t.Errorf("the server that met the damage left no mark for the next start (%v)", err)
	}
	h.mustRun("server", "stop", "--all")
	h.mustRun("server", "restore", m[1])
	if _, err := os.Stat(mark); err == nil {
		t.Errorf("the restore left the damaged store's mark in place")
	}
	recordFault(t, servedInFull(t, h, id, n, "corrupt store under a running server, restored"))
}

// damageIndex makes the index jobs_project of the stopped store at path
// disagree with its table, every page staying well formed: its schema entry
// is rewritten (PRAGMA writable_schema, sqlite.org/pragma.html) to index
// other columns than the entries it holds. quick_check does not compare an
// index with its table ("does not verify ... that index content matches
// table content", sqlite.org/pragma.html#pragma_quick_check);
// integrity_check does.
func damageIndex(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"PRAGMA writable_schema = ON",
		"UPDATE sqlite_schema SET sql = 'CREATE INDEX jobs_project ON jobs(state, id)' WHERE name = 'jobs_project'",
		"PRAGMA writable_schema = OFF",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var ok string
	if err := db.QueryRow("PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("quick_check of the store with a damaged index: %q %v; want ok (the damage it does not see)", ok, err)
	}
}

// A store a server found damaged while serving it, where the damage is one
// quick_check does not see (an index whose entries do not match its table),
// is not served again on quick_check's word: the server that met it left a
// mark (here written as storeCorrupt writes it, since no statement of
// burst's is sure to trip on this index), and the next start runs the full
// integrity_check, refuses the store with the recovery steps, and stays
// down: no start, exit and start again per command. A restore of the
// snapshot serves every result, and removes the mark.
func TestFaultStoreDamagedIndexMarked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("BURST_SNAPSHOT_EVERY", "1s")
	const n = 300
	args := []string{"map", "-d", "--", "echo", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	id := strings.TrimSpace(h.mustRun(args...).stdout)
	h.mustRun("wait", id)
	ended := time.Now()
	backups := filepath.Join(h.home, "backups")
	h.waitFor("a snapshot begun after the map ended", 30*time.Second, func() bool {
		return snapshotSince(backups, ended)
	})
	h.mustRun("server", "stop", "--all")
	db := filepath.Join(h.home, "state.db")
	damageIndex(t, db)
	mark := filepath.Join(h.home, "state.db.damaged-marker")
	if err := os.WriteFile(mark, []byte("2027-01-01T00:00:00Z database disk image is malformed (11)\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for range 2 { // and again: the store stays refused, the mark stays
		r := h.run("jobs")
		m := regexp.MustCompile("burst server restore (\\S+)`").FindStringSubmatch(r.stderr)
		if r.code == 0 || m == nil || !strings.Contains(r.stderr, "integrity_check") || !strings.Contains(r.stderr, "jobs_project") {
			t.Fatalf("a marked store with a damaged index: want a refusal naming integrity_check's finding and the snapshot to restore:\n%s", r)
		}
		if _, err := os.Stat(mark); err != nil {
			t.Fatalf("the mark of a store still damaged: %v", err)
		}
		if r.stdout != "" {
			t.Fatalf("a refused store still answered: %q", tail(r.stdout, 200))
		}
	}
	snaps, _ := filepath.Glob(filepath.Join(backups, "state-*.db"))
	h.mustRun("server", "restore", snaps[len(snaps)-1])
	if _, err := os.Stat(mark); err == nil {
		t.Errorf("the restore left the mark in place")
	}
	recordFault(t, servedInFull(t, h, id, n, "damaged index (quick_check passes), marked by its server, restored"))
}

// A store marked damaged that the full integrity_check finds whole (the
// damage was in a file since replaced, or the read that failed was not the
// store's) is served, and its mark removed.
func TestFaultStoreMarkedButWhole(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := strings.TrimSpace(h.mustRun("map", "-d", "--", "echo", "{}", ":::", "1", "2", "3").stdout)
	h.mustRun("wait", id)
	h.mustRun("server", "stop", "--all")
	mark := filepath.Join(h.home, "state.db.damaged-marker")
	if err := os.WriteFile(mark, []byte("2027-01-01T00:00:00Z a read failed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.mustRun("results", id); r.stdout != "1\n2\n3\n" {
		t.Fatalf("results of a whole store that was marked: %q", r.stdout)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Errorf("a whole store's mark outlived its start")
	}
}

// garbage writes 4 KiB of bytes that are no SQLite page over the middle
// of the file at path (page-aligned, as a torn or misdirected write is).
func garbage(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*131 + 7)
	}
	off := fi.Size() / 2 / 4096 * 4096
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote 4 KiB of garbage at offset %d of %s (%d bytes)", off, path, fi.Size())
}

// A home made beforehand with 0755 and files 0644 (as mkdir and a umask of
// 022 leave them) is private after the first command: the home and every
// directory in it 0700, every file 0600, the store, its WAL, the logs of
// tasks and the snapshots included, even under a umask of 000.
func TestFaultStorePrivateHome(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("BURST_SNAPSHOT_EVERY", "1s")
	logs := filepath.Join(h.home, "logs", "old")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{h.home, filepath.Join(h.home, "logs"), logs} {
		os.Chmod(p, 0o755)
	}
	writeFile(t, filepath.Join(logs, "1.out"), "an old task's output\n", 0o644)
	writeFile(t, filepath.Join(h.home, "token"), randHex(32)+"\n", 0o644)
	writeFile(t, filepath.Join(h.home, "server.log"), "", 0o644)

	const n = 20
	// Task 1 writes more than a pack holds (64 KiB), so that its logs are
	// files of its own; the others' small outputs go to pack files
	// (docs/logs.md): the walk below sees both kinds.
	args := []string{"map", "--", "sh", "-c", `echo out $1; echo err $1 >&2; if [ $1 = 1 ]; then head -c 70000 /dev/zero | tr '\0' y; echo; head -c 70000 /dev/zero | tr '\0' y >&2; fi`, "_", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	c := h.command(args...)
	c.Path, c.Args = "/bin/sh", append([]string{"sh", "-c", `umask 000; exec "$0" "$@"`, burstBin}, args...)
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("map under umask 000: %s", r)
	}
	h.waitFor("a snapshot", 30*time.Second, func() bool {
		snaps, _ := filepath.Glob(filepath.Join(h.home, "backups", "state-*.db"))
		return len(snaps) > 0
	})

	row := faultRow{Fault: "pre-made 0755 home, 0644 files, umask 000", Tasks: n}
	got := map[string]bool{}
	for _, l := range strings.Split(r.stdout, "\n") {
		got[l] = true
	}
	for i := 1; i <= n; i++ {
		if !got["out "+strconv.Itoa(i)] {
			row.Lost++
		}
	}
	var open []string
	kinds := map[string]int{}
	filepath.WalkDir(h.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if fi.Mode().Perm()&0o077 != 0 {
			open = append(open, fi.Mode().Perm().String()+" "+p)
		}
		switch {
		case strings.HasPrefix(filepath.Base(p), "pack-"):
			kinds["pack files"]++
		case strings.HasSuffix(p, ".out") || strings.HasSuffix(p, ".err"):
			kinds["task logs"]++
		case strings.Contains(p, "state.db"):
			kinds["store files"]++
		case strings.Contains(p, "backups"):
			kinds["snapshots"]++
		}
		return nil
	})
	if len(open) > 0 {
		t.Errorf("open to group or others after the first command:\n%s", strings.Join(open, "\n"))
	}
	// What the walk covered: the check is only as good as the files it saw.
	if kinds["task logs"] < 2 || kinds["pack files"] < 2 || kinds["store files"] < 2 || kinds["snapshots"] < 1 {
		t.Errorf("the walk saw %v; want a task's own logs (2), pack files (2), the store's files and a snapshot", kinds)
	}
	recordFault(t, row)
}

// A home that another user owns is refused, with the fix named, and no
// server starts there.
func TestFaultStoreForeignHome(t *testing.T) {
	t.Parallel()
	needRoot(t, "giving a home to another user")
	h := newHarness(t)
	if err := os.Mkdir(h.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(h.home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := h.run("run", "--", "true")
	if r.code == 0 {
		t.Fatalf("a command in another user's home succeeded: %s", r)
	}
	msg := strings.TrimSpace(r.stderr)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "chown") || !strings.Contains(msg, "BURST_HOME") || !strings.Contains(msg, "another user") {
		t.Errorf("want one line naming the owner and the fix (chown, or a BURST_HOME of your own):\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(h.home, "server.json")); err == nil {
		t.Error("a server started in another user's home")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(h.home, "state.db"), &st); err == nil {
		t.Error("a store was created in another user's home")
	}
}

// needRoot skips, loudly, a test that must act as another user, and fails
// it under BURST_CI=1, where it must run.
func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Getuid() == 0 {
		return
	}
	if os.Getenv("BURST_CI") == "1" {
		t.Fatalf("%s needs root, and BURST_CI=1 asks that it run", what)
	}
	t.Skipf("SKIPPED: %s needs root", what)
}

// Links that another user planted in a home open to all (0777) are
// refused, each with the fix (`rm LINK`): state.db and logs leading into
// that user's directory would have burst write the store (every job's
// environment) and task logs where they can read them. Nothing is written
// through them, and the refusal comes before any server starts.
func TestFaultStorePlantedLinks(t *testing.T) {
	t.Parallel()
	needRoot(t, "planting links as another user")
	const nobody = 65534
	for _, tc := range []struct {
		name  string
		plant string // the link's name in the home
		own   int    // the link's owner (root: the target is another user's)
	}{
		{"their link to their directory", "logs", nobody},
		{"their link to their file", "state.db", nobody},
		{"our link to their directory", "logs", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			theirs := filepath.Join(t.TempDir(), "theirs")
			if err := os.Mkdir(h.home, 0o777); err != nil {
				t.Fatal(err)
			}
			os.Chmod(h.home, 0o777)
			if err := os.Mkdir(theirs, 0o777); err != nil {
				t.Fatal(err)
			}
			os.Chmod(theirs, 0o777)
			os.Chmod(filepath.Dir(theirs), 0o755)
			target := theirs
			if tc.plant == "state.db" {
				target = filepath.Join(theirs, "loot.db")
				writeFile(t, target, "", 0o666)
				os.Chown(target, nobody, nobody)
			}
			if err := os.Chown(theirs, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(h.home, tc.plant)
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(link, tc.own, tc.own); err != nil {
				t.Fatal(err)
			}
			r := h.run("run", "--", "sh", "-c", "echo SECRET=$0", "hunter2")
			row := faultRow{Fault: "planted link in a 0777 home: " + tc.name, Tasks: 1}
			if r.code == 0 {
				t.Errorf("a command through a planted link succeeded: %s", r)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "rm "+link) {
				t.Errorf("want one line naming the fix (rm %s):\n%s", link, r)
			}
			filepath.WalkDir(theirs, func(p string, d fs.DirEntry, err error) error {
				if err == nil && p != theirs && p != target {
					t.Errorf("burst wrote %s through the planted link", p)
				}
				return nil
			})
			if fi, err := os.Stat(target); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
				t.Errorf("burst wrote the store through the planted link into %s (%d bytes)", target, fi.Size())
			}
			if _, err := os.Stat(filepath.Join(h.home, "server.json")); err == nil {
				t.Error("a server started in a home with a planted link")
			}
			recordFault(t, row)
		})
	}
}

// burst server backup copies the store while a map writes to it, and the
// copy restores; the commands refuse what they must (an existing file, a
// restore while a server runs, a file that is no burst store).
func TestStoreBackupRestoreCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Slow enough that tasks are still queued when the backup is taken:
	// restored, they run again (at least once), and each input's line
	// must still be printed once.
	const n = 300
	args := []string{"map", "-d", "-j", "2", "--", "sh", "-c", "echo $0; sleep 0.01", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	first := strings.TrimSpace(h.mustRun("run", "-d", "--", "echo", "before").stdout)
	h.mustRun("wait", first)
	busy := strings.TrimSpace(h.mustRun(args...).stdout)
	copy1 := filepath.Join(h.root, "copy1.db")
	r := h.mustRun("server", "backup", copy1) // while the map runs
	if !strings.Contains(r.stdout, "burst server restore "+copy1) {
		t.Errorf("backup does not say how to restore: %s", r)
	}
	if fi, err := os.Stat(copy1); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want a 0600 file", fi, err)
	}
	if j := h.show(mustID(t, busy)); j.State == "succeeded" {
		t.Logf("the map ended before the backup: the restore reruns nothing")
	}
	if r := h.run("server", "backup", copy1); r.code != 2 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("a backup over an existing file: want exit 2 naming it:\n%s", r)
	}
	if r := h.run("server", "restore", copy1); r.code != 2 || !strings.Contains(r.stderr, "burst server stop") {
		t.Errorf("a restore while the server runs: want exit 2 naming burst server stop:\n%s", r)
	}
	h.mustRun("wait", busy)
	// A job made after the backup: the restored store gives its id again.
	lost := strings.TrimSpace(h.mustRun("run", "-d", "--", "echo", "lost job").stdout)
	h.mustRun("wait", lost)
	h.mustRun("server", "stop", "--all")
	notes := filepath.Join(h.root, "notes.txt")
	writeFile(t, notes, strings.Repeat("not a store\n", 1000), 0o600)
	if r := h.run("server", "restore", notes); r.code != 2 || !strings.Contains(r.stderr, "cannot restore") {
		t.Errorf("a restore from a text file: want exit 2:\n%s", r)
	}
	h.mustRun("server", "restore", copy1)
	if out := h.mustRun("results", first).stdout; out != "before\n" {
		t.Errorf("the restored store's first job: %q, want %q", out, "before\n")
	}
	// The map's tasks queued in the backup run again; each line once.
	h.mustRun("wait", busy)
	row := faultRow{Fault: "restore to a backup taken while a map ran", Tasks: n}
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(h.mustRun("results", busy).stdout, "\n"), "\n") {
		seen[l]++
	}
	for i := 1; i <= n; i++ {
		switch c := seen[strconv.Itoa(i)]; {
		case c == 0:
			row.Lost++
		case c > 1:
			row.Duplicated++
		}
	}
	if row.Lost+row.Duplicated > 0 {
		t.Errorf("after the restore, map %s printed %d inputs' lines more than once and lost %d", busy, row.Duplicated, row.Lost)
	}
	// A new job that takes the lost job's id shows its own output alone.
	again := strings.TrimSpace(h.mustRun("run", "-d", "--", "echo", "new job").stdout)
	h.mustRun("wait", again)
	if out := h.mustRun("results", again).stdout; out != "new job\n" {
		t.Errorf("job %s (the lost job was %s) after the restore: results %q, want %q", again, lost, out, "new job\n")
	}
	recordFault(t, row)
}

// Copies of the store (snapshots, backups) are full copies on the home's
// filesystem: on a filesystem that has room for new work but not for a
// copy and the free space burst keeps, `burst server backup` is refused
// with the filesystem named and what to free, a snapshot is skipped with a
// warning in the log, nothing half-written stays; once room returns, both
// work again. Before, each copy was written regardless, down to the last
// byte of the disk the running tasks' results need.
func TestFaultStoreCopiesNeedRoom(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "32m")
	h.setEnv("BURST_SNAPSHOT_EVERY", "1s")
	const n = 1000
	args := []string{"map", "-d", "--", "echo", "{}", ":::"}
	for i := 1; i <= n; i++ {
		args = append(args, strconv.Itoa(i))
	}
	id := strings.TrimSpace(h.mustRun(args...).stdout)
	h.mustRun("wait", id)
	backups := filepath.Join(h.home, "backups")
	newest := func() time.Time {
		var t time.Time
		snaps, _ := filepath.Glob(filepath.Join(backups, "state-*.db"))
		for _, s := range snaps {
			if fi, err := os.Stat(s); err == nil && fi.ModTime().After(t) {
				t = fi.ModTime()
			}
		}
		return t
	}
	ended := time.Now()
	h.waitFor("a snapshot begun after the map ended", 30*time.Second, func() bool { return newest().After(ended) })

	// Leave room for new work, not for a copy of the store as well.
	var size int64
	for _, p := range []string{"state.db", "state.db-wal"} {
		if fi, err := os.Stat(filepath.Join(h.home, p)); err == nil {
			size += fi.Size()
		}
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(h.home, &fs); err != nil {
		t.Fatal(err)
	}
	free, total := int64(fs.Bavail)*fs.Bsize, int64(fs.Blocks)*fs.Bsize
	keep := min(64<<20, total/20) // the server's minFree (disk.go)
	ballast := free - keep - size/3
	if ballast <= 0 {
		t.Fatalf("the tmpfs is too small for this test: %d free, store %d, kept %d", free, size, keep)
	}
	if err := os.WriteFile(filepath.Join(h.home, "ballast"), make([]byte, ballast), 0o600); err != nil {
		t.Fatal(err)
	}
	filled := time.Now()

	dst := filepath.Join(t.TempDir(), "backup.db")
	r := h.run("server", "backup", dst)
	if r.code == 0 || !strings.Contains(r.stderr, "no room for a copy of the store") || !strings.Contains(r.stderr, "filesystem "+h.home) ||
		!strings.Contains(r.stderr, "free at least") {
		t.Fatalf("a backup with no room for it: want a refusal naming the filesystem and what to free:\n%s", r)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("a refused backup left %s", dst)
	}
	// New work is still taken (it starts once there is room: below twice
	// the kept space no task starts, disk.go roomToStart); the snapshot
	// its write calls for is skipped.
	held := mustID(t, strings.TrimSpace(h.mustRun("run", "-d", "--", "true").stdout))
	h.waitFor("the snapshot skipped for want of room, in the log", 30*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(h.home, "server.log"))
		return strings.Contains(string(b), "snapshot of the store skipped")
	})
	if newest().After(filled) {
		t.Errorf("a snapshot was written with no room for it")
	}
	if left, _ := filepath.Glob(filepath.Join(backups, "*.tmp")); len(left) > 0 {
		t.Errorf("a skipped snapshot left %v", left)
	}

	// Room again: both work.
	if err := os.Remove(filepath.Join(h.home, "ballast")); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	h.mustRun("server", "backup", dst)
	h.mustRun("wait", idArg(held))
	h.mustRun("run", "--", "true")
	h.waitFor("a snapshot once there is room", 30*time.Second, func() bool { return newest().After(freed) })
	recordFault(t, servedInFull(t, h, id, n, "snapshots and backups with no room for a copy (tmpfs)"))
}

// snapshotSince reports whether backups holds a snapshot begun after t: its
// name is the time it began (server/snapshot.go), and what it holds is the
// store as it was then. Its file's time is when it was written whole, and a
// snapshot begun before a map's last tasks ended and written after (each
// second under a loaded host) holds them still running: restored, they run
// again.
func snapshotSince(backups string, t time.Time) bool {
	snaps, _ := filepath.Glob(filepath.Join(backups, "state-*.db"))
	for _, s := range snaps {
		stamp := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "state-"), ".db")
		if at, err := time.Parse("20060102T150405.000Z", stamp); err == nil && at.After(t) {
			return true
		}
	}
	return false
}
