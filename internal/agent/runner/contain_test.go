package runner

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
					if b, err := os.ReadFile(filepath.Join(task.box.dir, "cgroup.procs")); err == nil && len(b) > 0 {
						t.Fatalf("its cgroup %s still holds %q", task.box.dir, b)
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
// removed by the next agent's first use. Directories of agents in another
// pid namespace or of another home, and those whose name says neither (an
// older burst's), are left alone with what runs in them: a pid there is
// not known to be the one this agent sees. So is what runs in the
// directory of a gone agent started by hand before it knew its home
// ("nohome": every such agent's, whatever its server); only its empty
// cgroups go. Before, each hand-started agent killed the tasks the others
// had left for their servers (e2e TestFaultHandStartedAgentLost beside
// another test's hand-started agent).
func TestLeftoverCgroupsCleaned(t *testing.T) {
	if c := Containment(); c != ContainCgroup2 && c != ContainCgroup1 {
		t.Skipf("containment is %s here", Containment())
	}
	parent := filepath.Dir(contained.dir)
	ns, err := pidNamespace()
	if err != nil {
		t.Fatal(err)
	}
	home := "thishome" + strconv.Itoa(os.Getpid())
	// pid 1 runs, but did not start at tick 1: an agent that is gone.
	dead := filepath.Join(parent, fmt.Sprintf("agent-%d-1-1-%s", ns, home))
	others := []string{
		filepath.Join(parent, "agent-1-1"),                                // no namespace, no home
		filepath.Join(parent, fmt.Sprintf("agent-%d-1-1-%s", ns+1, home)), // another pid namespace
		filepath.Join(parent, fmt.Sprintf("agent-%d-1-1-otherhome", ns)),  // another home
		filepath.Join(parent, fmt.Sprintf("agent-%d-1-1-%s", ns, noHome)), // a hand-started agent's, before it knew its home
	}
	// A gone hand-started agent's directory with nothing running in it.
	emptyNoHome := filepath.Join(parent, fmt.Sprintf("agent-%d-1-2-%s", ns, noHome), "9.0.2")
	if err := os.MkdirAll(emptyNoHome, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(emptyNoHome); os.Remove(filepath.Dir(emptyNoHome)) })
	run := func(dir string) string {
		task := filepath.Join(dir, "9.0.1")
		if err := os.MkdirAll(task, 0o755); err != nil {
			t.Fatal(err)
		}
		marker := uniqueSleep()
		p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "echo $$ > " + filepath.Join(task, "cgroup.procs") + " && exec sleep " + marker}, &os.ProcAttr{})
		if err != nil {
			t.Fatal(err)
		}
		go p.Wait()
		waitFor(t, func() bool { return len(withMarker(marker)) == 1 })
		t.Cleanup(func() {
			cg := &cgroup{dir: task, fd: -1}
			_, err := os.Stat(filepath.Join(task, "cgroup.kill"))
			cg.v1 = err != nil
			cg.remove()
			_ = os.Remove(dir)
		})
		return marker
	}
	marker := run(dead)
	var kept []string
	for _, d := range others {
		kept = append(kept, run(d))
	}
	cleanLeftovers(parent, ns, noHome) // an agent started by hand, its home not known yet: it kills nothing
	for i, m := range append(kept, marker) {
		if len(withMarker(m)) != 1 {
			t.Fatalf("an agent of no home yet killed what ran in %s", append(others, dead)[i])
		}
	}
	cleanLeftovers(parent, ns, home)
	waitFor(t, func() bool { return len(withMarker(marker)) == 0 })
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("%s still there (%v)", dead, err)
	}
	for i, m := range kept {
		if len(withMarker(m)) != 1 {
			t.Errorf("the process in %s was killed", others[i])
		}
		if _, err := os.Stat(others[i]); err != nil {
			t.Errorf("%s was removed: %v", others[i], err)
		}
	}
	if _, err := os.Stat(filepath.Dir(emptyNoHome)); !os.IsNotExist(err) {
		t.Errorf("the empty directory of a gone hand-started agent is still there (%v)", err)
	}
	if _, err := os.Stat(contained.dir); err != nil {
		t.Fatalf("the live agent's directory is gone: %v", err)
	}
}

