package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ---- helpers for `burst map` (names chosen not to clash with mapcore_test.go) ----

// mapRecord is one element of `burst results -o json`.
type mapRecord struct {
	Index      int      `json:"index"`
	Input      []string `json:"input"`
	State      string   `json:"state"`
	Attempt    int      `json:"attempt"`
	ExitCode   *int     `json:"exit_code"`
	Reason     string   `json:"reason"`
	StdoutPath string   `json:"stdout_path"`
	StderrPath string   `json:"stderr_path"`
	StdoutFrom int64    `json:"stdout_from"`
	StdoutTo   int64    `json:"stdout_to"`
	StderrFrom int64    `json:"stderr_from"`
	StderrTo   int64    `json:"stderr_to"`
}

// readRange reads bytes [from, to) of the file at path (to 0: its end), as
// a task's record places its output: its own log, or its range of a pack
// file shared with other tasks of the map.
func readRange(path string, from, to int64) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if to == 0 {
		to = int64(len(b))
	}
	if from > to || to > int64(len(b)) {
		return b, fmt.Errorf("range [%d, %d) is outside the file's %d bytes", from, to, len(b))
	}
	return b[from:to], nil
}

// mapJob is `burst show -o json` with the task counts.
type mapJob struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Reason   string `json:"reason"`
	ExitCode *int   `json:"exit_code"`
	Tasks    struct {
		Total, Queued, Running, Succeeded, Failed, Cancelled, Timeout, Lost int
	} `json:"tasks"`
	TaskList []taskJSON `json:"task_list"`
}

func (h *harness) mapShow(id int64) mapJob {
	h.t.Helper()
	r := h.mustRun("show", "-o", "json", idArg(id))
	var j mapJob
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		h.t.Fatalf("show -o json: %v\n%s", err, r)
	}
	if j.ID != id {
		h.t.Fatalf("show %d -o json answered about job %d", id, j.ID)
	}
	return j
}

// mapRecords is `burst results ID -o json`, decoded; it also checks that
// every record carries every documented key.
func (h *harness) mapRecords(id int64) []mapRecord {
	h.t.Helper()
	r := h.mustRun("results", idArg(id), "-o", "json")
	var recs []mapRecord
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		h.t.Fatalf("results -o json: %v\n%s", err, r)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		h.t.Fatalf("results -o json: %v\n%s", err, r)
	}
	for i, m := range raw {
		for _, k := range []string{"index", "input", "state", "attempt", "exit_code", "stdout_path", "stderr_path"} {
			if _, ok := m[k]; !ok {
				h.t.Errorf("results -o json: record %d has no %q: %s", i, k, tail(r.stdout, 500))
			}
		}
	}
	return recs
}

var mapIDOnly = regexp.MustCompile(`^[1-9][0-9]*\n$`)

// mapDetached runs `burst map -d ARGS...` and returns the job id, checking
// that stdout is the id and nothing else.
func (h *harness) mapDetached(args ...string) int64 {
	h.t.Helper()
	r := h.mustRun(append([]string{"map", "-d"}, args...)...)
	if !mapIDOnly.MatchString(r.stdout) {
		h.t.Fatalf("map -d: stdout should be the job id and a newline, nothing else:\n%s", r)
	}
	id, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	return id
}

var mapSummaryJob = regexp.MustCompile(`job ([0-9]+): `)

// mapJobFromSummary finds the job id in a failed map's summary on stderr.
func mapJobFromSummary(t *testing.T, r result) int64 {
	t.Helper()
	m := mapSummaryJob.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no \"job N: \" in the summary on stderr:\n%s", r)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// mapNewestJob is the id of the job submitted last.
func (h *harness) mapNewestJob() int64 {
	h.t.Helper()
	js := h.jobsJSON()
	if len(js) == 0 {
		h.t.Fatalf("jobs -o json: no job")
	}
	var id int64
	if err := json.Unmarshal(js[0]["id"], &id); err != nil {
		h.t.Fatalf("jobs -o json: id: %v", err)
	}
	return id
}

// mapSeq is "0" ... "n-1".
func mapSeq(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// mapLineCounts counts how often each line appears in the file at path.
func mapLineCounts(t *testing.T, path string) (map[string]int, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	counts := map[string]int{}
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		counts[l]++
		n++
	}
	return counts, n
}

func mapArgs(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		default:
			panic(fmt.Sprintf("args: %T", p))
		}
	}
	return out
}

// ---- 1. replacement strings and input sources ----

