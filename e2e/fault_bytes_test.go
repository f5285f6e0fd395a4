package e2e

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// Byte-exact streams: a pipe's output is what the same shell pipeline
// writes, for any bytes. A --parallel stage interleaves its copies' whole
// lines as GNU parallel --line-buffer does (man parallel, --line-buffer:
// "will print a full line, but will allow for mixing lines of different
// jobs"; not the default --group, which prints a job's output together when
// it ends), but the records (lines with their newline; the last one as it
// is, as --pipe passes "the final partial record", man parallel --pipe and
// --recend) and the bytes are the same. Unlike --line-buffer, which prints a
// job's unfinished last line when the job ends so that the next job's output
// runs on after it, burst holds that piece to the end.

// bytesData is a few MB of seeded random bytes (any value: NUL, \r, bytes
// that are not UTF-8) with a 1 MiB line in the middle and no newline at
// the end.
func bytesData() []byte {
	rnd := rand.New(rand.NewPCG(14, 1))
	b := make([]byte, 3<<20)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	long := bytes.Repeat([]byte{0, 'x', '\r', 0xff}, 1<<18) // 1 MiB, no newline
	b = append(b[:1<<20], append(append([]byte{'\n'}, long...), b[1<<20:]...)...)
	if b[len(b)-1] == '\n' {
		b[len(b)-1] = 'z'
	}
	return b
}

// lineRecords cuts b after each newline; the last record keeps no newline
// it did not have. Sorted, for comparing outputs whose line order may differ.
func lineRecords(b []byte) []string {
	var rs []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		rs = append(rs, string(b[:i]))
		b = b[i:]
	}
	slices.Sort(rs)
	return rs
}

// shellOut runs script with sh in dir, with LC_ALL=C, and returns its stdout.
func shellOut(t *testing.T, dir, script string) []byte {
	t.Helper()
	c := exec.Command("sh", "-c", script)
	c.Dir = dir
	c.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, stderr.String())
	}
	return out
}

// TestFaultBytesExactPipes sends random bytes (NUL bytes, CRLF, a 1 MiB
// line, with and without a last newline, and nothing at all) through pipes
// on one machine and across two (a TCP stream between agents), with and
// without --parallel stages, to stdout and to a file, and compares what
// comes out with the same pipeline run by sh (and, for --parallel, with GNU
// parallel --pipe when it is installed). Before, a --parallel stage added a
// newline to a last line that had none.
func TestFaultBytesExactPipes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("LC_ALL", "C") // sort's order, in the tasks as in sh
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	data := bytesData()
	ended := append(append([]byte(nil), data...), '\n')
	writeFile(t, filepath.Join(h.dir, "unended"), string(data), 0o644)
	writeFile(t, filepath.Join(h.dir, "ended"), string(ended), 0o644)
	writeFile(t, filepath.Join(h.dir, "empty"), "", 0o644)
	_, gnuParallel := exec.LookPath("parallel")
	if gnuParallel != nil {
		t.Log("GNU parallel is not installed: --parallel stages are compared with sh only")
	}

	row := faultRow{Fault: "byte-exact pipes on random data"}
	for _, c := range []struct {
		pipe  string
		sh    string // the same pipeline for sh
		gnu   string // the same with GNU parallel, for --parallel ("" none)
		out   string // the file it writes ("": stdout)
		exact bool   // bytes equal; else records equal (a --parallel stage)
	}{
		{pipe: "cat < unended | cat", sh: "cat < unended | cat", exact: true},
		{pipe: "cat < ended | cat", sh: "cat < ended | cat", exact: true},
		{pipe: "cat < empty | cat", sh: "cat < empty | cat", exact: true},
		{pipe: "cat < unended | sort", sh: "cat < unended | sort", exact: true},
		{pipe: "cat < unended | cat > out.bin", sh: "cat < unended | cat", out: "out.bin", exact: true},
		{pipe: "cat < unended | --on work cat", sh: "cat < unended | cat", exact: true},
		{pipe: "cat < unended | --parallel 3 cat | cat", sh: "cat < unended",
			gnu: "parallel --will-cite -k --pipe -j3 --block 256k cat < unended"},
		{pipe: "cat < ended | --parallel 3 cat | cat", sh: "cat < ended",
			gnu: "parallel --will-cite -k --pipe -j3 --block 256k cat < ended"},
		{pipe: "cat < unended | --parallel 3 sort", sh: "sort < unended",
			gnu: "parallel --will-cite -k --pipe -j3 --block 256k sort < unended"},
		{pipe: "cat < unended | --parallel 2 cat | --parallel 3 cat > out.bin", sh: "cat < unended", out: "out.bin",
			gnu: "parallel --will-cite -k --pipe -j2 --block 256k cat < unended | parallel --will-cite -k --pipe -j3 --block 256k cat"},
		{pipe: "cat < unended | --on work --parallel 2 cat | cat", sh: "cat < unended",
			gnu: "parallel --will-cite -k --pipe -j2 --block 256k cat < unended"},
		// A first stage in copies reads the input file through a junction.
		// (--cpus 1 on the last stage: else the first stage's copies would
		// each reserve the pipe's one CPU, more than a small machine has.)
		{pipe: "--parallel 3 cat < ended | --cpus 1 cat", sh: "cat < ended",
			gnu: "parallel --will-cite -k --pipe -j3 --block 256k cat < ended"},
		{pipe: "--parallel 3 cat < unended | --cpus 1 cat > out.bin", sh: "cat < unended", out: "out.bin",
			gnu: "parallel --will-cite -k --pipe -j3 --block 256k cat < unended"},
		{pipe: "cat < empty | --parallel 3 cat > out.bin", sh: "cat < empty", out: "out.bin",
			gnu: "parallel --will-cite -k --pipe -j3 cat < empty"},
	} {
		os.Remove(filepath.Join(h.dir, "out.bin"))
		r := h.run("pipe", "--", c.pipe) // -- : a pipe may start with a stage option
		j := h.show(jobIDFrom(t, r))
		row.Tasks += len(j.TaskList)
		wrong := r.code != 0
		for _, tk := range j.TaskList {
			switch {
			case tk.State == "lost" || !terminal(tk.State):
				row.Lost++
			case tk.State != "succeeded":
				row.FailedWrongly++
				wrong = false // counted with its tasks
			}
			if tk.Attempt > 1 {
				row.Duplicated++
			}
		}
		got := []byte(r.stdout)
		if c.out != "" {
			b, err := os.ReadFile(filepath.Join(h.dir, c.out))
			if err != nil {
				t.Errorf("%s: %v", c.pipe, err)
				row.FailedWrongly++
				continue
			}
			got = b
		}
		want := shellOut(t, h.dir, c.sh)
		switch {
		case c.exact && !bytes.Equal(got, want):
			t.Errorf("burst pipe %q: %d bytes out, sh gives %d; they differ from byte %d", c.pipe, len(got), len(want), firstDiff(got, want))
			wrong = true
		case !c.exact && (len(got) != len(want) || !slices.Equal(lineRecords(got), lineRecords(want))):
			t.Errorf("burst pipe %q: %d bytes out, sh gives %d; the lines are not the same (in any order)", c.pipe, len(got), len(want))
			wrong = true
		}
		if c.gnu != "" && gnuParallel == nil {
			// Compared as records in any order, with parallel's -k: with
			// --line-buffer (the order burst's merge resembles) or the
			// default --group, a job's last line without a newline may run
			// into the next job's output (printf 'a\nb\nc' | parallel
			// --pipe -N1 -j3 cat can print "cb\na\n"); burst writes that
			// piece last, where -k puts it.
			if g := shellOut(t, h.dir, c.gnu); len(got) != len(g) || !slices.Equal(lineRecords(got), lineRecords(g)) {
				t.Errorf("burst pipe %q: %d bytes out, %s gives %d; the lines are not the same (in any order)", c.pipe, len(got), c.gnu, len(g))
				wrong = true
			}
		}
		if wrong {
			t.Logf("burst pipe %q: exit %d, stderr %q", c.pipe, r.code, tail(r.stderr, 500))
			row.FailedWrongly++
		}
	}
	recordFault(t, row)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// lockedBuffer is a command's stdout that a test reads while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFaultBytesPipeRestart: the machine under a pipe's last stage is lost
