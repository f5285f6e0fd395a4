package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// withMarker lists the live processes whose command line holds marker.
func withMarker(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// The sleeps, not the shells whose scripts name them.
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || string(comm) != "sleep\n" || !bytes.Contains(b, []byte(marker)) {
			continue
		}
		if st, err := readStat(pid); err == nil && !st.dead() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// escapes are the ways a task's process leaves its session and process
// group (setsid) or its parent (double fork, nohup in the background): each leaves a sleep behind whose argv holds %s, a unique marker
// (a duration of 300 s and a unique fraction).
var escapes = map[string]string{
	"setsid":      `setsid sleep %s & echo started`,
	"double fork": `( (sleep %s &) & ); echo started`,
	"nohup":       `nohup sleep %s >/dev/null 2>&1 & echo started`,
}

// TestEscapedProcessesDieWithTask: whatever a task started is dead when Wait
// returns, whether the task's own process exited, was cancelled or ran out
// of time, in whatever containment this machine allows.
func TestEscapedProcessesDieWithTask(t *testing.T) {
	t.Logf("containment: %s", Containment())
	for name, script := range escapes {
		for _, end := range []string{"exit", "cancel", "timeout"} {
			t.Run(name+"/"+end, func(t *testing.T) {
				marker := uniqueSleep()
				sh := fmt.Sprintf(script, marker)
				spec := Spec{Argv: []string{"sh", "-c", sh}, Stdout: filepath.Join(t.TempDir(), "out"), Grace: time.Second}
				if end != "exit" {
					sh += "; exec sleep 300"
				}
				if end == "timeout" {
					spec.TimeLimit = 500 * time.Millisecond
				}
				spec.Argv[2] = sh
				t.Cleanup(func() {
					for _, pid := range withMarker(marker) {
						_ = syscallKill(pid)
					}
				})
				task, err := Start(spec)
				if err != nil {
					t.Fatal(err)
				}
				if end == "cancel" {
					waitFor(t, func() bool { return len(withMarker(marker)) > 0 })
					task.Cancel()
				}
				r := task.Wait()
				want := map[string]burst.State{"exit": burst.Succeeded, "cancel": burst.Cancelled, "timeout": burst.Timeout}[end]
				if r.State != want {
					t.Fatalf("state %s (%s), want %s", r.State, r.Reason, want)
				}
				if left := withMarker(marker); len(left) > 0 {
					t.Fatalf("%d processes of the task outlived it (%v), containment %s", len(left), left, Containment())
				}
				if task.box != nil {
					if _, err := os.Stat(task.box.dir); !os.IsNotExist(err) {
						t.Fatalf("its cgroup %s is still there (%v)", task.box.dir, err)
					}
				}
			})
		}
	}
}

// uniqueSleep is a duration for sleep(1) of about 300 s that no other
// process has in its argv.
func uniqueSleep() string { return fmt.Sprintf("300.%d", time.Now().UnixNano()) }

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLeftoverCgroupsCleaned: the directory an agent that is gone left
// behind, with a process still in a task cgroup of it, is emptied and
// removed by the next agent's first use.
func TestLeftoverCgroupsCleaned(t *testing.T) {
	if Containment() != ContainCgroup2 {
		t.Skipf("containment is %s here", Containment())
	}
	parent := filepath.Dir(contained.dir)
	// pid 1 runs, but did not start at tick 1: an agent that is gone.
	dead := filepath.Join(parent, "agent-1-1")
	task := filepath.Join(dead, "9.0.1")
	if err := os.MkdirAll(task, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := uniqueSleep()
	// A process left by the dead agent.
	p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "echo $$ > " + filepath.Join(task, "cgroup.procs") + " && exec sleep " + marker}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	go p.Wait()
	waitFor(t, func() bool { return len(withMarker(marker)) == 1 })
	cleanLeftovers(parent)
	waitFor(t, func() bool { return len(withMarker(marker)) == 0 })
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("%s still there (%v)", dead, err)
	}
	if _, err := os.Stat(contained.dir); err != nil {
		t.Fatalf("the live agent's directory is gone: %v", err)
	}
}