// GNU parallel's replacement strings and input sources give exactly what
// parallel gives, in input order.
func TestMapPlaceholdersAndInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	t.Run("replacement_strings", func(t *testing.T) {
		h := h.sub(t)
		r := h.mustRun("map", "-k", "--", "echo", "{#}", "{}", "{.}", "{/}", "{//}", "{/.}", ":::", "/a/b/c.tar.gz", "x.y")
		// What `parallel -k echo {#} {} {.} {/} {//} {/.} ::: /a/b/c.tar.gz x.y` prints.
		if want := "1 /a/b/c.tar.gz /a/b/c.tar c.tar.gz /a/b c.tar\n2 x.y x x.y . x\n"; r.stdout != want {
			t.Errorf("replacement strings:\n got %q\nwant %q", r.stdout, want)
		}
	})

	t.Run("cartesian_product", func(t *testing.T) {
		h := h.sub(t)
		r := h.mustRun("map", "-k", "--", "echo", "{1}", "{2}", ":::", "a", "b", ":::", "1", "2", "3")
		if want := "a 1\na 2\na 3\nb 1\nb 2\nb 3\n"; r.stdout != want {
			t.Errorf("{1} {2} over two groups (last fastest):\n got %q\nwant %q", r.stdout, want)
		}
		r = h.mustRun("map", "-k", "--", "echo", "{2}/{1/}", "{#}", ":::", "x/p", "y/q", ":::", "u", "v")
		if want := "u/p 1\nv/p 2\nu/q 3\nv/q 4\n"; r.stdout != want {
			t.Errorf("{2}/{1/} {#}:\n got %q\nwant %q", r.stdout, want)
		}
	})

	t.Run("no_placeholder_appends", func(t *testing.T) {
		h := h.sub(t)
		r := h.mustRun("map", "-k", "--", "echo", "pre", ":::", "a", "b c")
		if want := "pre a\npre b c\n"; r.stdout != want {
			t.Errorf("no replacement string: got %q, want %q", r.stdout, want)
		}
		// Each input is appended as its own argument.
		r = h.mustRun("map", "-k", "--", "sh", "-c", `echo "$#:$1|$2"`, "_", ":::", "a b", ":::", "1")
		if want := "2:a b|1\n"; r.stdout != want {
			t.Errorf("two groups appended as two arguments: got %q, want %q", r.stdout, want)
		}
	})

	t.Run("input_file", func(t *testing.T) {
		h := h.sub(t)
		f := filepath.Join(h.dir, "inputs.txt")
		writeFile(t, f, "l1\nl 2\n\nlast", 0o644)
		r := h.mustRun("map", "-k", "--", "printf", `[%s]\n`, "{}", "::::", f)
		if want := "[l1]\n[l 2]\n[]\n[last]\n"; r.stdout != want {
			t.Errorf(":::: FILE (one input per line, empty lines kept):\n got %q\nwant %q", r.stdout, want)
		}
	})

	t.Run("over_glob", func(t *testing.T) {
		h := h.sub(t)
		d := filepath.Join(h.dir, "d")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"b.txt", "a.txt", "x y.txt", "c.log"} {
			writeFile(t, filepath.Join(d, n), "", 0o644)
		}
		// Relative pattern, expanded by burst in the working directory.
		r := h.mustRun("map", "-k", "--over", "d/*.txt", "--", "printf", `[%s]\n`, "{/.}")
		if want := "[a]\n[b]\n[x y]\n"; r.stdout != want {
			t.Errorf("--over 'd/*.txt':\n got %q\nwant %q", r.stdout, want)
		}
		if r := h.run("map", "--over", "d/*.nothing", "--", "echo"); r.code != 255 {
			t.Errorf("--over matching nothing: want exit 255:\n%s", r)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		h := h.sub(t)
		c := h.command("map", "-k", "--", "echo", "X")
		c.Stdin = strings.NewReader("s1\ns 2\n")
		r := h.exec(c)
		if r.code != 0 || r.stdout != "X s1\nX s 2\n" {
			t.Errorf("inputs from stdin with no ::: (want %q):\n%s", "X s1\nX s 2\n", r)
		}
		c = h.command("map", "-k", "--", "echo", "{}", "{#}", "::::", "-")
		c.Stdin = strings.NewReader("p\nq\n")
		r = h.exec(c)
		if r.code != 0 || r.stdout != "p 1\nq 2\n" {
			t.Errorf(":::: - (want %q):\n%s", "p 1\nq 2\n", r)
		}
	})
}

// ---- 2. ordering and results ----

// With -k, outputs come in input order even when tasks end in another
// order; `burst results` prints them in input order too, and -o json
// describes every task.
func TestMapKeepOrderAndResults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Task i sleeps 0.(5-i) s: the later inputs end first.
	script := `sleep 0.$((5-$1)); echo "out $1"; echo "err $1" >&2`
	in := []string{"1", "2", "3", "4", "5"}
	want := "out 1\nout 2\nout 3\nout 4\nout 5\n"

	r := h.mustRun(mapArgs("map", "-k", "--", "sh", "-c", script, "_", "{}", ":::", in)...)
	if r.stdout != want {
		t.Errorf("-k: got %q, want %q (input order)", r.stdout, want)
	}
	if !strings.HasSuffix(r.stderr, "err 1\nerr 2\nerr 3\nerr 4\nerr 5\n") {
		t.Errorf("-k: the tasks' stderr should follow on stderr in input order:\n%s", r)
	}

	id := h.mapDetached(mapArgs("--", "sh", "-c", script, "_", "{}", ":::", in)...)
	// results waits for the tasks that have not finished.
	if out := h.mustRun("results", idArg(id)).stdout; out != want {
		t.Errorf("burst results: got %q, want %q", out, want)
	}
	recs := h.mapRecords(id)
	if len(recs) != len(in) {
		t.Fatalf("results -o json: %d records, want %d", len(recs), len(in))
	}
	for i, rec := range recs {
		if rec.Index != i || !slices.Equal(rec.Input, []string{in[i]}) || rec.State != "succeeded" ||
			rec.ExitCode == nil || *rec.ExitCode != 0 || rec.Attempt != 1 {
			t.Errorf("record %d = %+v; want index %d, input [%s], succeeded, exit_code 0, attempt 1", i, rec, i, in[i])
			continue
		}
		if b, err := readRange(rec.StdoutPath, rec.StdoutFrom, rec.StdoutTo); err != nil || string(b) != "out "+in[i]+"\n" {
			t.Errorf("record %d: stdout_path %q holds %q (%v), want %q", i, rec.StdoutPath, b, err, "out "+in[i]+"\n")
		}
		if b, err := readRange(rec.StderrPath, rec.StderrFrom, rec.StderrTo); err != nil || string(b) != "err "+in[i]+"\n" {
			t.Errorf("record %d: stderr_path %q holds %q (%v), want %q", i, rec.StderrPath, b, err, "err "+in[i]+"\n")
		}
	}
}

// ---- 3. injection safety ----

