package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// stageFile writes data at rel under dir, making its directories.
func stageFile(t *testing.T, dir, rel string, data []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
}

// cachedCopies are the files of the agents' blob cache holding digest.
func cachedCopies(h *harness, data []byte) []string {
	sum := sha256.Sum256(data)
	hx := hex.EncodeToString(sum[:])
	m, _ := filepath.Glob(filepath.Join(h.home, "cache", "sha256", "*", hx))
	return m
}

// A run with --in (a file, a directory) and --out runs in a private
// directory holding the inputs at their relative paths, and its outputs
// come back byte-identical: by itself after the run, and with results
// --fetch into another directory (a second fetch skips what is there).
func TestStageRunLocal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	big := make([]byte, 3<<20)
	rand.Read(big)
	stageFile(t, h.dir, "data.csv", big, 0o644)
	stageFile(t, h.dir, "refs/a.txt", []byte("ref a\n"), 0o644)
	stageFile(t, h.dir, "refs/deep/b.txt", []byte("ref b\n"), 0o644)
	stageFile(t, h.dir, "fit.sh", []byte("#!/bin/sh\nset -e\ntest \"$(pwd)\" != \""+h.dir+"\"\nmkdir -p results\ncat \"$1\" refs/a.txt refs/deep/b.txt > results/all.csv\npwd > results/where.csv\n"), 0o755)
	os.Remove(filepath.Join(h.dir, "results"))
	r := h.mustRun("run", "--in", "data.csv", "--in", "refs", "--in", "fit.sh", "--out", "results/*.csv", "--out", "*.bam", "--", "./fit.sh", "data.csv")
	want := append(append(bytes.Clone(big), "ref a\n"...), "ref b\n"...)
	got, err := os.ReadFile(filepath.Join(h.dir, "results", "all.csv"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fetched output: %d bytes, %v; want %d bytes, identical\n%s", len(got), err, len(want), r)
	}
	where, _ := os.ReadFile(filepath.Join(h.dir, "results", "where.csv"))
	if !strings.Contains(string(where), filepath.Join("work", "1", "0")) {
		t.Errorf("the task ran in %q, want its private directory work/1/0", where)
	}
	if !strings.Contains(r.stderr, "fetched 2 outputs") {
		t.Errorf("run should say what it fetched:\n%s", r)
	}
	id := jobIDFrom(t, r)
	if j := h.show(id); !strings.Contains(j.task0(t).Reason, "'*.bam' matched no file") {
		t.Errorf("task reason %q should say that --out '*.bam' matched nothing", j.task0(t).Reason)
	}
	back := filepath.Join(h.root, "back")
	h.mustRun("results", idArg(id), "--fetch", back)
	if got, _ := os.ReadFile(filepath.Join(back, "results", "all.csv")); !bytes.Equal(got, want) {
		t.Fatalf("results --fetch: %d bytes, want %d identical", len(got), len(want))
	}
	r = h.mustRun("results", idArg(id), "--fetch", back)
	if !strings.Contains(r.stderr, "fetched 0 outputs") || !strings.Contains(r.stderr, "2 already there") {
		t.Errorf("a second fetch should skip both files:\n%s", r)
	}
	show := h.mustRun("show", idArg(id))
	for _, w := range []string{"data.csv (3 MiB)", "refs/deep/b.txt", "task 0: results/all.csv"} {
		if !strings.Contains(show.stdout, w) {
			t.Errorf("burst show lacks %q:\n%s", w, show.stdout)
		}
	}
	if n := len(cachedCopies(h, big)); n != 1 {
		t.Errorf("the cache holds %d copies of data.csv, want 1", n)
	}
	// The docs' first example, as a newcomer types it: the program itself
	// is staged without an --in of its own (the task's directory holds only
	// what is staged).
	os.RemoveAll(filepath.Join(h.dir, "results"))
	r = h.mustRun("run", "--in", "data.csv", "--in", "refs/", "--out", "results/*.csv", "--", "./fit.sh", "data.csv")
	if got, _ := os.ReadFile(filepath.Join(h.dir, "results", "all.csv")); !bytes.Equal(got, want) {
		t.Errorf("./fit.sh staged by itself: %d bytes of output, want %d\n%s", len(got), len(want), r)
	}
	// A program that is not here, named relative: the reason says what a
	// staged task's directory holds and how to stage it.
	r = h.run("run", "--in", "data.csv", "--", "./gone.sh", "data.csv")
	if r.code != 127 || !strings.Contains(r.stderr, "holding only what is staged: stage the program too (--in ./gone.sh)") {
		t.Errorf("a staged task whose program is missing: %s", r)
	}
	for _, bad := range [][]string{
		{"run", "--in", "/etc/hostname", "--", "true"},
		{"run", "--in", "missing.csv", "--", "true"},
		{"run", "--out", "../x", "--", "true"},
	} {
		if r := h.run(bad...); r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%v: want a one-line refusal:\n%s", bad, r)
		}
	}
}