// TestShutdownRemovesCgroups: once its tasks have ended and it shuts down,
// an agent leaves no cgroup behind.
func TestShutdownRemovesCgroups(t *testing.T) {
	if c := Containment(); c != ContainCgroup2 && c != ContainCgroup1 {
		t.Skipf("containment is %s here", Containment())
	}
	var dirs []string
	for range 3 {
		task, err := Start(Spec{Argv: []string{"sh", "-c", "setsid sleep " + uniqueSleep() + " & echo"}})
		if err != nil {
			t.Fatal(err)
		}
		task.Wait()
		dirs = append(dirs, task.box.dir)
	}
	Shutdown()
	for _, d := range append(dirs, contained.dir) {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is still there after Shutdown (%v)", d, err)
		}
	}
	// A task after Shutdown (tests, an agent that goes on) is still
	// contained.
	task, err := Start(Spec{Argv: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	task.Wait()
	if task.box == nil || filepath.Dir(task.box.dir) != contained.dir {
		t.Fatalf("a task after Shutdown has box %+v, want one in %s", task.box, contained.dir)
	}
	Shutdown()
}

// BenchmarkStartTrue is the cost of one tiny task from start to end in the
// containment this machine allows (BURST_CONTAIN=process-group for the
// cost without any).
func BenchmarkStartTrue(b *testing.B) {
	b.Logf("containment: %s", Containment())
	for i := 0; i < b.N; i++ {
		task, err := Start(Spec{Argv: []string{"/bin/true"}})
		if err != nil {
			b.Fatal(err)
		}
		if r := task.Wait(); r.State != burst.Succeeded {
			b.Fatal(r.State, r.Reason)
		}
	}
}

// TestBoxesReused: tasks one after another, some of them leaving a process
// behind (their box is then killed), all run to their own end: a box that
// was killed is never used again (the kernel would kill at birth whatever
// is cloned into it: see bornAlive), and the others are.
func TestBoxesReused(t *testing.T) {
	t.Parallel()
	if c := Containment(); c != ContainCgroup2 && c != ContainCgroup1 {
		t.Skipf("containment is %s here", c)
	}
	var mu sync.Mutex
	uses := map[string]int{}
	var killed []string // boxes of tasks that left a process behind
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				argv := []string{"true"}
				leaves := (i+g)%3 == 0
				if leaves {
					argv = []string{"sh", "-c", "sleep 0.2 & exit 0"}
				}
				task, err := Start(Spec{Argv: argv})
				if err != nil {
					t.Error(err)
					return
				}
				if r := task.Wait(); r.State != burst.Succeeded {
					t.Errorf("task %d.%d %q: %s (%s)", g, i, argv, r.State, r.Reason)
				}
				if task.box == nil {
					t.Errorf("task %d.%d had no box", g, i)
					return
				}
				mu.Lock()
				uses[task.box.dir]++
				if leaves {
					killed = append(killed, task.box.dir)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	reused := 0
	for _, n := range uses {
		if n > 1 {
			reused++
		}
	}
	if reused == 0 {
		t.Errorf("no box was used twice in 90 tasks (%d boxes)", len(uses))
	}
	// A killed box is removed at once, never put back for another task
	// (which the kernel would kill at birth: its state above says so).
	for _, d := range killed {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("box %s, killed at its task's end, is still there (%v)", d, err)
		}
	}
}

// TestNoV1CgroupsInsideSlurm: inside a Slurm job the agent makes no v1
// freezer cgroup of its own. Slurm's v1 proctrack/cgroup kills a step by
// the pids in its step cgroup's cgroup.procs ("Control Group in Slurm",
// slurm.schedmd.com/cgroups.html: the step's processes are tracked in its
// cgroup); a task moved into a cgroup below it would outlive scancel and
// the job's time limit. The v1 directory is not even created.
func TestNoV1CgroupsInsideSlurm(t *testing.T) {
	if _, _, err := cgroupMount("freezer", ""); err != nil {
		t.Skipf("no v1 freezer here: %v", err)
	}
	dir, _, err := setupContainV1("4242")
	if err == nil {
		t.Fatalf("made v1 freezer cgroup %s inside Slurm job 4242", dir)
	}
	if !strings.Contains(err.Error(), "Slurm job 4242") {
		t.Fatalf("error %q does not name the Slurm job", err)
	}
}

// inChild runs the test named name again in a child process of its own,
// with env added (a containment mode, a cgroup to be in: settings a
// process takes once), and reports whether this is that child, which then
// runs the test's body.
func inChild(t *testing.T, name string, env ...string) bool {
	t.Helper()
	if os.Getenv("BURST_TEST_CHILD") == name {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), append(env, "BURST_TEST_CHILD="+name)...)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+name)) {
		t.Fatalf("%s in a child process: %v\n%s", name, err, out)
	}
	t.Logf("child:\n%s", out)
	return false
}

