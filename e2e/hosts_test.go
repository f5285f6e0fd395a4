package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test hosts: machines that share nothing with the server (docs/hosts.md).
// scripts/hosts.sh makes them: network namespaces bh1..bhN on a private
// bridge, and for each command run there private mount, UTS and PID
// namespaces (an empty /tmp, its own HOME and host name, the server's
// BURST_HOME covered). They are made once per test binary, when a test
// first asks (needHosts), and removed by TestMain when the binary ends
// (stopHosts), unless another test binary still uses them.

const (
	// hostCount hosts are made. Tests that cut a host's network have one
	// to themselves (hostDropWithin, hostDropPast); the others share 1 and 2.
	hostCount = 4
	// hostGateway is the root side of the bridge: where a test's server
	// listens for agents on the hosts.
	hostGateway = "10.251.0.1"
	// hostsLock is held shared by every test binary that uses the hosts;
	// the one that can take it exclusively at its end removes them.
	hostsLock = "/run/lock/burst-hosts.lock"
)

// hostAddr is host i's address on the bridge.
func hostAddr(i int) string { return fmt.Sprintf("10.251.0.%d", 10+i) }

var hosts struct {
	sync.Mutex
	tried bool
	err   error
	lock  *os.File
}

// needHosts makes the test hosts once per test binary. A test that cannot
// have them skips loudly, and fails under BURST_CI=1, where they must run.
func needHosts(t *testing.T) {
	t.Helper()
	hosts.Lock()
	defer hosts.Unlock()
	if !hosts.tried {
		hosts.tried = true
		hosts.err = startHosts()
	}
	if hosts.err == nil {
		return
	}
	if os.Getenv("BURST_CI") != "" {
		t.Fatalf("test hosts: %v (BURST_CI is set and CI must not skip)", hosts.err)
	}
	t.Skipf("!!! SKIPPED: test hosts: %v", hosts.err)
}

func startHosts() error {
	if os.Getuid() != 0 {
		return fmt.Errorf("scripts/hosts.sh needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("needs iproute2: apt-get install -y iproute2")
	}
	if err := os.MkdirAll(filepath.Dir(hostsLock), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(hostsLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// Blocks while another binary removes the hosts, then makes them again.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return fmt.Errorf("lock %s: %v", hostsLock, err)
	}
	hosts.lock = f
	out, err := exec.Command(filepath.Join(moduleDir, "scripts", "hosts.sh"), "start", strconv.Itoa(hostCount)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/hosts.sh start %d: %v\n%s", hostCount, err, out)
	}
	return nil
}

// stopHosts removes the hosts when this binary made use of them and no
// other binary still does. TestMain calls it at the end.
func stopHosts() {
	hosts.Lock()
	defer hosts.Unlock()
	if hosts.lock == nil {
		return
	}
	defer hosts.lock.Close()
	if err := syscall.Flock(int(hosts.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: test hosts left running: another test binary uses them")
		return
	}
	// The lock is handed to stop, which refuses while anyone else holds it.
	stop := exec.Command(filepath.Join(moduleDir, "scripts", "hosts.sh"), "stop")
	stop.ExtraFiles = []*os.File{hosts.lock}
	stop.Env = append(os.Environ(), "HOSTS_LOCK_FD=3")
	if out, err := stop.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: scripts/hosts.sh stop: %v\n%s", err, out)
	}
}

// hostExec is scripts/hosts.sh exec I [OPTS] ARGS... with the harness's
// environment (its BURST_HOME is covered there, and its tag lets cleanup
// find what runs there).
func (h *harness) hostExec(i int, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(moduleDir, "scripts", "hosts.sh"), append([]string{"exec", strconv.Itoa(i)}, args...)...)
	c.Env = append([]string(nil), h.env...)
	c.Dir = "/"
	return c
}

// startHostServer is a harness whose server also listens on the bridge,
// for agents on the hosts (burst server --listen).
func startHostServer(t *testing.T, args ...string) *harness {
	t.Helper()
	return startHostServerWith(t, nil, args...)
}

// startHostServerWith is startHostServer with prepare run on the harness
// before its server starts (a Slurm test's SLURM_CONF, which the server
// needs in its environment to run sbatch).
func startHostServerWith(t *testing.T, prepare func(*harness), args ...string) *harness {
	t.Helper()
	needHosts(t)
	h := newHarness(t)
	if prepare != nil {
		prepare(h)
	}
	c := h.command(append([]string{"server", "--listen", hostGateway + ":0"}, args...)...)
	var log syncBuffer
	c.Stdout, c.Stderr = &log, &log
	c.WaitDelay = 5 * time.Second
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // reaped at once: `burst server stop` sees it gone
	go func() { c.Wait(); close(exited) }()
	t.Cleanup(func() {
		c.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("--- server's output:\n%s", tail(log.String(), 3000))
		}
	})
	h.waitFor("the server to listen on "+hostGateway, 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(h.home, "server.json"))
		var in serverInfo
		return err == nil && json.Unmarshal(b, &in) == nil && strings.Contains(in.Addr, "//"+hostGateway+":")
	})
	return h
}

