// Package hosts gives the benchmarks the test hosts of scripts/hosts.sh
// (network namespaces on the private bridge bh-br0, each with a private
// /tmp and home: machines that share nothing with the server) and a burst
// server on the bridge with an agent joined from each host, as a new
// machine would join: a one-time join token whose URL pins the server's
// CA. It needs root. The benchmarks run from the module's root, where
// scripts/hosts.sh is.
package hosts

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// Gateway is the bridge's root side: servers listen there.
	Gateway = "10.251.0.1"
	// Lock is the lock the e2e suite holds (shared) while it uses the
	// hosts: they are removed only by the last one using them.
	Lock = "/run/lock/burst-hosts.lock"
)

// Addr is host I's address on the bridge.
func Addr(i int) string { return fmt.Sprintf("10.251.0.%d", 10+i) }

// Script is scripts/hosts.sh of this module, made absolute.
func Script() (string, error) {
	p, err := filepath.Abs(filepath.Join("scripts", "hosts.sh"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("run the benchmark from burst's module root (scripts/hosts.sh): %v", err)
	}
	return p, nil
}

// Up makes hosts bh1..bhN (kept if they exist), holding the shared lock
// the e2e suite holds, and returns what ends this program's use of them:
// they are removed unless another program still uses them.
func Up(n int) (func(), error) {
	if os.Getuid() != 0 {
		return nil, fmt.Errorf("needs root: the test hosts of scripts/hosts.sh are network namespaces (run as root, or without -hosts)")
	}
	sh, err := Script()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(Lock), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(Lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	if out, err := exec.Command(sh, "start", strconv.Itoa(n)).CombinedOutput(); err != nil {
		f.Close()
		return nil, fmt.Errorf("scripts/hosts.sh start %d: %v\n%s", n, err, out)
	}
	return func() {
		defer f.Close()
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			stop := exec.Command(sh, "stop")
			stop.ExtraFiles = []*os.File{f} // the lock, held: stop would refuse it taken by another file
			stop.Env = append(os.Environ(), "HOSTS_LOCK_FD=3")
			stop.Run()
		}
	}, nil
}

// On makes c run on host I (scripts/hosts.sh exec), with bin copied
// there and run by its name in place of c.Args[0].
func On(i int, bin string, c *exec.Cmd) (*exec.Cmd, error) {
	sh, err := Script()
	if err != nil {
		return nil, err
	}
	c.Args = append([]string{sh, "exec", strconv.Itoa(i), "--bin", bin, filepath.Base(bin)}, c.Args[1:]...)
	c.Path = sh
	return c, nil
}

// RxBytes is what each of hosts 1..n has received so far: the tx counter
// of its veth's root side.
func RxBytes(n int) ([]int64, error) {
	out := make([]int64, n)
	for i := range out {
		b, err := os.ReadFile(fmt.Sprintf("/sys/class/net/bh-v%d/statistics/tx_bytes", i+1))
		if err != nil {
			return nil, err
		}
		if out[i], err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Since is RxBytes(len(before)) less before.
func Since(before []int64) ([]int64, error) {
	after, err := RxBytes(len(before))
	if err != nil {
		return nil, err
	}
	for i := range after {
		after[i] -= before[i]
	}
	return after, nil
}

// Server is a burst server listening on the bridge, with an agent on
// each of hosts 1..N in cluster "joined".
type Server struct {
	Home, Bin string
	Env       []string
	Dir       string // where its commands run
	proc      *exec.Cmd
	agents    []*exec.Cmd
}

// Cmd is a burst command against the server.
func (s *Server) Cmd(args ...string) *exec.Cmd {
	c := exec.Command(s.Bin, args...)
	c.Env, c.Dir = s.Env, s.Dir
	return c
}

// StartServer starts bin's server with home home and environment env on
// the bridge, and waits until it listens there. Its log is home.log.
func StartServer(bin, home, dir string, env []string) (*Server, error) {
	s := &Server{Home: home, Bin: bin, Env: env, Dir: dir}
	s.proc = exec.Command(bin, "server", "--listen", Gateway+":0")
	s.proc.Env = env
	logf, err := os.Create(home + ".log")
	if err != nil {
		return nil, err
	}
	s.proc.Stdout, s.proc.Stderr = logf, logf
	if err := Launch(s.proc); err != nil {
		return nil, err
	}
	err = WaitFor("the server of "+home, 60*time.Second, func() bool {
		var in struct {
			Addr string `json:"addr"`
		}
		b, err := os.ReadFile(filepath.Join(home, "server.json"))
		return err == nil && json.Unmarshal(b, &in) == nil && strings.Contains(in.Addr, "//"+Gateway+":")
	})
	return s, err
}

// Join starts an agent on each of hosts 1..n (machine bhI, cluster
// "joined", with extra arguments), each with a join token of its own,
// and waits until all of them are running. Their logs are
// home.agentI.log.
func (s *Server) Join(n int, extra ...string) error {
	for i := 1; i <= n; i++ {
		var jt struct {
			URL string `json:"url"`
		}
		out, err := s.Cmd("join-token", "create", "--ttl", "10m", "-o", "json").Output()
		if err != nil {
			return fmt.Errorf("join-token create: %v", err)
		}
		if err := json.Unmarshal(out, &jt); err != nil {
			return err
		}
		a, err := On(i, s.Bin, exec.Command(s.Bin, append([]string{"agent", "--join", jt.URL, "--machine", fmt.Sprintf("bh%d", i)}, extra...)...))
		if err != nil {
			return err
		}
		a.Env = s.Env
		alog, err := os.Create(fmt.Sprintf("%s.agent%d.log", s.Home, i))
		if err != nil {
			return err
		}
		a.Stdout, a.Stderr = alog, alog
		if err := Launch(a); err != nil {
			return err
		}
		s.agents = append(s.agents, a)
	}
	return WaitFor(lazy(func() string {
		return fmt.Sprintf("%d agents on the hosts to register with %s (their logs: %s)", n, s.Home, s.AgentLogs())
	}), 60*time.Second, func() bool {
		out, _ := s.Cmd("machine", "list", "-o", "json").Output()
		var ms []struct{ Cluster, State string }
		json.Unmarshal(out, &ms)
		up := 0
		for _, m := range ms {
			if m.Cluster == "joined" && m.State == "running" {
				up++
			}
		}
		return up == n
	})
}

// AgentLogs is the end of each host agent's log, for a failure.
func (s *Server) AgentLogs() string {
	var b strings.Builder
	for i := 1; i <= len(s.agents); i++ {
		log, _ := os.ReadFile(fmt.Sprintf("%s.agent%d.log", s.Home, i))
		fmt.Fprintf(&b, "\n--- host %d:\n%s", i, log[max(0, len(log)-1500):])
	}
	return b.String()
}

// AgentPIDs are the pids (in this program's namespace) of the burst
// agents on the hosts: the processes named like the binary below each
// agent's scripts/hosts.sh exec; 0 for one not found.
func (s *Server) AgentPIDs() []int {
	kids := children()
	out := make([]int, len(s.agents))
	for i, a := range s.agents {
		out[i] = descendant(kids, a.Process.Pid, filepath.Base(s.Bin))
	}
	return out
}

// Stop ends the agents (scripts/hosts.sh exec kills what it started on
// its host) and the server.
func (s *Server) Stop() {
	for _, a := range s.agents {
		a.Process.Kill()
		a.Wait()
	}
	s.Cmd("server", "stop").Run()
	s.proc.Wait()
}

// children maps each pid to its children's, from /proc.
func children() map[int][]int {
	out := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		end := strings.LastIndexByte(string(b), ')')
		if end < 0 {
			continue
		}
		fs := strings.Fields(string(b[end+1:])) // state, ppid, ...
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if len(fs) > 1 {
			if pp, err := strconv.Atoi(fs[1]); err == nil {
				out[pp] = append(out[pp], pid)
			}
		}
	}
	return out
}

// descendant is the first process below pid (breadth first) whose
// command name is name (as the kernel keeps it: its first 15 bytes), or
// 0.
func descendant(kids map[int][]int, pid int, name string) int {
	name = name[:min(len(name), 15)]
	queue := append([]int(nil), kids[pid]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.TrimSpace(string(b)) == name {
			return p
		}
		queue = append(queue, kids[p]...)
	}
	return 0
}

// WaitFor polls ok every 100 ms until it holds, or fails after limit
// naming what it waited for.
func WaitFor(what any, limit time.Duration, ok func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited %s for %v", limit, what)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// lazy is a fmt.Stringer made when printed.
type lazy func() string

func (l lazy) String() string { return l() }

// started are the processes Launch started: KillStarted kills those not
// waited for (each by its own process group; scripts/hosts.sh exec kills
// what it ran on a host when it is killed).
var started struct {
	sync.Mutex
	procs []*exec.Cmd
}

// Launch starts c in a process group of its own, killed with this
// program (Pdeathsig) or by KillStarted.
func Launch(c *exec.Cmd) error {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return err
	}
	started.Lock()
	started.procs = append(started.procs, c)
	started.Unlock()
	return nil
}

// KillStarted kills what Launch started and was not waited for.
func KillStarted() {
	started.Lock()
	defer started.Unlock()
	for _, c := range started.procs {
		if c.ProcessState == nil {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}
}

// Hosts is how many hosts have an agent joined.
func (s *Server) Hosts() int { return len(s.agents) }

// Others are the processes, other than this one and its descendants,
// that hold the hosts' lock now: other programs using the test hosts,
// whose traffic the hosts' counters (RxBytes) include.
func Others() []int {
	fi, err := os.Stat(Lock)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return nil
	}
	kids := children()
	ours := map[int]bool{}
	for queue := []int{os.Getpid()}; len(queue) > 0; queue = queue[1:] {
		ours[queue[0]] = true
		queue = append(queue, kids[queue[0]]...)
	}
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	seen := map[int]bool{}
	var out []int
	for _, line := range strings.Split(string(b), "\n") {
		// 1: FLOCK  ADVISORY  READ 4242 00:1a:812 0 EOF
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" || !strings.HasSuffix(f[5], suffix) {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || ours[pid] || seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
	}
	return out
}
