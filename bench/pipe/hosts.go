package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
)

// Across hosts (-hosts, as root): two network namespaces on a private
// bridge of this bench's own (bsb-br0, 10.251.2.1/24; hosts 10.251.2.11
// and .12, made as /work/shared/notes/recipes/netns-hosts.sh makes them),
// so that a stream between them leaves "the host" and is encrypted.
// Compared: raw TCP between the two namespaces (this program as sender in
// one and receiver in the other, 128 KiB writes and reads), and a burst
// pipe `dd bs=128K | cat > /dev/null` whose stages run on agents in the two
// namespaces, over a TLS stream relayed by the agents. Goal: ≥ 0.8×.

const (
	hostsBridge = "bsb-br0"
	hostsRoot   = "10.251.2.1"
)

func hostsAddr(i int) string { return fmt.Sprintf("10.251.2.%d", 10+i) }

func hostsUp() {
	hostsDown()
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			fail(fmt.Errorf("ip %s: %v\n%s", strings.Join(args, " "), err, out))
		}
	}
	ip("link", "add", hostsBridge, "type", "bridge")
	ip("addr", "add", hostsRoot+"/24", "dev", hostsBridge)
	ip("link", "set", hostsBridge, "up")
	for i := 1; i <= 2; i++ {
		ns := fmt.Sprintf("bsb%d", i)
		ip("netns", "add", ns)
		ip("link", "add", fmt.Sprintf("bsb-v%d", i), "type", "veth", "peer", "name", "eth0", "netns", ns)
		ip("link", "set", fmt.Sprintf("bsb-v%d", i), "master", hostsBridge, "up")
		ip("-n", ns, "addr", "add", hostsAddr(i)+"/24", "dev", "eth0")
		ip("-n", ns, "link", "set", "eth0", "up")
		ip("-n", ns, "link", "set", "lo", "up")
	}
}

func hostsDown() {
	for i := 1; i <= 2; i++ {
		exec.Command("ip", "netns", "del", fmt.Sprintf("bsb%d", i)).Run()
	}
	exec.Command("ip", "link", "del", hostsBridge).Run()
}

// inHost is c run in namespace bsbI.
func inHost(i int, c *exec.Cmd) *exec.Cmd {
	ipPath, err := exec.LookPath("ip")
	check(err)
	c.Args = append([]string{"ip", "netns", "exec", fmt.Sprintf("bsb%d", i)}, c.Args...)
	c.Path = ipPath
	return c
}

// acrossHosts runs the across-hosts comparison and prints its lines.
func acrossHosts(bin, self, tmp, sizeFlag string, size int64, rounds int) {
	hostsUp()
	defer hostsDown()
	home := filepath.Join(tmp, "hosts-home")
	env := burstbin.Env(home)
	burstCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	srv := burstCmd("server", "--listen", hostsRoot+":0")
	check(srv.Start())
	defer func() { burstCmd("server", "stop").Run(); srv.Wait() }()
	var info struct {
		Addr string `json:"addr"`
	}
	for deadline := time.Now().Add(30 * time.Second); info.Addr == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			fail(fmt.Errorf("the server on %s did not start", hostsRoot))
		}
		if b, err := os.ReadFile(filepath.Join(home, "server.json")); err == nil {
			json.Unmarshal(b, &info)
		}
	}
	for i, name := range []string{"hosta", "hostb"} {
		a := inHost(i+1, burstCmd("agent", "--server", info.Addr, "--token-file", filepath.Join(home, "token"),
			"--machine", name, "--cluster", name))
		check(a.Start())
		defer func() { a.Process.Kill(); a.Wait() }()
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, _ := burstCmd("machine", "list").Output()
		if strings.Contains(string(out), "hosta") && strings.Contains(string(out), "hostb") {
			break
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("the agents in the namespaces did not register:\n%s", out))
		}
	}
	pipe := fmt.Sprintf("--on hosta dd if=/dev/zero bs=128K count=%d status=none | --on hostb cat > /dev/null", size/(128<<10))
	var raw, tls time.Duration
	for r := 0; r < rounds; r++ {
		if d := rawTCPHosts(self, sizeFlag); raw == 0 || d < raw {
			raw = d
		}
		if d := timed(burstCmd("pipe", "--", pipe)); tls == 0 || d < tls {
			tls = d
		}
	}
	gib := float64(size) / (1 << 30)
	fmt.Printf("\nacross hosts (two network namespaces), %s, best of %d rounds\n\n", sizeFlag, rounds)
	fmt.Printf("  %-60s %7.2fs  %6.2f GiB/s\n", "raw TCP between the namespaces, 128 KiB writes", raw.Seconds(), gib/raw.Seconds())
	fmt.Printf("  %-60s %7.2fs  %6.2f GiB/s\n", "burst pipe, dd bs=128K | cat on the other host (TLS relay)", tls.Seconds(), gib/tls.Seconds())
	fmt.Printf("\nacross hosts:   burst pipe is %.3fx raw TCP's throughput between the namespaces (goal >= 0.8x)\n",
		raw.Seconds()/tls.Seconds())
}

// rawTCPHosts is rawTCP with the receiver in bsb2 and the sender in bsb1.
func rawTCPHosts(self, size string) time.Duration {
	r := inHost(2, exec.Command(self, "-recv", "-listen", hostsAddr(2)+":0", "-size", size))
	out, err := r.StdoutPipe()
	check(err)
	r.Stderr = os.Stderr
	check(r.Start())
	var addr string
	_, err = fmt.Fscanln(out, &addr)
	check(err)
	start := time.Now()
	s := inHost(1, exec.Command(self, "-send", addr, "-size", size))
	s.Stderr = os.Stderr
	check(s.Run())
	check(r.Wait())
	return time.Since(start)
}