// hostLink is how an agent on a host reaches this test's server: the
// arguments of `burst agent` and the files it needs. The files reach the
// host through the agent's standard input (a tar stream unpacked into
// /tmp/agent there), never through a path the host shares with the server.
type hostLink struct {
	args  []string
	files map[string][]byte
	env   []string
}

// hostConnect is the one place that says how an agent on a host connects:
// as a new machine would, with a one-time join token for cluster, whose
// URL pins the server's CA by hash (the server listens on the bridge,
// beyond loopback, so it serves TLS). The host gets nothing else: no
// token of the home, no CA file.
func (h *harness) hostConnect(cluster string) hostLink {
	h.t.Helper()
	args := []string{"join-token", "create", "--ttl", "10m", "-o", "json"}
	if cluster != "" {
		args = append(args, "--cluster", cluster) // a cluster of the joined provider, made first
	}
	r := h.mustRun(args...)
	var jt struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &jt); err != nil || !strings.HasPrefix(jt.URL, "https://"+hostGateway+":") || !strings.Contains(jt.URL, "#sha256:") {
		h.t.Fatalf("join-token create: want an https URL on %s pinning the CA, got %q (%v)", hostGateway, r.stdout, err)
	}
	return hostLink{args: []string{"--join", jt.URL}}
}

// hostAgent is a `burst agent` running on a test host.
type hostAgent struct {
	host    int
	machine string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{} // closed when it has exited
	err     error         // how it exited, once done is closed
}

// startHostAgent runs the real `burst agent` on host i, connected to h's
// server (hostConnect), with args added (--machine, --cluster, --cpus...).
// The binary is copied into the host's private /tmp (the one under test
// lives in this machine's /tmp, which the host does not see). It is
// stopped, with everything it started there, in t.Cleanup; its log is
// printed when the test fails.
func (h *harness) startHostAgent(i int, args ...string) *hostAgent {
	h.t.Helper()
	return h.startHostAgentEnv(i, nil, args...)
}

// startHostAgentEnv is startHostAgent with env added to the agent's
// environment (KEY=VALUE).
func (h *harness) startHostAgentEnv(i int, env []string, args ...string) *hostAgent {
	h.t.Helper()
	machine, cluster := "bh"+strconv.Itoa(i), "" // no --cluster: the default cluster of joined machines
	var agentArgs []string                       // the token names the cluster: the agent refuses --cluster with --join
	for k := 0; k < len(args); k++ {
		if args[k] == "--cluster" && k+1 < len(args) {
			cluster = args[k+1]
			k++
			continue
		}
		if args[k] == "--machine" && k+1 < len(args) {
			machine = args[k+1]
		}
		agentArgs = append(agentArgs, args[k])
	}
	args = agentArgs
	link := h.hostConnect(cluster)
	var stdin bytes.Buffer
	tw := tar.NewWriter(&stdin)
	for name, b := range link.files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b))}); err != nil {
			h.t.Fatal(err)
		}
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		h.t.Fatal(err)
	}
	const inner = `umask 077 && mkdir -p /tmp/agent && tar -x -C /tmp/agent -f - && exec burst agent "$@" </dev/null`
	c := h.hostExec(i, append([]string{"--bin", burstBin, "sh", "-c", inner, "sh"}, append(link.args, args...)...)...)
	c.Env = append(append(c.Env, link.env...), env...)
	c.Stdin = &stdin
	a := &hostAgent{host: i, machine: machine, cmd: c, log: &syncBuffer{}, done: make(chan struct{})}
	c.Stdout, c.Stderr = a.log, a.log
	c.WaitDelay = 5 * time.Second
	if err := c.Start(); err != nil {
		h.t.Fatalf("start an agent on host %d: %v", i, err)
	}
	go func() { a.err = c.Wait(); close(a.done) }()
	t := h.t
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("--- agent %s on host bh%d:\n%s", machine, i, tail(a.log.String(), 3000))
		}
	})
	return a
}

