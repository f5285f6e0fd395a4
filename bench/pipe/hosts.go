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
	"github.com/burst-sh/burst/bench/internal/hosts"
)

// Across hosts (-hosts, as root): two test hosts of scripts/hosts.sh (bh1
// and bh2: network namespaces on its private bridge bh-br0, 10.251.0.1/24,
// each with a private /tmp and home), so that a stream between them leaves
// "the host" and is encrypted. The agents there join as a new machine
// would: a one-time join token whose URL pins the server's CA, over TLS;
// nothing of the server's home reaches them. Compared: raw TCP between the
// two hosts (this program as sender in one and receiver in the other, 128
// KiB writes and reads), and a burst pipe `dd bs=128K | cat > /dev/null`
// whose stages run on agents on the two hosts, over a TLS stream relayed
// by the agents. Goal: ≥ 0.8×.

// inHost is c run on host bhI (scripts/hosts.sh exec), with bin copied
// there and run by its name.
func inHost(i int, bin string, c *exec.Cmd) *exec.Cmd {
	c, err := hosts.On(i, bin, c)
	check(err)
	return c
}

// acrossHosts runs the across-hosts comparison and prints its lines.
func acrossHosts(bin, self, tmp, sizeFlag string, size int64, rounds int) {
	release, err := hosts.Up(2)
	check(err)
	defer release()
	home := filepath.Join(tmp, "hosts-home")
	env := burstbin.Env(home)
	burstCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	srv := burstCmd("server", "--listen", hosts.Gateway+":0")
	check(srv.Start())
	defer func() { burstCmd("server", "stop").Run(); srv.Wait() }()
	var info struct {
		Addr string `json:"addr"`
	}
	for deadline := time.Now().Add(30 * time.Second); info.Addr == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			fail(fmt.Errorf("the server on %s did not start", hosts.Gateway))
		}
		if b, err := os.ReadFile(filepath.Join(home, "server.json")); err == nil {
			json.Unmarshal(b, &info)
		}
	}
	for i, name := range []string{"hosta", "hostb"} {
		out, err := burstCmd("join-token", "create", "--cluster", name, "--ttl", "10m", "-o", "json").Output()
		check(err)
		var jt struct {
			URL string `json:"url"`
		}
		check(json.Unmarshal(out, &jt))
		a := inHost(i+1, bin, exec.Command(bin, "agent", "--join", jt.URL, "--machine", name, "--cluster", name))
		a.Env = env
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

// rawTCPHosts is rawTCP with the receiver on bh2 and the sender on bh1.
func rawTCPHosts(self, size string) time.Duration {
	on := func(i int) func(*exec.Cmd) *exec.Cmd {
		return func(c *exec.Cmd) *exec.Cmd { return inHost(i, self, c) }
	}
	return rawTCPVia(self, size, []string{"-listen", hosts.Addr(2) + ":0"}, on(2), on(1))
}
