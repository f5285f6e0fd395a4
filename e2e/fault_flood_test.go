package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The flood faults (issue 14, item 1: exhaustion is not death). A server
// and agent allowed 512 descriptors take three times that many connections
// held open on the API's TCP port and on the agent's stream port, while a
// map runs: every task succeeds once, the agent is never declared dead, the
// CLI answers throughout, and neither process comes near its limit.

const floodFiles = 512 // the descriptor limit (soft and hard) the test sets

// flood holds up to holders connections to addr open at once, from the
// given source addresses in turn, dialling again each one the other side
// closes, until stop (or 50,000 dials).
type flood struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	tries  atomic.Int64 // connections tried
	dials  atomic.Int64 // connections made
	closed atomic.Int64 // of those, closed by the other side
}

func startFlood(t *testing.T, addr string, holders int, sources []string) *flood {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &flood{cancel: cancel}
	for i := range holders {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(sources[i%len(sources)])}}
		f.wg.Go(func() {
			buf := make([]byte, 64)
			for ctx.Err() == nil && f.tries.Load() < 200000 {
				f.tries.Add(1)
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					// Turned away: on loopback the reset often comes before
					// connect returns. A moment, then again.
					select {
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
					continue
				}
				f.dials.Add(1)
				stop := context.AfterFunc(ctx, func() { c.Close() })
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				if stop() {
					f.closed.Add(1) // the other side closed it, not us
				}
				c.Close()
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

func (f *flood) stop() { f.cancel(); f.wg.Wait() }

// withFileLimit is c run under prlimit with descriptor limits soft and hard.
func withFileLimit(t *testing.T, c *exec.Cmd, soft, hard int) *exec.Cmd {
	t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	c.Args = append([]string{prlimit, fmt.Sprintf("--nofile=%d:%d", soft, hard)}, c.Args...)
	c.Path = prlimit
	return c
}

// fileLimit is the soft limit on open files of process pid.
func fileLimit(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(strings.TrimPrefix(l, "Max open files")); strings.HasPrefix(l, "Max open files") && len(f) >= 2 {
			n, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("limits of %d: %q", pid, l)
			}
			return n
		}
	}
	t.Fatalf("no open-files line in /proc/%d/limits", pid)
	return 0
}

// openFiles is how many descriptors process pid has open (-1 if it is gone).
func openFiles(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// listenPorts are the TCP ports process pid listens on (from /proc/net/tcp,
// the sockets among its descriptors).
func listenPorts(t *testing.T, pid int) []int {
	t.Helper()
	inodes := map[string]bool{}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ports []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] {
			continue
		}
		if i := strings.LastIndexByte(fs[1], ':'); i > 0 {
			if p, err := strconv.ParseInt(fs[1][i+1:], 16, 32); err == nil {
				ports = append(ports, int(p))
			}
		}
	}
	return ports
}