// stop kills the agent and everything it runs on its host (scripts/hosts.sh
// exec kills the host's processes when it is killed), and waits for it.
func (a *hostAgent) stop() {
	a.cmd.Process.Kill()
	<-a.done
}

func (a *hostAgent) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// exitStatus says whether the agent exited, and how.
func (a *hostAgent) exitStatus() string {
	if !a.exited() {
		return "still running"
	}
	return fmt.Sprintf("exited (%v)", a.err)
}

// machineJSON is a machine of `burst machine list -o json`, as far as
// tests look at it.
type machineJSON struct {
	ID      string     `json:"id"`
	Cluster string     `json:"cluster"`
	Host    string     `json:"host"`
	State   string     `json:"state"`
	SeenAt  *time.Time `json:"seen_at"`
}

func (h *harness) machineList() []machineJSON {
	h.t.Helper()
	r := h.mustRun("machine", "list", "-o", "json")
	var ms []machineJSON
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		h.t.Fatalf("machine list -o json: %v\n%s", err, r)
	}
	return ms
}

func (h *harness) machine(id string) (machineJSON, bool) {
	h.t.Helper()
	for _, m := range h.machineList() {
		if m.ID == id {
			return m, true
		}
	}
	return machineJSON{}, false
}

// waitRegistered waits until the agent's machine runs for the server.
func (h *harness) waitRegistered(a *hostAgent) machineJSON {
	h.t.Helper()
	var m machineJSON
	h.waitFor(a.machine+" (on host bh"+strconv.Itoa(a.host)+") to register", 30*time.Second, func() bool {
		if a.exited() {
			h.t.Fatalf("the agent on host bh%d exited (%v):\n%s", a.host, a.err, tail(a.log.String(), 3000))
		}
		var ok bool
		m, ok = h.machine(a.machine)
		return ok && m.State == "running"
	})
	return m
}

// showTasks is `burst show -o json --tasks N ID`: the job with up to n tasks.
func (h *harness) showTasks(id int64, n int) jobJSON {
	h.t.Helper()
	r := h.mustRun("show", "-o", "json", "--tasks", strconv.Itoa(n), idArg(id))
	var j jobJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.ID != id {
		h.t.Fatalf("show -o json --tasks %d %d: %v\n%s", n, id, err, r)
	}
	return j
}

// ---- the witness: what tasks on the hosts tell the test ----

// A witness is a TCP listener on the bridge that tasks on the hosts
// connect to (bash's /dev/tcp): each connection is one run of a task, its
// first line says which ("run JOB TASK ATTEMPT HOSTNAME INPUT"), and it
// stays open while the task lives. It shows where and how often each task
// really ran without reading logs, which stay on the hosts. A task may
// also wait for the test to send it its exit status (holdScript).
type witness struct {
	t    *testing.T
	ln   net.Listener
	port int
	mu   sync.Mutex
	runs []*witnessRun
	wg   sync.WaitGroup
}

type witnessRun struct {
	Job, Task, Attempt int
	Host, Input        string
	conn               net.Conn
	ended              chan struct{} // closed when the task's connection closes: it ended or was killed
}

func (r *witnessRun) String() string {
	return fmt.Sprintf("job %d task %d attempt %d on %s", r.Job, r.Task, r.Attempt, r.Host)
}