// An input is one argument and never shell text; with --shell it is quoted.
// Either way nothing in an input runs.
func TestMapInputsAreNeverShellText(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := func(n int) string { return filepath.Join(h.dir, "pwned"+strconv.Itoa(n)) }
	evil := []string{
		"; touch " + p(1),
		"$(touch " + p(2) + ")",
		"`touch " + p(3) + "`",
		"x && touch " + p(4),
		"| touch " + p(5),
		"it's \"quoted\" \\ two  spaces",
		"*",
	}
	want := strings.Join(evil, "\n") + "\n"
	check := func(t *testing.T, what string) {
		t.Helper()
		for n := 1; n <= 5; n++ {
			if _, err := os.Stat(p(n)); err == nil {
				t.Errorf("%s: an input ran as shell code: %s exists", what, p(n))
				os.Remove(p(n))
			}
		}
	}

	r := h.mustRun(mapArgs("map", "-k", "--", "printf", `%s\n`, "{}", ":::", evil)...)
	if r.stdout != want {
		t.Errorf("argv mode: inputs not passed literally as one argument each:\n got %q\nwant %q", r.stdout, want)
	}
	check(t, "argv mode")

	r = h.mustRun(mapArgs("map", "-k", "--", "sh", "-c", `echo $#`, "_", "{}", ":::", evil)...)
	if want1 := strings.Repeat("1\n", len(evil)); r.stdout != want1 {
		t.Errorf("argv mode: each input should be exactly one argument: got %q", r.stdout)
	}

	r = h.mustRun(mapArgs("map", "-k", "--shell", "--", `printf '%s\n'`, "{}", ":::", evil)...)
	if r.stdout != want {
		t.Errorf("--shell: inputs not quoted:\n got %q\nwant %q", r.stdout, want)
	}
	check(t, "--shell")

	// --shell with no replacement string: the inputs are appended quoted.
	r = h.mustRun(mapArgs("map", "-k", "--shell", "--", `printf '%s\n'`, ":::", evil)...)
	if r.stdout != want {
		t.Errorf("--shell, inputs appended: not quoted:\n got %q\nwant %q", r.stdout, want)
	}
	check(t, "--shell (appended)")
}

// ---- 4. exit status ----

// 0 when every task succeeded; 1 with a summary naming the failed tasks and
// how to read their logs; 2 for bad input, with no job created.
func TestMapExitStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // start the server, so that its note is not part of what the cases print

	t.Run("all_succeed", func(t *testing.T) {
		h := h.sub(t)
		r := h.run("map", "--", "true", ":::", "a", "b", "c")
		if r.code != 0 || r.stdout != "" || !mapJobLine.MatchString(r.stderr) {
			t.Errorf("every task succeeded: want exit 0, no output but the job line on stderr:\n%s", r)
		}
	})

	t.Run("some_fail", func(t *testing.T) {
		h := h.sub(t)
		// Inputs 3 and 6 (task indices 2 and 5) fail.
		r := h.run("map", "--", "sh", "-c", `if [ $(( $1 % 3 )) = 0 ]; then echo "boom $1" >&2; exit 1; fi`, "_", "{}",
			":::", "1", "2", "3", "4", "5", "6", "7")
		// GNU parallel (man parallel, EXIT STATUS): "1-100 Some of the jobs failed. The exit status
		// gives the number of failed jobs".
		if r.code != 2 {
			t.Fatalf("two tasks failed: want exit 2:\n%s", r)
		}
		if r.stdout != "" {
			t.Errorf("the tasks printed nothing on stdout:\n%s", r)
		}
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		line := lines[len(lines)-1]
		id := mapJobFromSummary(t, r)
		hint := fmt.Sprintf("burst logs %d --task 2 --stderr", id)
		// The summary names the inputs that failed (3 and 6), not 0-based task numbers.
		for _, w := range []string{"2 of 7", "failed inputs: 3, 6;", hint, fmt.Sprintf("--resume %d", id)} {
			if !strings.Contains(line, w) {
				t.Errorf("summary should contain %q:\n%s", w, r)
			}
		}
		// The hint works.
		if lr := h.run("logs", idArg(id), "--task", "2", "--stderr"); lr.code != 0 || lr.stdout != "boom 3\n" {
			t.Errorf("the hinted command: want exit 0 and %q:\n%s", "boom 3\n", lr)
		}
		if j := h.mapShow(id); j.State != "failed" || j.Tasks.Failed != 2 || j.Tasks.Succeeded != 5 {
			t.Errorf("job %s, %d failed, %d succeeded; want failed, 2, 5", j.State, j.Tasks.Failed, j.Tasks.Succeeded)
		}
	})

	// -d (burst's --detach) before ::: is no parallel -d DELIM: a map of commands, detached.
	t.Run("detach_commands", func(t *testing.T) {
		h := h.sub(t)
		r := h.run("map", "-d", ":::", "echo a")
		if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Fatalf("burst map -d ::: 'echo a': %s", r)
		}
		if w := h.run("wait", strings.TrimSpace(r.stdout)); w.code != 0 {
			t.Errorf("the detached map of commands: %s", w)
		}
	})

	t.Run("bad_input", func(t *testing.T) {
		h := h.sub(t)
		before := len(h.jobsJSON())
		for _, c := range [][]string{
			{"map", "echo", "{4}", ":::", "a"}, // without --, as parallel takes it: still checked
			{"map", "--", "echo", "{3}", ":::", "a"},
			{"map", "--", "echo", "{0}", ":::", "a"},
			{"map", "--", "echo", "{1}", "{3}", ":::", "a", ":::", "b"},
			{"map", "--", "echo", "{-2}", ":::", "a"},
			{"map", "--", "echo", "{}", "::::", filepath.Join(h.dir, "no-such-file")},
			{"map", "--max-failures", "abc", "--", "echo", ":::", "a"},
			{"map", "--max-failures", "-1", "--", "echo", ":::", "a"},
			{"map", "--max-failures", "150%", "--", "echo", ":::", "a"},
			{"map", "-j", "1.5", "--", "echo", ":::", "a"}, // parallel refuses it too (-j -1 is CPU threads minus 1)
			{"map", "--resume", "999"},
		} {
			// man parallel, EXIT STATUS: "255 Other error".
			r := h.run(c...)
			if r.code != 255 || r.stdout != "" {
				t.Errorf("bad input: want exit 255 and nothing on stdout:\n%s", r)
				continue
			}
			oneLine(t, r)
		}
		if after := len(h.jobsJSON()); after != before {
			t.Errorf("bad input created %d job(s)", after-before)
		}
	})
}