// TestFaultFloodAPIAndStreamPorts floods, with 3 x 512 connections each, the
// API port of a server and the stream port of its agent, both limited to
// 512 descriptors, during a map of 100 tasks. Before netlimit, the server
// ran out of descriptors, took EMFILE reading /proc for its agent's death
// and failed the job; the agent failed tasks with "pipe2: too many open
// files".
func TestFaultFloodAPIAndStreamPorts(t *testing.T) {
	h := newHarness(t)
	// The first command starts the server, and with it the agent, under
	// the limit: they inherit it (the hard limit stops Go from raising it).
	r := h.exec(withFileLimit(t, h.command("jobs"), floodFiles, floodFiles))
	if r.code != 0 {
		t.Fatalf("first command: %s", r)
	}
	server := h.serverPID()
	agent := h.waitAgent(0)
	for _, p := range []int{server, agent} {
		if got := fileLimit(t, p); got != floodFiles {
			t.Fatalf("pid %d has a descriptor limit of %d, want %d: the flood would not test exhaustion", p, got, floodFiles)
		}
	}
	token := h.serverToken()
	u, err := url.Parse(h.serverInfo().Addr)
	if err != nil {
		t.Fatal(err)
	}
	var streamPort int
	h.waitFor("the agent's stream port", 10*time.Second, func() bool {
		ports := listenPorts(t, agent)
		if len(ports) == 1 {
			streamPort = ports[0]
		}
		return streamPort != 0
	})

	// Strangers from 127.0.0.1 (where the CLI's TCP connections come
	// from too) and from 40 other loopback addresses.
	sources := []string{"127.0.0.1"}
	for i := range 40 {
		sources = append(sources, fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200))
	}
	apiFlood := startFlood(t, u.Host, 3*floodFiles, sources)
	streamFlood := startFlood(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(streamPort)), 3*floodFiles, sources)
	h.waitFor("both floods to be under way", 30*time.Second, func() bool {
		return apiFlood.tries.Load() >= 3*floodFiles && streamFlood.tries.Load() >= 3*floodFiles
	})

	// Watch the two processes' descriptors while the map runs.
	var most [2]atomic.Int64
	watch, stopWatch := context.WithCancel(context.Background())
	var watcher sync.WaitGroup
	watcher.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, p := range []int{server, agent} {
				if n := int64(openFiles(p)); n > most[i].Load() {
					most[i].Store(n)
				}
			}
			select {
			case <-watch.Done():
				return
			case <-tick.C:
			}
		}
	})
	t.Cleanup(func() { stopWatch(); watcher.Wait() })

	const n = 100
	out := filepath.Join(h.dir, "done")
	args := []string{"map", "-d", "--", "sh", "-c", `sleep 0.05; echo $1 >> ` + out, "_", "{}", ":::"}
	for i := range n {
		args = append(args, strconv.Itoa(i))
	}
	id := strings.TrimSpace(h.mustRun(args...).stdout)
	// The CLI answers throughout the flood.
	cliCalls := 0
	h.waitFor("the map to end", 90*time.Second, func() bool {
		cliCalls++
		if r := h.run("jobs"); r.code != 0 {
			t.Fatalf("burst jobs failed during the flood: %s", r)
		}
		// And over the flooded TCP port itself, from 127.0.0.1 like part
		// of the flood: a new connection that shows the token.
		c := h.command("jobs")
		c.Env = append(c.Env, "BURST_SERVER="+h.serverInfo().Addr, "BURST_TOKEN="+token)
		if r := h.exec(c); r.code != 0 {
			t.Fatalf("burst jobs over TCP failed during the flood: %s", r)
		}
		return terminal(h.show(mustID(t, id)).State) // burst show, which must succeed too
	})
	stopWatch()
	watcher.Wait()
	apiTries, streamTries := apiFlood.tries.Load(), streamFlood.tries.Load()
	apiDials, streamDials := apiFlood.dials.Load(), streamFlood.dials.Load()
	apiClosed, streamClosed := apiFlood.closed.Load(), streamFlood.closed.Load()
	apiFlood.stop()
	streamFlood.stop()
	t.Logf("API flood: %d connections tried, %d made, %d closed by the server; stream flood: %d tried, %d made, %d closed by the agent; "+
		"most descriptors open: server %d, agent %d (limit %d); %d CLI rounds", apiTries, apiDials, apiClosed, streamTries, streamDials, streamClosed,
		most[0].Load(), most[1].Load(), floodFiles, cliCalls)

	// The agent lived through it, and was never taken for dead.
	if !alive(agent) || h.agentPID() != agent {
		t.Errorf("the agent %d did not survive the flood", agent)
	}
	for i, what := range []string{"server", "agent"} {
		if m := most[i].Load(); m >= floodFiles-16 {
			t.Errorf("the %s held %d descriptors of its %d: the flood was not bounded", what, m, floodFiles)
		}
	}
	if apiTries-apiDials+apiClosed == 0 || streamTries-streamDials+streamClosed == 0 {
		t.Errorf("the floods were never turned away")
	}

	rs := h.results(id)
	b, _ := os.ReadFile(out)
	count := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		count[l]++
	}
	row := faultRow{Fault: fmt.Sprintf("flood: %d conns on API port + %d on stream port, fd limit %d", 3*floodFiles, 3*floodFiles, floodFiles), Tasks: n}
	seen := map[int]bool{}
	for _, res := range rs {
		c := count[strconv.Itoa(res.Index)]
		switch {
		case seen[res.Index] || c > 1:
			row.Duplicated++
			t.Errorf("task %d has two results or ran %d times", res.Index, c)
		case res.State == "lost" || c == 0 && res.State != "failed":
			row.Lost++
			t.Errorf("task %d: %s, ran %d times", res.Index, res.State, c)
		case res.State != "succeeded":
			row.FailedWrongly++
			t.Errorf("task %d: %s (a task that only echoes cannot fail by itself)", res.Index, res.State)
		case res.Attempt != 1:
			// Not run twice, but requeued: its machine was taken for lost.
			t.Errorf("task %d succeeded at attempt %d, want 1: the flood cost it its machine", res.Index, res.Attempt)
		}
		seen[res.Index] = true
	}
	row.Lost += n - len(seen)
	recordFault(t, row)
}

