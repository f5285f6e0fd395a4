package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mapResult is one record of `burst results -o json`.
type mapResult struct {
	Index    int      `json:"index"`
	Input    []string `json:"input"`
	State    string   `json:"state"`
	Attempt  int      `json:"attempt"`
	ExitCode *int     `json:"exit_code"`
	Reason   string   `json:"reason"`
}

func (h *harness) results(id string) []mapResult {
	h.t.Helper()
	var rs []mapResult
	if err := json.Unmarshal([]byte(h.mustRun("results", id, "-o", "json").stdout), &rs); err != nil {
		h.t.Fatalf("results -o json: %v", err)
	}
	return rs
}

// Replacement strings, combinations, order and injection safety, through the
// real binary.
func TestMapCoreInputsAndOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("map", "-k", "--", "echo", "{#}", "{}", "{.}", "{/}", "{//}", "{/.}", ":::", "/a/b/c.tar.gz", "x.y")
	if want := "1 /a/b/c.tar.gz /a/b/c.tar c.tar.gz /a/b c.tar\n2 x.y x x.y . x\n"; r.stdout != want {
		t.Errorf("placeholders:\n got %q\nwant %q", r.stdout, want)
	}
	r = h.mustRun("map", "-k", "--", "echo", "{2}{1}", ":::", "a", "b", ":::", "1", "2")
	if want := "1a\n2a\n1b\n2b\n"; r.stdout != want {
		t.Errorf("cartesian product, last group fastest: got %q, want %q", r.stdout, want)
	}
	r = h.mustRun("map", "-k", "--", "echo", "in", ":::", "x", "y")
	if r.stdout != "in x\nin y\n" {
		t.Errorf("no placeholder appends the input: got %q", r.stdout)
	}
	// Tasks finish out of order; -k and results still give input order.
	r = h.mustRun("map", "-k", "--", "sh", "-c", `sleep 0.$((4 - $1)); echo $1`, "_", "{}", ":::", "1", "2", "3", "4")
	if r.stdout != "1\n2\n3\n4\n" {
		t.Errorf("-k order: got %q", r.stdout)
	}
	id := strings.TrimSpace(h.mustRun("map", "-d", "--", "sh", "-c", `sleep 0.$((4 - $1)); echo $1`, "_", "{}", ":::", "1", "2", "3", "4").stdout)
	if out := h.mustRun("results", id).stdout; out != "1\n2\n3\n4\n" {
		t.Errorf("burst results order: got %q", out)
	}
	for i, res := range h.results(id) {
		if res.Index != i || len(res.Input) != 1 || res.Input[0] != strconv.Itoa(i+1) || res.State != "succeeded" {
			t.Errorf("results -o json[%d] = %+v", i, res)
		}
	}
	// An input is one argument, never shell text; --shell quotes it.
	pwned := filepath.Join(h.dir, "pwned")
	evil := []string{"; touch " + pwned, "$(touch " + pwned + ")", "`touch " + pwned + "`", "it's"}
	args := append([]string{"map", "-k", "--", "printf", "%s\\n", "{}", ":::"}, evil...)
	if r = h.mustRun(args...); r.stdout != strings.Join(evil, "\n")+"\n" {
		t.Errorf("argv inputs: got %q", r.stdout)
	}
	args = append([]string{"map", "-k", "--shell", "--", "printf '%s\\n' {}", ":::"}, evil...)
	if r = h.mustRun(args...); r.stdout != strings.Join(evil, "\n")+"\n" {
		t.Errorf("--shell inputs: got %q", r.stdout)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatalf("an input was run as shell text: %s exists", pwned)
	}
	// Not on a terminal: the tasks' output (none here) and the job line on stderr, nothing else.
	if r = h.mustRun("map", "--", "true", ":::", "a", "b"); r.stdout != "" || !mapJobLine.MatchString(r.stderr) ||
		mapJobLine.ReplaceAllString(r.stderr, "") != "" {
		t.Errorf("a map of silent tasks printed more than its job line:\n%s", r)
	}
}