// ---- 5. retries ----

// --retries reruns a task that failed; the task succeeds on attempt 2 and
// the map exits 0.
func TestMapRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Even inputs fail on their first attempt.
	r := h.run("map", "--retries", "2", "--", "sh", "-c",
		`[ "$BURST_ATTEMPT" -ge 2 ] || [ $(( $1 % 2 )) = 1 ]`, "_", "{}", ":::", "0", "1", "2", "3", "4", "5")
	if r.code != 0 {
		t.Fatalf("want exit 0 (every task succeeds by its 2nd attempt):\n%s", r)
	}
	j := h.mapShow(h.mapNewestJob())
	if j.State != "succeeded" || j.Tasks.Succeeded != 6 || len(j.TaskList) != 6 {
		t.Fatalf("job %s, %d of %d succeeded, %d in task_list; want succeeded, 6 of 6", j.State, j.Tasks.Succeeded, j.Tasks.Total, len(j.TaskList))
	}
	for _, tk := range j.TaskList {
		want := 1 + (1 - tk.Index%2)
		if tk.State != "succeeded" || tk.Attempt != want {
			t.Errorf("task %d: %s on attempt %d, want succeeded on attempt %d", tk.Index, tk.State, tk.Attempt, want)
		}
	}
	// Retries exhausted: the task fails on its last attempt.
	r = h.run("map", "--retries", "1", "--", "sh", "-c", `[ $1 = ok ]`, "_", "{}", ":::", "ok", "bad")
	if r.code != 1 || !strings.Contains(r.stderr, "failed inputs: bad;") {
		t.Errorf("retries exhausted: want exit 1 naming input bad:\n%s", r)
	}
	if j := h.mapShow(mapJobFromSummary(t, r)); len(j.TaskList) != 2 || j.TaskList[1].Attempt != 2 || j.TaskList[1].State != "failed" {
		t.Errorf("retries exhausted: task_list %+v; want task 1 failed on attempt 2", j.TaskList)
	}
}

// With --retries, -k and `burst results` give each task's output once, from
// the attempt that counted, as GNU parallel does (`parallel -k --retries 2`
// prints nothing of a failed attempt that is retried). A failed attempt's
// output mixed into the results would corrupt `burst map -k ... > out`.
func TestMapRetryOutputIsTheFinalAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("map", "-k", "--retries", "1", "--", "sh", "-c",
		`echo "attempt $BURST_ATTEMPT $1"; [ "$BURST_ATTEMPT" -ge 2 ]`, "_", "{}", ":::", "a", "b")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	want := "attempt 2 a\nattempt 2 b\n"
	if r.stdout != want {
		t.Errorf("-k with a retried task: got %q, want %q (only the final attempt's output)", r.stdout, want)
	}
	if out := h.mustRun("results", idArg(h.mapNewestJob())).stdout; out != want {
		t.Errorf("burst results with a retried task: got %q, want %q", out, want)
	}
}

// ---- 6. --max-failures ----

// --max-failures N stops the map once more than N tasks failed: the rest is
// cancelled and the job fails, saying why.
func TestMapMaxFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ran := filepath.Join(h.dir, "ran")
	r := h.run(mapArgs("map", "--max-failures", "3", "--", "sh", "-c", `echo $1 >> "$0"; exit 1`, ran, "{}", ":::", mapSeq(40))...)
	if r.code < 4 || r.code > 40 {
		t.Fatalf("want exit 4 or more (the number of failed tasks):\n%s", r)
	}
	if !strings.Contains(r.stderr, "stopped") || !strings.Contains(r.stderr, "--max-failures") {
		t.Errorf("the summary should say the map stopped because of --max-failures:\n%s", r)
	}
	id := mapJobFromSummary(t, r)
	j := h.mapShow(id)
	if j.State != "failed" || !strings.Contains(j.Reason, "max-failures") {
		t.Errorf("job %s (%q); want failed with a reason naming --max-failures", j.State, j.Reason)
	}
	c := j.Tasks
	if c.Total != 40 || c.Failed < 4 || c.Cancelled == 0 || c.Succeeded != 0 || c.Failed+c.Cancelled != 40 {
		t.Errorf("tasks %+v; want 40 = failed (at least 4) + cancelled (some)", c)
	}
	if _, n := mapLineCounts(t, ran); n >= 40 {
		t.Errorf("%d tasks ran: the map should have stopped before running all 40", n)
	}
	recs := h.mapRecords(id)
	if len(recs) != 40 {
		t.Fatalf("results -o json: %d records, want 40", len(recs))
	}
	failed := 0
	for _, rec := range recs {
		switch rec.State {
		case "failed":
			failed++
		case "cancelled":
		default:
			t.Errorf("record %d is %s; want failed or cancelled", rec.Index, rec.State)
		}
	}
	if failed != c.Failed {
		t.Errorf("results has %d failed tasks, show says %d", failed, c.Failed)
	}
}

// ---- 7. resume ----