// TestFileLimitRaised: the server, its agent and the CLI (one binary) raise
// their soft descriptor limit to the hard one as they start (Go's runtime
// does it, to hard-1, since Go 1.19), while a task still gets the soft limit
// its agent was started with: programs that use select(2) expect it.
func TestFileLimitRaised(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.exec(withFileLimit(t, h.command("run", "--", "sh", "-c", "ulimit -Sn"), 256, 4096))
	if r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	if got := strings.TrimSpace(r.stdout); got != "256" {
		t.Errorf("a task's soft descriptor limit: %q, want 256 (the limit the CLI was started with)", got)
	}
	for what, pid := range map[string]int{"server": h.serverPID(), "agent": h.waitAgent(0)} {
		if got := fileLimit(t, pid); got < 4095 {
			t.Errorf("the %s's soft descriptor limit is %d, want the hard one (4096, or 4095)", what, got)
		}
	}
}

// TestFaultFloodLogAndTrickle: a stream-port flood of 2,000 connections
// with a wrong handshake costs the agent's log a line or two (it was a
// line a connection: 64k connections in 5 s were 6.9 MB), the API port's
// refusals are reported in the server's log, and a token-less POST that
// trickles its body gets its 401 at once, on a connection the server then
// closes (the server first read up to 256 KiB of what was left of the
// body, with no deadline).
func TestFaultFloodLogAndTrickle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs")
	agent := h.waitAgent(0)
	u, err := url.Parse(h.serverInfo().Addr)
	if err != nil {
		t.Fatal(err)
	}

	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"na", u.Host)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("a token-less POST with most of its body unsent: no 401 and close within 5 s (%v); got %q", err, resp)
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 401") || !strings.Contains(string(resp), "Connection: close") {
		t.Fatalf("a token-less POST: %q, want a 401 with Connection: close", resp)
	}

	var streamPort int
	h.waitFor("the agent's stream port", 10*time.Second, func() bool {
		if ports := listenPorts(t, agent); len(ports) == 1 {
			streamPort = ports[0]
		}
		return streamPort != 0
	})
	const n = 2000
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(streamPort))
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		fmt.Fprintf(c, "burst-stream/1 k%d wrong\n", i)
		c.Close()
	}
	agentLog := filepath.Join(h.home, "agents", "local-1.log")
	lines := func(want string) int {
		b, _ := os.ReadFile(agentLog)
		return strings.Count(string(b), want)
	}
	h.waitFor("the agent to report the failed handshakes", 10*time.Second, func() bool {
		return lines("stream port: connections turned away") >= 1
	})
	// Every connection was handled by now or within a moment: give the
	// last ones their handshake, then count the lines about them.
	h.waitFor("the flood's connections to be gone", 10*time.Second, func() bool { return openFiles(agent) < 100 })
	got := lines("stream port: connections turned away") + lines("refused a stream connection")
	row := faultRow{Fault: fmt.Sprintf("flood: %d wrong handshakes on the stream port, log lines", n), Tasks: 0}
	if got > 2 {
		t.Errorf("%d connections with a wrong handshake left %d lines in the agent's log, want at most 2", n, got)
	}
	recordFault(t, row)
}
