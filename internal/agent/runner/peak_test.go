package runner

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/gnutime"
)

// gnuTimeMaxRSS is GNU time's peak memory of argv (see package gnutime).
func gnuTimeMaxRSS(t *testing.T, argv ...string) int64 {
	t.Helper()
	return gnutime.ForTest(t, argv...)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// TestPeakMemoryMatchesGNUTime compares Result.MaxRSS with what
// /usr/bin/time -v reports for the same program. Before the runner
// corrected for it, every task reported at least the test binary's own peak
// RSS: Go's vfork'd child inherits it at exec.
// Each case is run under the RSS watcher too, since the figure must not
// depend on how a memory limit is enforced (here no limit is set).
func TestPeakMemoryMatchesGNUTime(t *testing.T) {
	py := python(t)
	// The test process plays the agent: make its peak 64 MiB larger than
	// any of the small programs', with or without -race, so that what they
	// would inherit at exec is plain to see.
	ballast := make([]byte, 64<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	defer runtime.KeepAlive(ballast)
	self, _, ok := vmHWM("self")
	if !ok {
		t.Fatal("cannot read VmHWM of /proc/self/status")
	}
	t.Logf("this test process's own peak RSS: %.1f MiB", mib(self))
	cases := []struct {
		name string
		argv []string
		// The figure may differ from GNU time's by abs bytes or pct
		// percent of it, whichever is larger; with onlyAbove, it may be
		// any amount lower (it is sampled, and the program may end between
		// two samples), but never higher.
		abs       int64
		pct       float64
		onlyAbove bool
	}{
		// Small and short, under the agent's own peak: gone within a
		// millisecond, seen by one sample as it starts, or by none (0).
		// Before the fix: the test process's peak, tens of MiB.
		{"true", []string{"true"}, 1 << 20, 0, true},
		{"python pass", []string{py, "-c", "pass"}, 1 << 20, 0, true},
		// Large: 200 MiB allocated and touched, well above the agent's
		// peak: the kernel's figure, exact.
		{"python 200 MiB", []string{py, "-c", "b = bytearray(200 << 20)"}, 0, 5, false},
		// Large, in a child of a shell: counted through the shell's wait.
		{"sh, python 200 MiB", []string{"sh", "-c", py + ` -c "b = bytearray(200 << 20)"; true`}, 0, 5, false},
		// Under the agent's own peak, alive for half a second after its
		// peak: sampled, and the sample holds the peak (VmHWM).
		{"python 8 MiB, 0.5s", []string{py, "-c", "import time; b = bytearray(8 << 20); time.sleep(0.5)"}, 1 << 20, 10, false},
		// The same in a child of a shell: the sampler walks the tree.
		{"sh, python 8 MiB, 0.5s", []string{"sh", "-c", py + ` -c "import time; b = bytearray(8 << 20); time.sleep(0.5)"; true`}, 1 << 20, 10, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := gnuTimeMaxRSS(t, c.argv...)
			r := run(t, spec(t, c.argv...))
			if r.State != burst.Succeeded {
				t.Fatalf("got %+v", r)
			}
			tol := max(c.abs, int64(float64(want)*c.pct/100))
			t.Logf("peak RSS: runner %.2f MiB, /usr/bin/time -v %.2f MiB (tolerance %.2f MiB)", mib(r.MaxRSS), mib(want), mib(tol))
			if r.MaxRSS > want+tol || !c.onlyAbove && (r.MaxRSS <= 0 || r.MaxRSS < want-tol) {
				t.Errorf("MaxRSS = %.2f MiB, want %.2f MiB ± %.2f MiB (what /usr/bin/time -v reports)", mib(r.MaxRSS), mib(want), mib(tol))
			}
		})
	}
}

func TestPeakOf(t *testing.T) {
	const mi = 1 << 20
	for _, c := range []struct{ ru, agent, sampled, want int64 }{
		{300 * mi, 20 * mi, 0, 300 * mi},        // above the agent's peak: the kernel's figure
		{300 * mi, 20 * mi, 100 * mi, 300 * mi}, // ... whatever was sampled
		{20 * mi, 20 * mi, 1 * mi, 1 * mi},      // the agent's own peak, inherited: the sample
		{21 * mi, 20 * mi, 3 * mi, 3 * mi},      // within the margin: the sample
		{20 * mi, 20 * mi, 0, 0},                // nothing sampled: unknown
		{20 * mi, 20 * mi, 25 * mi, 20 * mi},    // a sample above the kernel's figure is capped
	} {
		if got := peakOf(c.ru, c.agent, c.sampled); got != c.want {
			t.Errorf("peakOf(%d, %d, %d) = %d, want %d", c.ru, c.agent, c.sampled, got, c.want)
		}
	}
}

// TestShortTasksShareTheAgentsPeak checks that small tasks ending one after
// the other do not each read the agent's own VmHWM: the figure only grows,
// so one read before their exec settles them all. Reading it at every
// task's end cost about 5% of the agent's CPU in a map of `true`.
func TestShortTasksShareTheAgentsPeak(t *testing.T) {
	run(t, spec(t, "true")) // the first read
	before := agentHWMReads.Load()
	for range 20 {
		if r := run(t, spec(t, "true")); r.State != burst.Succeeded || r.MaxRSS >= 8<<20 {
			t.Fatalf("true: %+v (peak memory must be its own, under 8 MiB)", r)
		}
	}
	if n := agentHWMReads.Load() - before; n > 2 {
		t.Errorf("20 tasks of true read the agent's VmHWM %d times, want at most 2", n)
	}
}

// TestParseStatAllocatesNothing: every task's start parses its stat line.
func TestParseStatAllocatesNothing(t *testing.T) {
	line := []byte("4242 (a b) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 987654 1000000 77 18446744073709551615 0 0\n")
	if n := testing.AllocsPerRun(100, func() { _, _ = parseStat(line) }); n != 0 {
		t.Errorf("parseStat: %v allocations, want 0", n)
	}
}

// appendChildren lists every child of a process, also where the list is
// longer than the buffer it reads into first (150 children: about 1 KB).
func TestAppendChildrenLongList(t *testing.T) {
	const n = 150
	cmd := exec.Command("sh", "-c", `i=0; while [ $i -lt `+strconv.Itoa(n)+` ]; do sleep 60 & i=$((i+1)); done; echo started; wait`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line := make([]byte, len("started\n"))
	if _, err := io.ReadFull(out, line); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	kids := appendChildren(nil, pid, 1)
	if len(kids) != n {
		t.Fatalf("appendChildren found %d children of the shell, want %d", len(kids), n)
	}
	// Each child is the shell forked until it execs its sleep: wait for that.
	for _, k := range kids {
		var b []byte
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			b, err = os.ReadFile("/proc/" + strconv.Itoa(k) + "/cmdline")
			if err == nil && strings.HasPrefix(string(b), "sleep\x00") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("child %d is not one of the sleeps: %q %v", k, b, err)
			}
		}
	}
}