// A map over 20 files stages each task's own file (and no other's) plus
// a shared 50 MB input that 10 tasks at once use: the machine's cache
// holds one copy. A cache file corrupted afterwards is detected and
// fetched again, and the tasks still read the right bytes.
func TestStageMapSharedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	shared := make([]byte, 50<<20)
	rand.Read(shared)
	stageFile(t, h.dir, "ref.bin", shared, 0o644)
	sum := sha256.Sum256(shared)
	var files []string
	for i := range 20 {
		f := fmt.Sprintf("in/%02d.txt", i)
		stageFile(t, h.dir, f, []byte(fmt.Sprintf("input %d\n", i)), 0o644)
		files = append(files, f)
	}
	script := `set -e; ls in > seen.out; cat "$1" >> seen.out; sha256sum ref.bin | cut -c1-64 >> seen.out`
	args := append([]string{"map", "--quiet", "--in", "ref.bin", "--out", "seen.out", "--", "sh", "-c", script, "_", "{}", ":::"}, files...)
	r := h.mustRun(args...)
	id := jobIDFrom(t, r)
	out := filepath.Join(h.root, "out")
	r = h.mustRun("results", idArg(id), "--fetch", out)
	if !strings.Contains(r.stderr, "<task index>") {
		t.Errorf("colliding outputs should be said to go under per-task directories:\n%s", r)
	}
	for i := range 20 {
		got, err := os.ReadFile(filepath.Join(out, fmt.Sprint(i), "seen.out"))
		want := fmt.Sprintf("%02d.txt\ninput %d\n%s\n", i, i, hex.EncodeToString(sum[:]))
		if err != nil || string(got) != want {
			t.Fatalf("task %d saw %q, %v; want only its own file and the shared one: %q", i, got, err, want)
		}
	}
	copies := cachedCopies(h, shared)
	if len(copies) != 1 {
		t.Fatalf("the cache holds %d copies of the shared input, want 1", len(copies))
	}
	// Corrupt it: the next task must not read the bad bytes.
	os.Chmod(copies[0], 0o644)
	bad := bytes.Clone(shared)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(copies[0], bad, 0o444); err != nil {
		t.Fatal(err)
	}
	r = h.mustRun("map", "--quiet", "--in", "ref.bin", "--out", "seen.out", "--", "sh", "-c", script, "_", "{}", ":::", files[0])
	out2 := filepath.Join(h.root, "out2")
	h.mustRun("results", idArg(jobIDFrom(t, r)), "--fetch", out2)
	got, _ := os.ReadFile(filepath.Join(out2, "seen.out"))
	if !strings.HasSuffix(string(got), hex.EncodeToString(sum[:])+"\n") {
		t.Fatalf("after the cache file was corrupted the task read %q; want the right bytes", got)
	}
	if now, _ := os.ReadFile(copies[0]); !bytes.Equal(now, shared) {
		t.Fatal("the corrupted cache file was not fetched again")
	}
}

// Unlike burst run, an attached burst map leaves its tasks' --out files in
// the store: it says so on stderr, naming the command that brings them
// here, and that command does. A map without --out says nothing of it.
func TestStageMapSaysHowToFetch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("map", "--out", "*.out", "--", "sh", "-c", `echo "$1" > "$1.out"`, "_", "{}", ":::", "a", "b")
	id := jobIDFrom(t, r)
	hint := fmt.Sprintf("`burst results %d --fetch [DIR]`", id)
	if !strings.Contains(r.stderr, hint) {
		t.Fatalf("a map with --out:\n%s\nwant stderr to name %s", r, hint)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "a.out")); err == nil {
		t.Fatal("the map fetched its outputs itself: the hint would be wrong")
	}
	h.mustRun("results", idArg(id), "--fetch", ".")
	for _, in := range []string{"a", "b"} {
		if got, err := os.ReadFile(filepath.Join(h.dir, in+".out")); err != nil || string(got) != in+"\n" {
			t.Fatalf("%s.out after the hinted fetch: %q, %v", in, got, err)
		}
	}
	if r := h.mustRun("map", "--", "echo", ":::", "a"); strings.Contains(r.stderr, "--fetch") {
		t.Fatalf("a map without --out:\n%s\nwant no fetch hint", r)
	}
}

// An output a task left world-writable and setuid comes back as cp
// without -p would copy it: its permission bits less the fetcher's umask,
// no setuid, setgid or sticky bit; an executable stays executable.
func TestFetchedOutputModeIsUmasked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("run", "--out", "tool.sh", "--out", "data.txt", "--", "sh", "-c",
		"printf '#!/bin/sh\\necho hi\\n' > tool.sh && chmod 6777 tool.sh && echo x > data.txt && chmod 0666 data.txt")
	id := jobIDFrom(t, r)
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	back := filepath.Join(h.root, "back")
	h.mustRun("results", idArg(id), "--fetch", back)
	for name, task := range map[string]os.FileMode{"tool.sh": 0o777, "data.txt": 0o666} {
		fi, err := os.Stat(filepath.Join(back, name))
		if err != nil {
			t.Fatal(err)
		}
		want := task &^ os.FileMode(mask)
		if fi.Mode() != want { // fi.Mode() holds the setuid/setgid bits too
			t.Errorf("fetched %s has mode %v, want %v (the task's %o less the umask %03o, nothing else)", name, fi.Mode(), want, task, mask)
		}
	}
}
