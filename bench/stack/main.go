// Command stack measures what running inside a software stack costs per
// task: a map of N `true` tasks inside a cached stack (a busybox root
// filesystem) against the same map run bare, interleaved (bare, stack,
// bare, stack...), on this host's agent, in a fresh $BURST_HOME. The
// first stack round fetches and unpacks the stack; the rounds after run
// from the machine's cache. It prints seconds per round, ms per task and
// the overhead per task (stack minus bare, medians over the rounds), and
// the same for the sandbox alone (bwrap running `true` against `true`
// exec'd directly). The goal is <= 5 ms per task. With -keep it also
// runs the map with --keep-changes (a writable overlay root per task,
// burst agent-stack-exec) and prints what that adds. Run from the
// module's root:
//
//	go run ./bench/stack -burst bin/burst -tasks 500 -rounds 3
//
// Not part of CI.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

func main() {
	bin := flag.String("burst", "bin/burst", "the burst binary")
	tasks := flag.Int("tasks", 500, "tasks per map")
	rounds := flag.Int("rounds", 3, "rounds of each")
	keep := flag.Bool("keep", false, "also measure --keep-changes (a writable root per task)")
	flag.Parse()
	home, err := os.MkdirTemp("", "bench-stack-")
	must(err)
	defer os.RemoveAll(home)
	burst, _ := filepath.Abs(*bin)
	env := append(os.Environ(), "BURST_HOME="+filepath.Join(home, "home"))
	run := func(args ...string) {
		c := exec.Command(burst, args...)
		c.Env, c.Dir = env, home
		if out, err := c.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "burst %v: %v\n%s", args, err, out)
			os.Exit(1)
		}
	}
	defer run("server", "stop")
	root := filepath.Join(home, "rootfs")
	must(os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	bb, err := exec.LookPath("busybox")
	must(err)
	b, err := os.ReadFile(bb)
	must(err)
	must(os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755))
	must(os.Symlink("busybox", filepath.Join(root, "bin", "true")))
	run("stack", "create", "bench", "--from-dir", root)
	inputs := []string{":::"}
	for i := 1; i <= *tasks; i++ {
		inputs = append(inputs, strconv.Itoa(i))
	}
	mapArgs := func(kind string) []string {
		a := []string{"map", "-q"}
		switch kind {
		case "stack":
			a = append(a, "--stack", "bench")
		case "keep":
			a = append(a, "--stack", "bench", "--keep-changes")
		}
		return append(append(a, "--", "true", "{}"), inputs...)
	}
	run(mapArgs("stack")...) // fetch and unpack once: the rounds run from the cache
	kinds := []string{"bare", "stack"}
	if *keep {
		kinds = append(kinds, "keep")
	}
	took := map[string][]float64{}
	for r := 0; r < *rounds; r++ {
		for _, kind := range kinds {
			t := time.Now()
			run(mapArgs(kind)...)
			s := time.Since(t).Seconds()
			took[kind] = append(took[kind], s)
			fmt.Printf("round %d %-5s %6.2fs  %5.2f ms/task\n", r+1, kind, s, 1000*s/float64(*tasks))
		}
	}
	mb, ms := median(took["bare"]), median(took["stack"])
	fmt.Printf("map of %d tasks: bare %.2fs, inside a cached stack %.2fs: %.2fx, overhead %.2f ms per task (goal <= 5)\n",
		*tasks, mb, ms, ms/mb, 1000*(ms-mb)/float64(*tasks))
	if *keep {
		mk := median(took["keep"])
		fmt.Printf("with --keep-changes %.2fs: %.2f ms per task over bare, %.2f over a read-only stack\n",
			mk, 1000*(mk-mb)/float64(*tasks), 1000*(mk-ms)/float64(*tasks))
	}
	// The sandbox alone.
	cached := filepath.Join(home, "home", "cache", "stacks")
	dirs, _ := filepath.Glob(filepath.Join(cached, "*", "rootfs"))
	if len(dirs) == 0 {
		return
	}
	work := filepath.Join(home, "work")
	must(os.MkdirAll(work, 0o755))
	const n = 200
	time1 := func(argv ...string) float64 {
		t := time.Now()
		for i := 0; i < n; i++ {
			must(exec.Command(argv[0], argv[1:]...).Run())
		}
		return time.Since(t).Seconds() * 1000 / n
	}
	var sb, sx []float64
	for r := 0; r < 3; r++ {
		sb = append(sb, time1("true"))
		sx = append(sx, time1("bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--ro-bind", dirs[0], "/",
			"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", work, "/work", "--chdir", "/work", "--", "/bin/true"))
	}
	fmt.Printf("sandbox alone: true %.2f ms, inside bwrap %.2f ms: +%.2f ms per start\n", median(sb), median(sx), median(sx)-median(sb))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
