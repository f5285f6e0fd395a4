// Command stack measures what running inside a software stack costs per
// task: a map of N `true` tasks inside a stack (a busybox root
// filesystem, grown to -stack-size by a file of random bytes) against the
// same map run bare, interleaved (bare, stack, bare, stack...), in a fresh
// $BURST_HOME. The first stack map fetches and unpacks the stack (timed
// apart: "first round"); the rounds after run from each machine's cache.
// It prints seconds per round, ms per task and the overhead per task
// (stack minus bare, medians over the rounds; the goal is <= 5 ms), and
// each agent's peak RSS (VmHWM: the unpack included).
//
// On this host's agent (the default), it also times the sandbox alone
// (bwrap running `true` against `true` exec'd directly), and with -keep
// the map with --keep-changes (a writable overlay root per task, burst
// agent-stack-exec) and what that adds:
//
//	go run ./bench/stack -burst bin/burst -tasks 500 -rounds 3
//
// With -hosts N (needs root) the server listens on the bridge of
// scripts/hosts.sh's test hosts and an agent joins from each of N hosts,
// machines that share nothing (each its own /tmp, home and cache): the
// issue's size is
//
//	go run ./bench/stack -burst bin/burst -hosts 4 -stack-size 500M -tasks 1000 -rounds 1
//
// and it prints the bytes each host received (its veth's counter) during
// the first stack map against the stack's size (the stack crosses once
// per host: 1.0x, not once per task) and during the later stack rounds
// (~0: started from the cache). It fails when a host received less than
// the stack or twice it. Run from the module's root. Not part of CI.
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/hosts"
	"github.com/burst-sh/burst/bench/internal/stat"
)