// Exit status the number of failed tasks (GNU parallel's, man parallel EXIT STATUS) with a summary; retries use $BURST_ATTEMPT; --max-failures
// stops the map; --resume reruns only what did not succeed.
func TestMapCoreFailuresRetriesResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("map", "--", "sh", "-c", `exit $(( $1 % 3 == 0 ))`, "_", "{}", ":::", "1", "2", "3", "4", "5", "6")
	if r.code != 2 || !strings.Contains(r.stderr, "failed inputs: 3, 6;") || !strings.Contains(r.stderr, "--stderr") {
		t.Errorf("want exit 2 naming inputs 3 and 6 and how to read their logs:\n%s", r)
	}
	if r := h.run("map", "--", "echo", ":::"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("no input: want exit 0 and nothing run, as parallel:\n%s", r)
	}
	for _, bad := range [][]string{
		{"map", "--", "echo", "{3}", ":::", "a"},
		{"map", "--", "echo", "{0}", ":::", "a"},
		{"map", "--max-failures", "abc", "--", "echo", ":::", "a"},
	} {
		if r := h.run(bad...); r.code != 255 || r.stdout != "" {
			t.Errorf("%v: want exit 255 (parallel's other error) and nothing on stdout:\n%s", bad, r)
		}
	}

	id := strings.TrimSpace(h.mustRun("map", "-d", "--retries", "2", "--", "sh", "-c",
		`[ "$BURST_ATTEMPT" -ge 2 ] || [ $1 -gt 2 ]`, "_", "{}", ":::", "1", "2", "3").stdout)
	h.mustRun("wait", id)
	for _, res := range h.results(id) {
		want := 1
		if res.Index < 2 {
			want = 2
		}
		if res.State != "succeeded" || res.Attempt != want {
			t.Errorf("retries: task %d %s on attempt %d, want succeeded on attempt %d", res.Index, res.State, res.Attempt, want)
		}
	}

	inputs := make([]string, 40)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	r = h.run(append([]string{"map", "-j", "2", "--max-failures", "3", "--", "false", ":::"}, inputs...)...)
	if r.code < 4 || r.code > 40 || !strings.Contains(r.stderr, "max-failures") {
		t.Errorf("--max-failures: want exit 4 or more (the failed tasks) saying it stopped:\n%s", r)
	}
	jobs := h.jobsJSON()
	var last struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
		Tasks  struct{ Failed, Cancelled int }
	}
	json.Unmarshal(mustMarshal(t, jobs[0]), &last)
	if last.State != "failed" || last.Tasks.Cancelled == 0 || last.Tasks.Failed >= 40 {
		t.Errorf("a stopped map: %+v", last)
	}

	ok := filepath.Join(h.dir, "ok")
	ran := filepath.Join(h.dir, "ran")
	script := `echo $1 >> ` + ran + `; [ $(( $1 % 2 )) = 1 ] || [ -e ` + ok + ` ]`
	r = h.run("map", "--", "sh", "-c", script, "_", "{}", ":::", "0", "1", "2", "3", "4", "5")
	if r.code != 3 {
		t.Fatalf("want the 3 even tasks to fail:\n%s", r)
	}
	resumeID := strconv.FormatInt(jobIDOfLast(t, h), 10)
	writeFile(t, ok, "", 0o644)
	if r = h.run("map", "--resume", resumeID); r.code != 0 {
		t.Fatalf("resume: want exit 0:\n%s", r)
	}
	b, _ := os.ReadFile(ran)
	count := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		count[l]++
	}
	for i := 0; i < 6; i++ {
		want := 1 + (1 - i%2) // even tasks ran twice, odd (succeeded) once
		if got := count[strconv.Itoa(i)]; got != want {
			t.Errorf("task %d ran %d times, want %d (resume must not rerun what succeeded)", i, got, want)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jobIDOfLast(t *testing.T, h *harness) int64 {
	t.Helper()
	var j struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(mustMarshal(t, h.jobsJSON()[0]), &j)
	return j.ID
}

// kill -9 of the server (twice, at random moments) during a map loses no
// task and records none twice; kill -9 of server and agent together loses
// none either.
func TestMapCoreKill9(t *testing.T) {
	t.Parallel()
	for _, both := range []bool{false, true} {
		h := newHarness(t)
		out := filepath.Join(h.dir, "done")
		n := 40
		inputs := make([]string, n)
		for i := range inputs {
			inputs[i] = strconv.Itoa(i)
		}
		id := strings.TrimSpace(h.mustRun(append([]string{"map", "-d", "--", "sh", "-c",
			`sleep 0.1; echo $1 >> ` + out, "_", "{}", ":::"}, inputs...)...).stdout)
		// The kills come at random moments: after a random number of
		// tasks have ended (logged, so that a failure can be replayed).
		seed := rand.Uint64()
		rng := rand.New(rand.NewPCG(seed, 0))
		at := 0
		for k := 0; k < 2; k++ {
			at += 1 + rng.IntN(n/3)
			t.Logf("both=%v seed=%d: kill %d after %d tasks ended", both, seed, k+1, at)
			h.waitFor("some tasks done", 30e9, func() bool {
				b, _ := os.ReadFile(out)
				return strings.Count(string(b), "\n") >= at
			})
			agent := 0
			if both {
				agent = h.agentPID()
				h.kill9(agent, "agent")
			}
			h.kill9(h.serverPID(), "server")
			h.mustRun("jobs") // starts a new server
			if both {
				// The next kill is of the new agent: wait for it, or a kill
				// that comes a task later reads the dead one's pid file.
				h.waitAgent(agent)
			}
		}
		if r := h.run("wait", id); r.code != 0 {
			t.Fatalf("both=%v: wait: %s", both, r)
		}
		rs := h.results(id)
		b, _ := os.ReadFile(out)
		count := map[string]int{}
		for _, l := range strings.Fields(string(b)) {
			count[l]++
		}
		// A task the agent was running when it was killed runs again (at
		// least once); one whose end was recorded never does.
		row := faultRow{Fault: "kill -9 server x2 during a map", Tasks: n}
		if both {
			row.Fault = "kill -9 server+agent x2 during a map"
		}
		seen := map[int]bool{}
		for _, res := range rs {
			c := count[strconv.Itoa(res.Index)]
			switch {
			case seen[res.Index]:
				row.Duplicated++
				t.Errorf("both=%v: task %d has two results", both, res.Index)
			case res.State != "succeeded" || c < 1:
				row.FailedWrongly++
				t.Errorf("both=%v: task %d %s, ran %d times", both, res.Index, res.State, c)
			case !both && (res.Attempt != 1 || c != 1):
				row.Duplicated++
				t.Errorf("server killed: task %d ran %d times, attempt %d; want once, attempt 1", res.Index, c, res.Attempt)
			case both && res.Attempt > 3:
				row.FailedWrongly++
				t.Errorf("server and agent killed: task %d ran %d times, attempt %d", res.Index, c, res.Attempt)
			}
			seen[res.Index] = true
		}
		row.Lost = n - len(seen)
		recordFault(t, row)
	}
}