// `burst map --resume ID` reruns what did not succeed, never what did. The
// resume is issued right after the map ends, as a user would.
func TestMapResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ran := filepath.Join(h.dir, "ran")
	ok := ran + ".ok"
	const n = 40
	// Even indices fail until ran.ok exists; every run appends its index to ran.
	script := `echo $1 >> "$0"; [ $(( $1 % 2 )) = 1 ] || [ -e "$0.ok" ]`
	r := h.run(mapArgs("map", "--", "sh", "-c", script, ran, "{}", ":::", mapSeq(n))...)
	if r.code != n/2 {
		t.Fatalf("want exit %d (the even tasks fail):\n%s", n/2, r)
	}
	id := mapJobFromSummary(t, r)
	writeFile(t, ok, "", 0o644)

	resume := h.start("map", "--resume", idArg(id))
	select {
	case <-resume.done:
	case <-time.After(30 * time.Second):
		resume.p.cmd.Process.Kill()
		_, runs := mapLineCounts(t, ran)
		t.Fatalf("burst map --resume %d, issued right after the map ended, did not end within 30 s (%d task runs so far, %d expected in all)",
			id, runs, n+n/2)
	}
	if r := resume.result(t); r.code != 0 {
		t.Fatalf("resume: want exit 0:\n%s", r)
	}
	counts, _ := mapLineCounts(t, ran)
	for i := range n {
		want := 1
		if i%2 == 0 {
			want = 2
		}
		if got := counts[strconv.Itoa(i)]; got != want {
			t.Errorf("task %d ran %d times, want %d (resume reruns the failed, never the succeeded)", i, got, want)
		}
	}
	for l := range counts {
		if k, err := strconv.Atoi(l); err != nil || k < 0 || k >= n {
			t.Errorf("a task ran with input %q, which is not one of the map's", l)
		}
	}
	j := h.mapShow(id)
	if j.State != "succeeded" || j.Tasks.Succeeded != n || j.Tasks.Total != n {
		t.Errorf("after resume: job %s, tasks %+v; want succeeded, %d of %d", j.State, j.Tasks, n, n)
	}
	recs := h.mapRecords(id)
	if len(recs) != n {
		t.Fatalf("results -o json: %d records, want %d", len(recs), n)
	}
	for _, rec := range recs {
		want := 1 + (1 - rec.Index%2)
		if rec.State != "succeeded" || rec.Attempt != want {
			t.Errorf("task %d: %s on attempt %d; want succeeded on attempt %d", rec.Index, rec.State, rec.Attempt, want)
		}
	}
	if r := h.run("map", "--resume", idArg(id)); r.code != 0 || !strings.Contains(r.stderr, "nothing to resume") {
		t.Errorf("resuming a map that fully succeeded: want exit 0 (nothing failed), saying there is nothing to resume:\n%s", r)
	}
	if r := h.run("map", "--resume", idArg(id), "--", "echo"); r.code != 255 {
		t.Errorf("--resume with a command: want exit 255:\n%s", r)
	}
}

// TestMapResumeOfArrayPrintsNone: burst map --resume of a job array prints
// none of its tasks' output, as burst run --array prints none (its tasks
// write to their files, as sbatch's do). It printed each line of a task
// whose stdout and stderr share a file twice, once on stdout and once on
// stderr.
func TestMapResumeOfArrayPrintsNone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "job.sh"), "#!/bin/sh\necho out-$SLURM_ARRAY_TASK_ID\necho err-$SLURM_ARRAY_TASK_ID >&2\n", 0o755)
	// log/ does not exist: every task fails, as under Slurm.
	r := h.runIn(h.dir, "run", "--array=1-2", "-o", "log/%A_%a.out", "job.sh")
	if r.code != 1 {
		t.Fatalf("an array whose output directory is missing: want exit 1:\n%s", r)
	}
	id := mapJobFromSummary(t, r)
	if err := os.Mkdir(filepath.Join(h.dir, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = h.runIn(h.dir, "map", "--resume", idArg(id))
	if r.code != 0 {
		t.Fatalf("resume: want exit 0:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "out-") || strings.Contains(r.stdout+r.stderr, "err-") {
		t.Errorf("resume of a job array printed its tasks' output (they write to their files, as burst run --array leaves them):\n%s", r)
	}
	for i, a := range []string{"1", "2"} {
		f := filepath.Join(h.dir, "log", idArg(id)+"_"+a+".out")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if want := "out-" + a + "\nerr-" + a + "\n"; string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
}

// ---- 8. kill -9 during a map ----

const mapKillTasks = 60

// mapStartKill submits a map of mapKillTasks tasks that each append their
// index to a file and print "out INDEX", and returns its id and the file.
func mapStartKill(h *harness) (int64, string) {
	h.t.Helper()
	done := filepath.Join(h.dir, "done")
	id := h.mapDetached(mapArgs("--", "sh", "-c", `sleep 0.1; echo $1 >> "$0"; echo "out $1"`, done, "{}", ":::", mapSeq(mapKillTasks))...)
	return id, done
}

// mapWaitLines waits until the file has at least n lines.
func mapWaitLines(h *harness, path string, n int) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d tasks to have run", n), 30*time.Second, func() bool {
		_, got := mapLineCounts(h.t, path)
		return got >= n
	})
}

// mapRestartServer lets the next command start a new server after old was
// killed, and waits until server.json names it (it is written just after
// the new server starts answering).
func mapRestartServer(h *harness, old int) {
	h.t.Helper()
	h.mustRun("jobs")
	h.waitFor("server.json to name the new server", 10*time.Second, func() bool {
		var in serverInfo
		b, err := os.ReadFile(filepath.Join(h.home, "server.json"))
		if err != nil || json.Unmarshal(b, &in) != nil {
			return false
		}
		return in.PID != old && alive(in.PID) && hasTag(in.PID, h.tag)
	})
}