func main() {
	bin := flag.String("burst", "bin/burst", "the burst binary")
	tasks := flag.Int("tasks", 500, "tasks per map")
	rounds := flag.Int("rounds", 3, "rounds of each (after the first stack map)")
	keep := flag.Bool("keep", false, "also measure --keep-changes (a writable root per task; this host only)")
	nhosts := flag.Int("hosts", 0, "run on agents joined from this many test hosts (needs root); 0: this host's agent")
	sizeFlag := flag.String("stack-size", "0", "grow the stack to about this size with random bytes (e.g. 500M); 0: busybox alone")
	flag.Parse()
	size, err := burst.ParseMem(*sizeFlag)
	if err != nil || *tasks < 1 || *rounds < 1 || *nhosts < 0 {
		fail(fmt.Errorf("give -stack-size as 500M or 0, -tasks and -rounds >= 1, -hosts >= 0 (%v)", err))
	}
	if *sizeFlag == "0" {
		size = 0
	}
	scratch, err = burstbin.NewScratch("bench-stack-")
	check(err)
	defer scratch.Close()
	burstBin, err := filepath.Abs(*bin)
	check(err)
	home := scratch.Home("home")
	t := &target{bin: burstBin, env: burstbin.Env(home), dir: scratch.Dir, home: home}
	if *nhosts > 0 {
		release, err := hosts.Up(*nhosts)
		check(err)
		defer release()
		t.srv, err = hosts.StartServer(burstBin, home, scratch.Dir, t.env)
		check(err)
		defer t.srv.Stop()
		check(t.srv.Join(*nhosts))
		t.on = []string{"--on", "joined"}
	} else {
		defer t.run("server", "stop")
	}

	root := filepath.Join(scratch.Dir, "rootfs")
	check(makeRootfs(root, size))
	t.run("stack", "create", "bench", "--from-dir", root)
	check(os.RemoveAll(root))
	out, err := t.cmd("stack", "show", "bench", "-o", "json").Output()
	check(err)
	var st struct {
		Size   int64  `json:"size"`
		Digest string `json:"digest"`
	}
	check(json.Unmarshal(out, &st))
	where := "this host's agent"
	if *nhosts > 0 {
		where = fmt.Sprintf("%d test hosts (an agent each)", *nhosts)
	}
	fmt.Printf("stack of %s (%.1f MiB), maps of %d `true` tasks on %s, %d rounds after the first\n",
		*sizeFlag, mib(st.Size), *tasks, where, *rounds)

	inputs := []string{":::"}
	for i := 1; i <= *tasks; i++ {
		inputs = append(inputs, strconv.Itoa(i))
	}
	mapArgs := func(kind string) []string {
		a := append([]string{"map", "--quiet"}, t.on...)
		switch kind {
		case "stack":
			a = append(a, "--stack", "bench")
		case "keep":
			a = append(a, "--stack", "bench", "--keep-changes")
		}
		return append(append(a, "--", "true", "{}"), inputs...)
	}
	// The first stack map: each machine fetches and unpacks the stack.
	rx, cpu, shared := t.rx(), t.cpu(), t.others()
	first := t.timed(mapArgs("stack")...)
	shared = append(shared, t.others()...)
	fc := t.cpu().sub(cpu)
	fmt.Printf("first round (fetch + unpack + %d tasks) %6.2fs  CPU: agents %.2fs, tasks %.2fs\n", *tasks, first, fc.agents.Seconds(), fc.tasks.Seconds())
	if *nhosts > 0 {
		got, err := hosts.Since(rx)
		check(err)
		fmt.Printf("  bytes each host received during the first stack map: %s%s\n", perStack(got, st.Size), sharedNote(shared))
		for i, n := range got {
			if n < st.Size || n >= 2*st.Size && len(shared) == 0 {
				fail(fmt.Errorf("host %d received %d bytes during the first stack map: want the stack once (%d bytes) and not twice", i+1, n, st.Size))
			}
		}
	}
	kinds := []string{"bare", "stack"}
	if *keep {
		kinds = append(kinds, "keep")
	}
	took, agentCPU, taskCPU := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	var later []int64
	var laterShared []int
	for r := 0; r < *rounds; r++ {
		for _, kind := range kinds {
			rx, cpu := t.rx(), t.cpu()
			if kind == "stack" {
				laterShared = append(laterShared, t.others()...)
			}
			s := t.timed(mapArgs(kind)...)
			if kind == "stack" {
				laterShared = append(laterShared, t.others()...)
			}
			c := t.cpu().sub(cpu)
			ca, ct := 1000*c.agents.Seconds()/float64(*tasks), 1000*c.tasks.Seconds()/float64(*tasks)
			took[kind] = append(took[kind], s)
			agentCPU[kind], taskCPU[kind] = append(agentCPU[kind], ca), append(taskCPU[kind], ct)
			fmt.Printf("round %d %-5s %6.2fs  %5.2f ms/task   CPU per task: agents %5.2f ms, tasks %5.2f ms\n", r+1, kind, s, 1000*s/float64(*tasks), ca, ct)
			if kind == "stack" && *nhosts > 0 {
				got, err := hosts.Since(rx)
				check(err)
				if later == nil {
					later = make([]int64, len(got))
				}
				for i := range got {
					later[i] += got[i]
				}
			}
		}
	}
	if later != nil {
		fmt.Printf("  bytes each host received during the later stack maps (all %d): %s%s\n", *rounds, perStack(later, st.Size), sharedNote(laterShared))
	}
	mb, ms := stat.Median(took["bare"]), stat.Median(took["stack"])
	met := "met"
	if 1000*(ms-mb)/float64(*tasks) > 5 {
		met = "NOT met"
	}
	fmt.Printf("map of %d tasks: bare %.2fs (%.2f ms/task), inside a cached stack %.2fs (%.2f ms/task): %.2fx, overhead %.2f ms per task   goal <= 5 ms: %s\n",
		*tasks, mb, 1000*mb/float64(*tasks), ms, 1000*ms/float64(*tasks), ms/mb, 1000*(ms-mb)/float64(*tasks), met)
	ab, as := stat.Median(agentCPU["bare"]), stat.Median(agentCPU["stack"])
	tb, ts := stat.Median(taskCPU["bare"]), stat.Median(taskCPU["stack"])
	fmt.Printf("CPU per task (user + system): agents bare %.2f ms, stack %.2f ms; tasks (bwrap included) bare %.2f ms, stack %.2f ms: %.2f ms more inside the stack in all\n",
		ab, as, tb, ts, (as+ts)-(ab+tb))
	fmt.Printf("first round %.2fs, a cached stack round %.2fs: %+.2fs for the fetch and unpack (within the noise when the stack is small)\n", first, ms, first-ms)
	if *keep {
		mk := stat.Median(took["keep"])
		fmt.Printf("with --keep-changes %.2fs: %.2f ms per task over bare, %.2f over a read-only stack\n",
			mk, 1000*(mk-mb)/float64(*tasks), 1000*(mk-ms)/float64(*tasks))
	}
	var hwm []string
	for _, pid := range t.agentPIDs() {
		hwm = append(hwm, fmt.Sprintf("%.1f", mib(burstbin.Status(pid, "VmHWM"))))
	}
	fmt.Printf("agents' peak RSS (VmHWM, MiB): %s\n", strings.Join(hwm, " "))
	var zombies []string
	for _, pid := range t.agentPIDs() {
		zombies = append(zombies, strconv.Itoa(zombieChildren(pid)))
	}
	fmt.Printf("zombie children under the agents (none should be left): %s\n", strings.Join(zombies, " "))
	if *nhosts == 0 {
		sandboxAlone(home, scratch.Dir)
	}
}

// target is the burst the bench drives: a server in a fresh home, with
// this host's agent or agents on the test hosts (srv).
type target struct {
	bin, dir, home string
	env            []string
	srv            *hosts.Server
	on             []string // the map's placement
}

func (t *target) cmd(args ...string) *exec.Cmd {
	c := exec.Command(t.bin, args...)
	c.Env, c.Dir = t.env, t.dir
	return c
}