// after `burst pipe` has printed part of its output; the pipe restarts
// whole, and its log starts afresh. Before, the follower went on at the
// byte it had reached, in the new attempt's output: 9 bytes of "partial2\n"
// then "\n", the tenth byte of "1\n2\n3\n4\n5\n". Now a restarted pipe that
// writes the same bytes again (a deterministic one) gives its output once,
// exactly; one that writes others never ends with exit 0 and a splice.
func TestFaultBytesPipeRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	row := faultRow{Fault: "pipe restarted mid-output: stdout bytes"}
	for _, c := range []struct {
		name, first string // what the first attempt writes before its machine is lost
		same        bool
	}{
		{name: "same", first: "head -n 2", same: true},
		{name: "other", first: "echo partial"},
	} {
		marker := newMarker()
		cmd := h.command("pipe", `seq 1 5 | --on work --name `+c.name+` sh -c "if [ -e attempt-`+c.name+` ]; then cat; else touch attempt-`+c.name+`; `+c.first+`; sleep `+marker+`; fi"`)
		var out lockedBuffer
		cmd.Stdout = &out
		p, err := startCmd(cmd)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{true: "1\n2\n", false: "partial\n"}[c.same]
		h.waitFor("burst pipe to print the first attempt's output", 60*time.Second, func() bool { return out.String() == want })
		var victim int
		for _, m := range h.machines("work") {
			if m.State == "running" {
				victim = m.AgentPID
			}
		}
		if victim == 0 {
			t.Fatalf("no running machine in work: %+v", h.machines("work"))
		}
		h.kill9(victim, "the work machine's agent")
		r, err := p.wait()
		if err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		got := out.String()
		j := h.show(jobIDFrom(t, r))
		row.Tasks += len(j.TaskList)
		for _, tk := range j.TaskList {
			if tk.State != "succeeded" {
				row.FailedWrongly++
			}
		}
		switch {
		case c.same && (r.code != 0 || got != "1\n2\n3\n4\n5\n"):
			t.Errorf("a restarted pipe that writes the same bytes: exit %d, stdout %q; want exit 0 and %q", r.code, got, "1\n2\n3\n4\n5\n")
			row.FailedWrongly++
		case !c.same && r.code == 0 && got != "1\n2\n3\n4\n5\n":
			t.Errorf("a restarted pipe whose output changed: exit 0 with stdout %q, neither its output nor a failure", got)
			row.FailedWrongly++
		}
		t.Logf("%s: exit %d, stdout %q, stderr %q", c.name, r.code, got, r.stderr)
	}
	recordFault(t, row)
}