func (r *witnessRun) hasEnded() bool {
	select {
	case <-r.ended:
		return true
	default:
		return false
	}
}

// newWitness listens on the bridge; t.Cleanup closes it and every
// connection, and waits for its goroutines.
func newWitness(t *testing.T) *witness {
	t.Helper()
	ln, err := net.Listen("tcp", hostGateway+":0")
	if err != nil {
		t.Fatalf("listen on the bridge: %v", err)
	}
	w := &witness{t: t, ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	w.wg.Add(1)
	go w.accept()
	t.Cleanup(func() {
		ln.Close()
		w.mu.Lock()
		for _, r := range w.runs {
			r.conn.Close()
		}
		w.mu.Unlock()
		w.wg.Wait()
	})
	return w
}

func (w *witness) accept() {
	defer w.wg.Done()
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Add(1)
		go w.serve(c)
	}
}

func (w *witness) serve(c net.Conn) {
	defer w.wg.Done()
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) < 5 || f[0] != "run" {
		c.Close()
		return
	}
	r := &witnessRun{Host: f[4], conn: c, ended: make(chan struct{})}
	r.Job, _ = strconv.Atoi(f[1])
	r.Task, _ = strconv.Atoi(f[2])
	r.Attempt, _ = strconv.Atoi(f[3])
	if len(f) > 5 {
		r.Input = f[5]
	}
	w.mu.Lock()
	w.runs = append(w.runs, r)
	w.mu.Unlock()
	for {
		if _, err := br.ReadByte(); err != nil {
			break
		}
	}
	close(r.ended)
	c.Close()
}

// snapshot is every run seen so far.
func (w *witness) snapshot() []*witnessRun {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*witnessRun(nil), w.runs...)
}

// runsOf is the runs of job id (all tasks), in arrival order.
func (w *witness) runsOf(job int64) []*witnessRun {
	var out []*witnessRun
	for _, r := range w.snapshot() {
		if int64(r.Job) == job {
			out = append(out, r)
		}
	}
	return out
}

// release tells a held run to exit with code.
func (r *witnessRun) release(t *testing.T, code int) {
	t.Helper()
	if _, err := fmt.Fprintf(r.conn, "%d\n", code); err != nil {
		t.Fatalf("release %s: %v", r, err)
	}
}

// reportScript is bash that tells the witness it runs, then exits with
// the status the rest of the script computes ($1 is the task's input).
func (w *witness) reportScript(exit string) string {
	return fmt.Sprintf(`exec 3<>/dev/tcp/%s/%d || exit 99
echo "run $BURST_JOB_ID $BURST_TASK_ID $BURST_ATTEMPT $(hostname) ${1:--}" >&3 || exit 99
%s`, hostGateway, w.port, exit)
}

