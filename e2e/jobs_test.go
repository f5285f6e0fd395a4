package e2e

import (
	"cmp"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// barrierTask is a map task's shell script: it records its start (a file
// named after its input in started/), waits until enough have started, or
// with $3 = 0 until $2 of them run at once (started less ended), or all of
// the map's $4 tasks have started, then records its end, in ended/, and
// prints ok; after 30 s of waiting (half the harness's limit on a command)
// it prints "timeout N" and fails. The start and end files hold the time
// in nanoseconds.
const barrierTask = `
now() { date +%s%N; }
now > started/$1
i=0
while :; do
	s=$(ls started | wc -l); e=$(ls ended | wc -l)
	if [ "$3" = all ] && [ "$s" -ge "$2" ]; then break; fi
	if [ "$3" = 0 ] && { [ $((s - e)) -ge "$2" ] || [ "$s" -ge "$4" ]; }; then break; fi
	i=$((i + 1))
	if [ $i -gt 600 ]; then echo "timeout $s started, $e ended"; exit 1; fi
	sleep 0.05
done
now > ended/$1
echo ok`

// GNU parallel's -j N runs N jobs at once, whatever the CPUs (man parallel,
// --jobs: "Run up to N jobs in parallel"; "0 means as many as possible"):
// burst map -j N above this host's CPU threads, and -j 0, run them all at
// once (each task waits until every one has started, so fewer at once
// fail it), their tasks reserving no CPU; parallel passes the same test.
// With --cpus given, each task keeps its CPUs, and no more run at once than
// the host's CPUs hold (2 of --cpus 1 on 2 CPUs), as its stderr says.
func TestMapJobsAboveCPUs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // start the server first: its note is not the map's
	cpus := runtime.NumCPU()
	n := max(8, cpus+2) // above the host's CPUs
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i + 1)
	}
	// run runs a map of the barrier task in a fresh directory, with
	// flags, each task waiting for want more (see barrierTask), and
	// returns the directory.
	run := func(t *testing.T, flags []string, want int, mode string) (result, string) {
		t.Helper()
		dir, err := os.MkdirTemp(h.dir, "jobs-")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"started", "ended"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// --halt: a task that waited in vain ends the map, which then
		// says why, within the harness's limit.
		c := h.command(append(append(append([]string{"map", "--quiet", "--halt", "now,fail=1"}, flags...), "--", "sh", "-c", barrierTask, "_", "{}",
			strconv.Itoa(want), mode, strconv.Itoa(n), ":::"), inputs...)...)
		c.Dir = dir
		return h.exec(c), dir
	}
	allOK := func(t *testing.T, r result, what string) {
		t.Helper()
		if r.code != 0 || strings.Count(r.stdout, "ok\n") != n {
			t.Errorf("%s: want %d tasks running at once, each printing ok: exit %d\n%s", what, n, r.code, r)
		}
	}
	t.Run("j_N_above_the_cpus", func(t *testing.T) {
		for _, flags := range [][]string{{"-j", strconv.Itoa(n)}, {"--jobs", strconv.Itoa(n)}, {"-P", strconv.Itoa(n)},
			{"--max-procs=" + strconv.Itoa(n)}, {"-j0"}, {"--cpus", "0", "-j", strconv.Itoa(n)}} {
			r, _ := run(t, flags, n, "all")
			allOK(t, r, strings.Join(flags, " "))
			if strings.Contains(r.stderr, "at most") {
				t.Errorf("%s: a note that fewer run at once, which is not so:\n%s", strings.Join(flags, " "), r.stderr)
			}
		}
	})
	t.Run("parallel_does_the_same", func(t *testing.T) {
		dir := t.TempDir()
		for _, d := range []string{"started", "ended"} {
			os.Mkdir(filepath.Join(dir, d), 0o755)
		}
		p := parallelRun(t, dir, nil, append([]string{"-q", "-j", strconv.Itoa(n), "sh", "-c", barrierTask, "_", "{}",
			strconv.Itoa(n), "all", strconv.Itoa(n), ":::"}, inputs...)...)
		allOK(t, p, "parallel -j "+strconv.Itoa(n))
	})
	// --cpus K keeps K reserved a task: on this host's CPUs, cpus/K run at
	// once (2 of --cpus 1 on 2 CPUs), never more, though -j asks for n.
	t.Run("cpus_given_keeps_them_reserved", func(t *testing.T) {
		k := max(1, cpus/2)
		fit := cpus / k
		r, dir := run(t, []string{"--cpus", strconv.Itoa(k), "-j", strconv.Itoa(n)}, fit, "0")
		if r.code != 0 || strings.Count(r.stdout, "ok\n") != n {
			t.Fatalf("--cpus %d -j %d: want every task to see %d running at once: exit %d\n%s", k, n, fit, r.code, r)
		}
		if want := "at most " + strconv.Itoa(fit) + " run here at once"; !strings.Contains(r.stderr, want) {
			t.Errorf("--cpus %d -j %d: stderr without %q:\n%s", k, n, want, r.stderr)
		}
		if most := mostAtOnce(t, dir); most != fit {
			t.Errorf("--cpus %d -j %d on %d CPUs: %d ran at once, want %d", k, n, cpus, most, fit)
		}
	})
}

// mostAtOnce is how many of the barrier tasks run in dir overlapped at
// most, from their start and end times (an end before a start at the same
// nanosecond).
func mostAtOnce(t *testing.T, dir string) int {
	t.Helper()
	type event struct {
		at    int64
		delta int
	}
	var evs []event
	for _, d := range []struct {
		name  string
		delta int
	}{{"started", 1}, {"ended", -1}} {
		files, err := os.ReadDir(filepath.Join(dir, d.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, d.name, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			at, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				t.Fatalf("%s/%s: %v", d.name, f.Name(), err)
			}
			evs = append(evs, event{at, d.delta})
		}
	}
	slices.SortFunc(evs, func(a, b event) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.delta, b.delta))
	})
	most, now := 0, 0
	for _, e := range evs {
		now += e.delta
		most = max(most, now)
	}
	return most
}