// TestSubreaperScansOnlyForOrphans: in subreaper mode a task that leaves
// nothing behind ends without a scan of /proc (milliseconds on a busy
// host); one that leaves a process behind is scanned for, and the process
// dies with it.
func TestSubreaperScansOnlyForOrphans(t *testing.T) {
	if !inChild(t, "TestSubreaperScansOnlyForOrphans", ContainEnv+"="+ContainSubreaper) {
		return
	}
	if c := Containment(); c != ContainSubreaper {
		t.Skipf("containment is %s", c)
	}
	for i := range 20 {
		task, err := Start(Spec{Argv: []string{"true"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := task.Wait(); r.State != burst.Succeeded {
			t.Fatalf("task %d: %s (%s)", i, r.State, r.Reason)
		}
	}
	if n := fullScans.Load(); n != 0 {
		t.Fatalf("20 tasks that left nothing behind scanned /proc %d times", n)
	}
	marker := uniqueSleep()
	// The task ends only once its child is in a session of its own (the
	// file is made after setsid): ended sooner, the child would still be
	// in the task's process group and die with it, unscanned for.
	ready := filepath.Join(t.TempDir(), "ready")
	task, err := Start(Spec{Argv: []string{"sh", "-c", `setsid sh -c 'touch "$1"; exec sleep ` + marker + `' _ "$0" & while [ ! -e "$0" ]; do sleep 0.01; done`, ready}})
	if err != nil {
		t.Fatal(err)
	}
	if r := task.Wait(); r.State != burst.Succeeded {
		t.Fatalf("%s (%s)", r.State, r.Reason)
	}
	if left := withMarker(marker); len(left) > 0 {
		t.Fatalf("the setsid sleep outlived its task: %v", left)
	}
	if fullScans.Load() == 0 {
		t.Fatal("a task that left a process behind was not scanned for")
	}
}

// TestSubreaperReapsLateZombies: in subreaper mode a process of a task's
// group that dies just after the task's own process (as a bwrap
// sandbox's pid-1 process does) is re-parented to the agent and reaped
// at the task's end: no zombie is left behind, task after task.
func TestSubreaperReapsLateZombies(t *testing.T) {
	if !inChild(t, "TestSubreaperReapsLateZombies", ContainEnv+"="+ContainSubreaper) {
		return
	}
	if c := Containment(); c != ContainSubreaper {
		t.Skipf("containment is %s", c)
	}
	const n = 30
	for i := range n {
		task, err := Start(Spec{Argv: []string{"sh", "-c", "sleep 5 & exit 0"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := task.Wait(); r.State != burst.Succeeded {
			t.Fatalf("task %d: %s (%s)", i, r.State, r.Reason)
		}
	}
	kids, ok := ownChildren()
	if !ok {
		t.Fatal("cannot read this process's children")
	}
	var zombies []int
	var buf [512]byte
	for _, pid := range kids {
		if b, err := readProc(procPath(pid, "stat"), buf[:]); err == nil {
			if _, _, state, ok := parseParent(b); ok && (state == 'Z' || state == 'X') {
				zombies = append(zombies, pid)
			}
		}
	}
	if len(zombies) > 0 {
		t.Fatalf("%d tasks left %d zombie children of the agent: %v", n, len(zombies), zombies)
	}
}

// TestFailedBox: a task whose containment cgroup cannot be made for want
// of descriptors is Lost (its machine's fault: it runs again, without
// using a retry); for another reason it runs, contained by the subreaper
// instead, and what it leaves behind still dies with it.
func TestFailedBox(t *testing.T) {
	if !inChild(t, "TestFailedBox") {
		return
	}
	if c := Containment(); c != ContainCgroup2 && c != ContainCgroup1 {
		t.Skipf("containment is %s here", c)
	}
	failWith := func(err error) {
		mkBox = func() (*cgroup, error) { return nil, err }
	}
	failWith(syscall.EMFILE)
	task, err := Start(Spec{Argv: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := task.Wait(); r.State != burst.Lost || !strings.Contains(r.Reason, "too many open files") {
		t.Fatalf("out of descriptors: %s (%s), want lost", r.State, r.Reason)
	}
	failWith(syscall.EACCES)
	marker := uniqueSleep()
	task, err = Start(Spec{Argv: []string{"sh", "-c", "setsid sleep " + marker + " & echo"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := task.Wait(); r.State != burst.Succeeded {
		t.Fatalf("no permission for a box: %s (%s), want succeeded", r.State, r.Reason)
	}
	if left := withMarker(marker); len(left) > 0 {
		for _, pid := range left {
			_ = syscallKill(pid)
		}
		t.Fatalf("without its box, the task's setsid sleep outlived it: %v", left)
	}
}

// TestBoxPoolFitsConcurrency: an agent that runs more tasks at once than
// the pool's floor (64) keeps a box for each, so that the next round makes
// no cgroup.
func TestBoxPoolFitsConcurrency(t *testing.T) {
	if !inChild(t, "TestBoxPoolFitsConcurrency") {
		return
	}
	if c := Containment(); c != ContainCgroup2 && c != ContainCgroup1 {
		t.Skipf("containment is %s here", c)
	}
	const n = 80
	round := func() {
		var tasks []*Task
		var gates []*os.File
		for range n {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			task, err := Start(Spec{Argv: []string{"cat"}, In: r})
			if err != nil {
				t.Fatal(err)
			}
			tasks, gates = append(tasks, task), append(gates, w)
		}
		for _, w := range gates { // all n run at once until now
			w.Close()
		}
		for _, task := range tasks {
			if r := task.Wait(); r.State != burst.Succeeded {
				t.Fatalf("%s (%s)", r.State, r.Reason)
			}
		}
	}
	round()
	boxes.Lock()
	made, free := boxes.n, len(boxes.free)
	boxes.Unlock()
	if free < n {
		t.Fatalf("%d boxes kept after %d tasks at once, want %d", free, n, n)
	}
	round()
	boxes.Lock()
	again := boxes.n - made
	boxes.Unlock()
	if again != 0 {
		t.Fatalf("the second round of %d tasks made %d new boxes, want 0", n, again)
	}
}

// TestAgentInOnceKilledCgroup: an agent whose own cgroup was once sent
// cgroup.kill (before it moved in) does not use cgroup v2 boxes, whose
// processes the kernel would kill at birth (see bornAlive): its tasks run
// to their own end, still contained.
func TestAgentInOnceKilledCgroup(t *testing.T) {
	if os.Getenv("BURST_TEST_CHILD") != "TestAgentInOnceKilledCgroup" {
		if c := Containment(); c != ContainCgroup2 {
			t.Skipf("containment is %s here", c)
		}
	}
	if !inChild(t, "TestAgentInOnceKilledCgroup") {
		return
	}
	mp, root, err := cgroupMount("", cgroupRoot)
	if err != nil {
		mp, root, err = cgroupMount("", filepath.Join(cgroupRoot, "unified"))
	}
	if err != nil {
		t.Fatal(err)
	}
	own, _ := ownCgroup("")
	home := ownCgroupDir(mp, root, own)
	killed := filepath.Join(home, fmt.Sprintf("burst-test-killed-%d", os.Getpid()))
	if err := os.Mkdir(killed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(killed, "cgroup.kill"), "1"); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(killed, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		Shutdown()
		_ = writeFile(filepath.Join(home, "cgroup.procs"), strconv.Itoa(os.Getpid()))
		_ = os.Remove(filepath.Join(killed, "burst"))
		_ = os.Remove(killed)
	})
	t.Logf("containment in a once-killed cgroup: %s", Containment())
	marker := uniqueSleep()
	task, err := Start(Spec{Argv: []string{"sh", "-c", "setsid sleep " + marker + " & echo"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := task.Wait(); r.State != burst.Succeeded {
		t.Fatalf("%s (%s) under containment %s, want succeeded", r.State, r.Reason, Containment())
	}
	if left := withMarker(marker); len(left) > 0 {
		t.Fatalf("its setsid sleep outlived it: %v", left)
	}
}

// TestDescendants: the processes a process started, and theirs, are found
// below it (a shell's sleep under a shell under it); a process not below
// it is not.
func TestDescendants(t *testing.T) {
	inner := uniqueSleep()
	cmd := exec.Command("sh", "-c", "sh -c 'sleep "+inner+"; true' & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range Descendants(cmd.Process.Pid) {
			syscall.Kill(p, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}()
	sleeps := func() []int { return withMarker(inner) }
	waitFor(t, func() bool { return len(sleeps()) == 1 })
	below := Descendants(cmd.Process.Pid)
	if len(below) != 2 || !slices.Contains(below, sleeps()[0]) {
		t.Errorf("Descendants(the outer shell) = %v, want the inner shell and its sleep %v", below, sleeps())
	}
	if got := Descendants(sleeps()[0]); len(got) != 0 {
		t.Errorf("Descendants(the sleep) = %v, want none", got)
	}
}