// mapCheckKillEnd waits for the map and checks that it ended succeeded,
// every task succeeded and recorded once: one record each, and its output
// once in `burst results`. It returns the records and how often each index
// ran.
func mapCheckKillEnd(t *testing.T, h *harness, id int64, done string) ([]mapRecord, map[string]int) {
	t.Helper()
	if r := h.run("wait", idArg(id)); r.code != 0 {
		t.Fatalf("wait: want the map to succeed:\n%s", r)
	}
	j := h.mapShow(id)
	if j.State != "succeeded" || j.Tasks.Total != mapKillTasks || j.Tasks.Succeeded != mapKillTasks {
		t.Errorf("job %s, tasks %+v; want succeeded, %d of %d", j.State, j.Tasks, mapKillTasks, mapKillTasks)
	}
	recs := h.mapRecords(id)
	if len(recs) != mapKillTasks {
		t.Fatalf("results -o json: %d records, want %d", len(recs), mapKillTasks)
	}
	for i, rec := range recs {
		if rec.Index != i || rec.State != "succeeded" {
			t.Errorf("record %d: index %d, %s; want succeeded", i, rec.Index, rec.State)
		}
	}
	var want strings.Builder
	for i := range mapKillTasks {
		fmt.Fprintf(&want, "out %d\n", i)
	}
	if out := h.mustRun("results", idArg(id)).stdout; out != want.String() {
		var dup []string
		seen := map[string]int{}
		for _, l := range strings.Split(out, "\n") {
			if seen[l]++; seen[l] == 2 {
				k, _ := strconv.Atoi(strings.TrimPrefix(l, "out "))
				if k >= 0 && k < len(recs) {
					l += fmt.Sprintf(" (attempt %d)", recs[k].Attempt)
				}
				dup = append(dup, l)
			}
		}
		t.Errorf("burst results should hold each task's output once, in input order; lines there more than once: %q", dup)
	}
	counts, _ := mapLineCounts(t, done)
	for l := range counts {
		if k, err := strconv.Atoi(l); err != nil || k < 0 || k >= mapKillTasks {
			t.Errorf("a task ran with input %q, which is not one of the map's", l)
		}
	}
	return recs, counts
}

// SIGKILLing the server three times during a map while the agent lives:
// the tasks are re-attached, never rerun; the job ends succeeded with every
// task recorded once, on attempt 1.
func TestMapServerKill9(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id, done := mapStartKill(h)
	agent := h.waitAgent(0)
	for _, at := range []int{10, 25, 40} {
		mapWaitLines(h, done, at)
		old := h.serverPID()
		h.kill9(old, "server")
		mapRestartServer(h, old)
	}
	recs, counts := mapCheckKillEnd(t, h, id, done)
	for _, rec := range recs {
		if rec.Attempt != 1 {
			t.Errorf("task %d on attempt %d; want 1 (re-attached, not rerun: the agent lived)", rec.Index, rec.Attempt)
		}
	}
	for i := range mapKillTasks {
		if c := counts[strconv.Itoa(i)]; c != 1 {
			t.Errorf("task %d ran %d times, want exactly once", i, c)
		}
	}
	if a := h.agentPID(); a != agent {
		t.Errorf("the agent was replaced (%d -> %d); it should have outlived the servers", agent, a)
	}
}

// SIGKILLing server and agent during a map: the job still ends succeeded
// with every task succeeded and recorded once; a task lost with its agent
// may run again, but none more than twice. The agent dies a little after
// the server, having run tasks that no server heard of (as when a machine
// goes down during a server restart).
func TestMapServerAndAgentKill9(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id, done := mapStartKill(h)
	mapWaitLines(h, done, 10)
	old := h.serverPID()
	h.kill9(old, "server")
	mapRestartServer(h, old)

	mapWaitLines(h, done, 25)
	old, agent := h.serverPID(), h.agentPID()
	// Server first, so that it cannot see the agent die and act on it.
	h.kill9(old, "server")
	_, before := mapLineCounts(t, done)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, n := mapLineCounts(t, done)
		if n >= before+3 || n >= mapKillTasks {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("the agent ran no task while the server was down (%d lines)", n)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.kill9(agent, "agent")
	mapRestartServer(h, old)

	recs, counts := mapCheckKillEnd(t, h, id, done)
	for _, rec := range recs {
		if rec.Attempt < 1 || rec.Attempt > 2 {
			t.Errorf("task %d on attempt %d; want 1 or 2 (one agent was lost)", rec.Index, rec.Attempt)
		}
	}
	for i := range mapKillTasks {
		if c := counts[strconv.Itoa(i)]; c < 1 || c > 2 {
			t.Errorf("task %d ran %d times, want once or twice", i, c)
		}
	}
}

// ---- 10. output off a terminal ----

var mapJobLine = regexp.MustCompile(`^burst: job [1-9][0-9]* \([0-9]+ tasks\)\n`)

// Off a terminal, `burst map` prints the tasks' output (stdout then stderr,
// each task's whole, as GNU parallel's default --group: man parallel,
// --group: "Output from each job is grouped together and is only printed
// when the command is finished. Stdout (standard output) first followed by
// stderr"), the job line on stderr (for scripts) and no progress line.
func TestMapOutputOffTerminal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // start the server first: its note is not the map's
	script := `echo "out $1"; echo "err $1" >&2; echo "out2 $1"`
	for _, flags := range [][]string{nil, {"--quiet"}, {"-k"}, {"-k", "--quiet"}} {
		r := h.run(mapArgs("map", flags, "--", "sh", "-c", script, "_", "{}", ":::", "a", "b", "c")...)
		if r.code != 0 || !mapJobLine.MatchString(r.stderr) {
			t.Errorf("map %v: want exit 0 and the job line first on stderr:\n%s", flags, r)
			continue
		}
		outs := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		errs := strings.Split(strings.TrimSuffix(mapJobLine.ReplaceAllString(r.stderr, ""), "\n"), "\n")
		if len(outs) != 6 || len(errs) != 3 {
			t.Errorf("map %v: want 6 lines on stdout and 3 task lines on stderr:\n%s", flags, r)
			continue
		}
		for i := 0; i < 6; i += 2 { // a task's stdout stays together
			in := strings.TrimPrefix(outs[i], "out ")
			if outs[i+1] != "out2 "+in || errs[i/2] != "err "+in {
				t.Errorf("map %v: task %s's output is not grouped:\n%s", flags, in, r)
			}
		}
		if slices.Contains(flags, "-k") && r.stdout != "out a\nout2 a\nout b\nout2 b\nout c\nout2 c\n" {
			t.Errorf("map %v: want input order:\n%s", flags, r)
		}
	}
}