func (t *target) run(args ...string) {
	if out, err := t.cmd(args...).CombinedOutput(); err != nil {
		fail(fmt.Errorf("burst %s: %v\n%s", strings.Join(args[:min(len(args), 6)], " "), err, out))
	}
}

// timed runs a command and returns its seconds.
func (t *target) timed(args ...string) float64 {
	start := time.Now()
	t.run(args...)
	return time.Since(start).Seconds()
}

// rx is what each test host received so far (nil on this host).
func (t *target) rx() []int64 {
	if t.srv == nil {
		return nil
	}
	n, err := hosts.RxBytes(t.srv.Hosts())
	check(err)
	return n
}

func (t *target) agentPIDs() []int {
	if t.srv != nil {
		return t.srv.AgentPIDs()
	}
	return burstbin.AgentPIDs(t.home)
}

// cpuUse is CPU time (user + system) used so far by the agents and by the
// tasks they waited for (bwrap and what it ran): on 2 cores shared with
// other work, a steadier measure than the wall clock.
type cpuUse struct{ agents, tasks time.Duration }

func (c cpuUse) sub(o cpuUse) cpuUse { return cpuUse{c.agents - o.agents, c.tasks - o.tasks} }

func (t *target) cpu() cpuUse {
	var c cpuUse
	for _, pid := range t.agentPIDs() {
		c.agents += burstbin.CPU(pid)
		c.tasks += burstbin.ChildrenCPU(pid)
	}
	return c
}

// others are the other programs using the test hosts now (nil on this
// host).
func (t *target) others() []int {
	if t.srv == nil {
		return nil
	}
	return hosts.Others()
}

// sharedNote says, when other programs used the test hosts during a
// measurement, that the hosts' counters include their traffic.
func sharedNote(pids []int) string {
	if len(pids) == 0 {
		return ""
	}
	slices.Sort(pids)
	return fmt.Sprintf(" (NOT alone: other programs used the test hosts meanwhile, pids %v; the counters include their traffic)", slices.Compact(pids))
}

// perStack is bytes per host, in MiB and in stacks.
func perStack(got []int64, size int64) string {
	var parts []string
	for i, n := range got {
		parts = append(parts, fmt.Sprintf("bh%d %.1f MiB (%.3fx the stack)", i+1, mib(n), float64(n)/float64(size)))
	}
	return strings.Join(parts, ", ")
}

// makeRootfs writes a root filesystem: busybox as /bin/busybox and
// /bin/true and, to reach size, /opt/data.bin of random bytes (they do
// not compress).
func makeRootfs(root string, size int64) error {
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return err
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return errors.New("busybox is needed for the stack's root filesystem: apt-get install busybox-static")
	}
	b, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755); err != nil {
		return err
	}
	if err := os.Symlink("busybox", filepath.Join(root, "bin", "true")); err != nil {
		return err
	}
	if fill := size - int64(len(b)); fill > 0 {
		if err := os.MkdirAll(filepath.Join(root, "opt"), 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(root, "opt", "data.bin"))
		if err != nil {
			return err
		}
		if _, err := io.CopyN(f, rand.Reader, fill); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// sandboxAlone prints what bwrap's start costs alone, against the cached
// root of home's agent.
func sandboxAlone(home, dir string) {
	dirs, _ := filepath.Glob(filepath.Join(home, "cache", "stacks", "*", "rootfs"))
	if len(dirs) == 0 {
		return
	}
	work := filepath.Join(dir, "work")
	check(os.MkdirAll(work, 0o755))
	const n = 200
	time1 := func(argv ...string) float64 {
		t := time.Now()
		for i := 0; i < n; i++ {
			check(exec.Command(argv[0], argv[1:]...).Run())
		}
		return time.Since(t).Seconds() * 1000 / n
	}
	var sb, sx []float64
	for r := 0; r < 3; r++ {
		sb = append(sb, time1("true"))
		sx = append(sx, time1("bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--ro-bind", dirs[0], "/",
			"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", work, "/work", "--chdir", "/work", "--", "/bin/true"))
	}
	fmt.Printf("sandbox alone: true %.2f ms, inside bwrap %.2f ms: +%.2f ms per start\n", stat.Median(sb), stat.Median(sx), stat.Median(sx)-stat.Median(sb))
}

// zombieChildren counts pid's children that have exited and were not
// reaped.
func zombieChildren(pid int) int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	n := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, kid := range strings.Fields(string(b)) {
			st, err := os.ReadFile("/proc/" + kid + "/stat")
			if i := strings.LastIndexByte(string(st), ')'); err == nil && i >= 0 && i+2 < len(st) && (st[i+2] == 'Z' || st[i+2] == 'X') {
				n++
			}
		}
	}
	return n
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

var scratch *burstbin.Scratch

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/stack:", err)
	hosts.KillStarted()
	scratch.Close()
	os.Exit(1)
}