// holdScript is bash that tells the witness it runs and waits for the
// test to send it its exit status.
func (w *witness) holdScript() string {
	return w.reportScript(`read -r code <&3 || exit 98
exit "$code"`)
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- tests of the hosts themselves ----

// A task on a host sees nothing of the server's machine: not the server's
// BURST_HOME (its token included), not the test's temporary directory, not
// the server's files through /proc/PID/root, not this machine's /tmp; it
// has its own /tmp and host name. The same probe run by the server's own
// agent sees the home, so the probe is known to look in the right place.
func TestHostIsolation(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	h.mustRun("cluster", "create", "iso", "--provider", "joined")
	a := h.startHostAgent(1, "--machine", "bh1-iso", "--cluster", "iso", "--cpus", "1")
	h.waitRegistered(a)
	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "secret"), "x", 0o600)
	marker := filepath.Join(h.root, "root-tmp-marker") // in this machine's /tmp
	writeFile(t, marker, "x", 0o644)
	server := h.serverPID()
	// Each leak has its own exit status.
	probe := fmt.Sprintf(`test -e %[1]s/token && exit 11
test -e %[2]s/secret && exit 12
test -e /proc/%[3]d/root%[1]s/token && exit 13
test -e %[4]s && exit 14
echo mine > /tmp/own && test "$(cat /tmp/own)" = mine || exit 15
test "$(hostname)" = "$1" || exit 16
exit 0`, h.home, tmp, server, marker)
	run := func(on, host string) (int, taskJSON) {
		c := h.command("run", "--on", on, "--", "sh", "-c", probe, "sh", host)
		c.Dir = "/" // the job's working directory must exist on the host (no private one yet)
		r := h.exec(c)
		j := h.show(jobIDFrom(t, r))
		return r.code, j.task0(t)
	}
	code, task := run("iso", "bh1")
	if task.Machine != "bh1-iso" {
		t.Fatalf("the probe ran on %q, want bh1-iso", task.Machine)
	}
	switch code {
	case 0:
	case 11:
		t.Errorf("a task on host bh1 sees the server's BURST_HOME %s", h.home)
	case 12:
		t.Errorf("a task on host bh1 sees the test's temporary directory %s", tmp)
	case 13:
		t.Errorf("a task on host bh1 reaches the server's home through /proc/%d/root", server)
	case 14:
		t.Errorf("a task on host bh1 sees this machine's /tmp (%s)", marker)
	case 15:
		t.Errorf("a task on host bh1 cannot write its own /tmp")
	case 16:
		t.Errorf("a task on host bh1 does not have the host name bh1")
	default:
		t.Errorf("the probe on host bh1 exited %d (task %+v)", code, task)
	}
	// The control: on the server's machine, the probe sees the home.
	if code, task := run("local", "bh1"); code != 11 {
		t.Errorf("the probe on the server's own machine (%s) exited %d, want 11 (it sees the home): the probe looks in the wrong place", task.Machine, code)
	}
}

// scripts/hosts.sh: start is idempotent, status lists the hosts, exec
// refuses a host that does not exist and an unknown one, and a caller
// that is not root (or lacks iproute2) is told what it needs. Not
// parallel: its second start brings every host's link up, which would end
// the outage of a fault test under way (parallel tests wait for this one).
func TestHostsScript(t *testing.T) {
	needHosts(t)
	script := filepath.Join(moduleDir, "scripts", "hosts.sh")
	out, err := exec.Command(script, "start", strconv.Itoa(hostCount)).CombinedOutput()
	if err != nil {
		t.Fatalf("a second start: %v\n%s", err, out)
	}
	out, err = exec.Command(script, "status").CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for i := 1; i <= hostCount; i++ {
		if want := fmt.Sprintf("bh%d %s UP\n", i, hostAddr(i)); !strings.Contains(string(out), want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	// A host sees the bridge and the other hosts, nothing beyond: it has no
	// default route.
	out, err = exec.Command(script, "exec", "1", "ip", "route").CombinedOutput()
	if err != nil || strings.Contains(string(out), "default") || !strings.Contains(string(out), "10.251.0.0/24") {
		t.Errorf("host bh1's routes: %v\n%s", err, out)
	}
	noIP := t.TempDir() // a PATH with id but no ip
	if err := os.Symlink("/usr/bin/id", filepath.Join(noIP, "id")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"exec", "150", "true"}, nil, "no host bh150: run scripts/hosts.sh start 150 first"},
		{[]string{"exec", "x", "true"}, nil, "host number must be 1 to 200, got 'x'"},
		{[]string{"start", "1"}, []string{"PATH=" + noIP}, "needs root and iproute2: apt-get install -y iproute2 (and run as root)"},
	} {
		cmd := exec.Command(script, c.args...)
		if c.env != nil {
			cmd = exec.Command("/bin/bash", append([]string{script}, c.args...)...)
			cmd.Env = c.env
		}
		out, err := cmd.CombinedOutput()
		if err == nil || strings.TrimSpace(string(out)) != "hosts.sh: "+c.want {
			t.Errorf("hosts.sh %s: %v, %q; want an error %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
	if _, err := exec.LookPath("setpriv"); err == nil {
		out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", script, "start", "1").CombinedOutput()
		if want := "hosts.sh: needs root and iproute2: apt-get install -y iproute2 (and run as root)"; err == nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("start as nobody: %v, %q; want %q", err, out, want)
		}
	}
}