// Without -k each task's output comes as the task ends: a fast task's
// output is printed while a slow one still runs. The slow task waits for a
// file that the test writes only once it has read the fast task's output.
func TestMapOutputAsTasksEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate := filepath.Join(h.dir, "gate")
	c := h.command("map", "--", "sh", "-c", `if [ $1 = slow ]; then while [ ! -e "$0" ]; do sleep 0.05; done; fi; echo "done $1"`, gate, "{}", ":::", "slow", "fast")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	lines := make(chan string, 4)
	go func() {
		b := make([]byte, 0, 64)
		one := make([]byte, 1)
		for {
			if _, err := out.Read(one); err != nil {
				close(lines)
				return
			}
			if one[0] == '\n' {
				lines <- string(b)
				b = b[:0]
				continue
			}
			b = append(b, one[0])
		}
	}()
	select {
	case l := <-lines:
		if l != "done fast" {
			t.Fatalf("first line %q, want %q (the task that ended first)", l, "done fast")
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no output from the fast task while the slow one runs; stderr: %q", errb.String())
	}
	writeFile(t, gate, "", 0o644)
	if l, ok := <-lines; !ok || l != "done slow" {
		t.Errorf("second line %q, want %q", l, "done slow")
	}
	if err := c.Wait(); err != nil {
		t.Errorf("map: %v; stderr: %q", err, errb.String())
	}
}

// ---- 11. on a terminal ----

// openPTY opens a pseudo-terminal 200 columns wide: the master to read
// what a program writes, the slave to give it as its terminal. Without one
// the test skips loudly, or fails under BURST_CI (CI must not skip).
// onTerminal runs c with a terminal as its stdout and stderr, as in a shell,
// and returns all it wrote there once it has exited.
func onTerminal(t *testing.T, c *exec.Cmd) (string, error) {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	c.Stdout, c.Stderr = slave, slave
	var got strings.Builder
	read := make(chan struct{})
	go func() {
		defer close(read)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			got.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	err := c.Wait()
	<-read
	return got.String(), err
}

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatalf("no pseudo-terminal (/dev/ptmx: %v): BURST_CI is set and CI must not skip", err)
		}
		fmt.Fprintln(os.Stderr, "!!! SKIPPED: no pseudo-terminal:", err)
		t.Skipf("SKIPPED: no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 200}); err != nil {
		t.Fatalf("pty size: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// mapScreen is what a terminal shows after out: carriage returns go to the
// line's start, ESC [K erases to its end, characters overwrite.
func mapScreen(out string) []string {
	var lines []string
	var cur []rune
	col := 0
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], "\x1b[K"):
			cur = cur[:min(col, len(cur))]
			i += 3
			continue
		case out[i] == '\r':
			col = 0
		case out[i] == '\n':
			lines = append(lines, string(cur))
			cur, col = nil, 0
		default:
			r, n := []rune(out[i:])[0], len(string([]rune(out[i:])[0]))
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
			i += n
			continue
		}
		i++
	}
	return append(lines, string(cur))
}

var mapBarLine = regexp.MustCompile(`^\[[#.]{20}\] (\d+)/(\d+) · ok (\d+)(?: · failed (\d+))?(?: · cancelled (\d+))?.* · \$[0-9.]+$`)

// On a terminal the progress line sits below the tasks' output and never
// mixes with it: every output line is whole on the screen, and the last
// line is the bar, whose done count is ok + failed and which shows the cost
// so far. Stdout and stderr are the same terminal, as in a shell.
func TestMapProgressOnTerminal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // start the server first: its note is not the map's
	out, err := onTerminal(t, h.command("map", "-j", "1", "--", "sh", "-c", `echo "out $1"; sleep 0.3; echo "err $1" >&2; [ $1 != c ]`, "_", "{}", ":::", "a", "b", "c", "d"))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("want exit 1 (one task failed), got %v", err)
	}
	screen := mapScreen(out)
	for len(screen) > 0 && screen[len(screen)-1] == "" {
		screen = screen[:len(screen)-1]
	}
	t.Logf("screen:\n%s", strings.Join(screen, "\n"))
	for _, in := range []string{"a", "b", "c", "d"} {
		for _, w := range []string{"out " + in, "err " + in} {
			if !slices.Contains(screen, w) {
				t.Errorf("the line %q is not whole on the screen (mixed with the progress line?)", w)
			}
		}
	}
	var bar string
	for _, l := range screen {
		if strings.Contains(l, "· ok ") {
			bar = l
		}
	}
	m := mapBarLine.FindStringSubmatch(bar)
	if m == nil {
		t.Fatalf("no progress line with done/total, ok, failed and cost on the screen")
	}
	if i := slices.Index(screen, bar); i < slices.Index(screen, "err d") {
		t.Errorf("the progress line is above the last task's output")
	}
	if m[1] != "4" || m[2] != "4" || m[3] != "3" || m[4] != "1" {
		t.Errorf("final progress line %q: want 4/4 · ok 3 · failed 1", bar)
	}
}

// `burst map --resume` honours --max-failures and -j given with it and
// refuses flags it cannot honour; a map stopped by --max-failures goes past
// its old failures when resumed with a higher limit. A resume prints the
// output of the tasks it runs, not again that of the tasks that had
// succeeded.
func TestMapResumeWithFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Multiples of 3 fail; a task running beside another notes it in overlap.
	script := `mkdir "$0.lock" 2>/dev/null || echo $1 >> "$0.overlap"; echo "out $1"; sleep 0.05; rmdir "$0.lock" 2>/dev/null; [ $(( $1 % 3 )) != 0 ]`
	base := filepath.Join(h.dir, "x")
	overlap := base + ".overlap"
	r := h.run(mapArgs("map", "-j", "1", "--max-failures", "2", "--", "sh", "-c", script, base, "{}", ":::", mapSeq(30)[1:])...)
	if r.code < 3 || r.code > 10 {
		t.Fatalf("want the map stopped by --max-failures, exit 3 or more:\n%s", r)
	}
	id := mapJobFromSummary(t, r)
	if j := h.mapShow(id); j.Tasks.Cancelled == 0 {
		t.Fatalf("the map should have stopped with tasks left: %+v", j.Tasks)
	}
	firstOut := r.stdout

	for _, bad := range [][]string{{"--cpus", "2"}, {"--retries", "1"}, {"--shell"}, {"--over", "*"}} {
		r := h.run(append([]string{"map", "--resume", idArg(id)}, bad...)...)
		if r.code != 255 || !strings.Contains(r.stderr, bad[0]) || !strings.Contains(r.stderr, "--resume") {
			t.Errorf("--resume with %v: want exit 255 and a message naming %s:\n%s", bad, bad[0], r)
		}
	}

	os.Remove(overlap)
	r = h.run("map", "--resume", idArg(id), "--max-failures", "100%", "-j", "1")
	if r.code != 9 {
		t.Errorf("resumed with --max-failures 100%%: want every task run and exit 9 (inputs 3, 6, ... 27 fail):\n%s", r)
	}
	j := h.mapShow(id)
	if j.Tasks.Succeeded != 20 || j.Tasks.Failed != 9 || j.Tasks.Cancelled != 0 {
		t.Errorf("after the resume: tasks %+v; want 20 succeeded, 9 failed, none cancelled", j.Tasks)
	}
	if b, err := os.ReadFile(overlap); err == nil {
		t.Errorf("resumed with -j 1, tasks ran side by side (inputs %q)", b)
	}
	succeeded := 0 // before the resume
	for _, l := range strings.Split(strings.TrimSpace(firstOut), "\n") {
		k, err := strconv.Atoi(strings.TrimPrefix(l, "out "))
		if err != nil || k%3 == 0 {
			continue
		}
		succeeded++
		if strings.Contains(r.stdout, l+"\n") {
			t.Errorf("the resume printed again the output of input %d, which had succeeded before", k)
		}
	}
	if n := strings.Count(r.stdout, "out "); n != 29-succeeded {
		t.Errorf("the resume printed %d outputs, want %d (one per task it ran):\n%s", n, 29-succeeded, r)
	}
}

// A job array (`burst run` of an #SBATCH --array script) runs as a map but
// prints none of its tasks' output: as with sbatch, that goes to the
// --output files. Its failure summary names the failed array indices.
func TestMapArrayPrintsNoTaskOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // start the server first: its note is not the run's
	script := "#!/bin/sh\n#SBATCH --array=1-3\n#SBATCH --output=out-%a.txt\n" +
		"echo \"task $SLURM_ARRAY_TASK_ID\"; echo \"err $SLURM_ARRAY_TASK_ID\" >&2; [ $SLURM_ARRAY_TASK_ID != 2 ]\n"
	writeFile(t, filepath.Join(h.dir, "array.sh"), script, 0o755)
	r := h.run("run", "array.sh")
	if taskLine := regexp.MustCompile(`(?m)^(task|err) [0-9]$`); r.code == 0 || r.stdout != "" || taskLine.MatchString(r.stderr) {
		t.Errorf("an array that failed: want a failure exit and none of its tasks' output on the terminal:\n%s", r)
	}
	if !strings.Contains(r.stderr, "failed array indices: 2;") {
		t.Errorf("the summary should name array index 2:\n%s", r)
	}
	for _, a := range []string{"1", "2", "3"} {
		if b, err := os.ReadFile(filepath.Join(h.dir, "out-"+a+".txt")); err != nil || !strings.Contains(string(b), "task "+a+"\n") {
			t.Errorf("out-%s.txt = %q (%v), want the task's output", a, b, err)
		}
	}
}

// The follower prints each task's output once across server restarts:
// SIGKILLing the server twice while `burst map` follows loses no task's
// output and prints none twice.
func TestMapOutputAcrossServerRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	done := filepath.Join(h.dir, "done")
	follow := h.start(mapArgs("map", "--", "sh", "-c", `sleep 0.1; echo $1 >> "$0"; echo "out $1"`, done, "{}", ":::", mapSeq(mapKillTasks))...)
	for _, at := range []int{15, 35} {
		mapWaitLines(h, done, at)
		old := h.serverPID()
		h.kill9(old, "server")
		mapRestartServer(h, old)
	}
	r := follow.result(t)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		seen[l]++
	}
	for i := range mapKillTasks {
		if n := seen[fmt.Sprintf("out %d", i)]; n != 1 {
			t.Errorf("the output of input %d was printed %d times, want once", i, n)
		}
	}
	if len(seen) != mapKillTasks {
		t.Errorf("%d distinct lines on stdout, want %d:\n%s", len(seen), mapKillTasks, r)
	}
}

// A map's exit status is GNU parallel's ("EXIT STATUS": the number of failed
// jobs) wherever it is read: burst map, burst wait, burst show and burst jobs.
func TestMapStatusSameEverywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("map", "--quiet", "--", "sh", "-c", "exit $1", "_", ":::", "0", "1", "2", "3", "0")
	if r.code != 3 {
		t.Fatalf("burst map with 3 failing tasks: exit %d, want 3:\n%s", r.code, r)
	}
	id := jobIDFrom(t, r)
	if w := h.run("wait", idArg(id)); w.code != 3 {
		t.Errorf("burst wait: exit %d, want 3 as burst map gave", w.code)
	}
	if j := h.show(id); j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("burst show: exit_code %v, want 3", j.ExitCode)
	}
	if out := h.mustRun("show", idArg(id)).stdout; !strings.Contains(out, "sh -c 'exit $1' _ :::") {
		t.Errorf("burst show should give the map's command:\n%s", out)
	}
}

// A task's last line without a newline stays on a terminal: the progress
// line is drawn below it, not over it.
func TestMapOutputWithoutNewlineOnTerminal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON()
	out, err := onTerminal(t, h.command("map", "-j", "1", "--", "sh", "-c", `printf "nonl-$1"; sleep 0.3`, "_", ":::", "a", "b", "c"))
	if err != nil {
		t.Errorf("burst map: %v", err)
	}
	screen := strings.Join(mapScreen(out), "\n")
	for _, w := range []string{"nonl-a", "nonl-b", "nonl-c"} {
		if !strings.Contains(screen, w) {
			t.Errorf("%q was drawn over; the screen:\n%s", w, screen)
		}
	}
}
