// Command pipe benchmarks `burst pipe` against the same pipelines without
// burst, in one run:
//
//   - same machine: `head -c SIZE /dev/zero | cat | cat > /dev/null` run by
//     sh, then the same text as a burst pipe (three stages on this host,
//     joined by OS pipes). Goal: burst ≥ 0.95× the shell's throughput;
//
//   - across machines: raw loopback TCP between two Go processes (this
//     program as a sender and a receiver, 128 KiB writes and reads), then
//     `dd if=/dev/zero bs=128K count=N | --on work cat > /dev/null` (128
//     KiB writes, and cat reads 128 KiB) where work is a cluster of the
//     local provider: the second stage runs under another agent and reads
//     from a TCP stream between the two agents. Goal: burst ≥ 0.8× raw TCP.
//     For information, the same with `head -c SIZE /dev/zero` as the
//     producer, which writes 8 KiB at a time.
//
//   - across hosts (-hosts, on by default as root; see hosts.go): raw TCP
//     between two network namespaces vs. a burst pipe whose two stages run
//     on agents in them, over a TLS stream the agents relay. Goal ≥ 0.8×.
//
// Each method runs -rounds times, interleaved; the best round of each is
// compared (the machine is shared and noisy). burst's time runs from the
// submission to the end of `burst pipe` (its CLI start, scheduling and the
// stages' start included); the work cluster's machine is started before.
//
// Usage (from the repository root):
//
//	go run ./bench/pipe [-burst bin/burst] [-size 8G] [-rounds 3] [-hosts]
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
)

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one)")
	sizeFlag := flag.String("size", "8G", "bytes through each pipeline")
	rounds := flag.Int("rounds", 3, "rounds per method (the best counts)")
	send := flag.String("send", "", "internal: send -size bytes to this address")
	recv := flag.Bool("recv", false, "internal: receive on a free port, print it, count bytes")
	listen := flag.String("listen", "127.0.0.1:0", "internal: where -recv listens")
	hosts := flag.Bool("hosts", os.Geteuid() == 0, "also compare across hosts: two network namespaces (needs root)")
	flag.Parse()
	size, err := burst.ParseMem(*sizeFlag)
	check(err)
	switch {
	case *send != "":
		sender(*send, size)
		return
	case *recv:
		receiver(*listen)
		return
	}

	tmp, err := os.MkdirTemp("", "burst-bench-pipe-")
	check(err)
	defer os.RemoveAll(tmp)
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)
	self, err := os.Executable()
	check(err)
	home := filepath.Join(tmp, "home")
	env := burstbin.Env(home)
	burstCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(*bin, args...)
		c.Env = env
		return c
	}
	defer burstCmd("server", "stop").Run()
	mustRun(burstCmd("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "30m"))
	mustRun(burstCmd("run", "--on", "work", "--", "true")) // its machine is up before the clock runs

	n := fmt.Sprintf("%d", size)
	local := "head -c " + n + " /dev/zero | cat | cat > /dev/null"
	remote := fmt.Sprintf("dd if=/dev/zero bs=128K count=%d status=none | --on work cat > /dev/null", size/(128<<10))
	remoteHead := "head -c " + n + " /dev/zero | --on work cat > /dev/null"
	methods := []struct {
		name string
		run  func() time.Duration
	}{
		{"sh -c '" + strings.ReplaceAll(local, n, *sizeFlag) + "'", func() time.Duration {
			return timed(exec.Command("sh", "-c", local))
		}},
		{"burst pipe (same, 3 stages on this host)", func() time.Duration {
			return timed(burstCmd("pipe", local))
		}},
		{"raw loopback TCP, 2 Go processes, 128 KiB writes", func() time.Duration {
			return rawTCP(self, *sizeFlag)
		}},
		{"burst pipe, dd bs=128K | cat on another agent (TCP)", func() time.Duration {
			return timed(burstCmd("pipe", remote))
		}},
		{"(burst pipe, head -c | cat on another agent: 8 KiB writes)", func() time.Duration {
			return timed(burstCmd("pipe", remoteHead))
		}},
	}
	best := make([]time.Duration, len(methods))
	for r := 0; r < *rounds; r++ {
		for i, m := range methods {
			if d := m.run(); best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	gib := float64(size) / (1 << 30)
	fmt.Printf("%s through each pipeline, best of %d rounds (interleaved)\n\n", *sizeFlag, *rounds)
	for i, m := range methods {
		fmt.Printf("  %-60s %7.2fs  %6.2f GiB/s\n", m.name, best[i].Seconds(), gib/best[i].Seconds())
	}
	fmt.Printf("\nsame machine:   burst pipe is %.3fx the shell pipeline's throughput (goal >= 0.95x)\n",
		best[0].Seconds()/best[1].Seconds())
	fmt.Printf("across agents:  burst pipe is %.3fx raw loopback TCP's throughput (goal >= 0.8x)\n",
		best[2].Seconds()/best[3].Seconds())
	if *hosts {
		acrossHosts(*bin, self, tmp, *sizeFlag, size, *rounds)
	}
}

func timed(c *exec.Cmd) time.Duration {
	var stderr strings.Builder
	c.Stderr = &stderr
	start := time.Now()
	if err := c.Run(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, stderr.String()))
	}
	return time.Since(start)
}

// rawTCP times a receiver process and a sender process of this program
// moving size bytes over loopback, from the sender's start to the
// receiver's end.
func rawTCP(self, size string) time.Duration {
	return rawTCPVia(self, size, nil, func(c *exec.Cmd) *exec.Cmd { return c }, func(c *exec.Cmd) *exec.Cmd { return c })
}

// rawTCPVia is rawTCP with the receiver's extra flags and each process
// started through wrap (on a test host: inHost).
func rawTCPVia(self, size string, recvFlags []string, wrapRecv, wrapSend func(*exec.Cmd) *exec.Cmd) time.Duration {
	r := wrapRecv(exec.Command(self, append(append([]string{"-recv"}, recvFlags...), "-size", size)...))
	out, err := r.StdoutPipe()
	check(err)
	r.Stderr = os.Stderr
	check(r.Start())
	var addr string
	_, err = fmt.Fscanln(out, &addr)
	check(err)
	start := time.Now()
	s := wrapSend(exec.Command(self, "-send", addr, "-size", size))
	s.Stderr = os.Stderr
	check(s.Run())
	io.Copy(io.Discard, out)
	check(r.Wait())
	return time.Since(start)
}

func sender(addr string, size int64) {
	c, err := net.Dial("tcp", addr)
	check(err)
	buf := make([]byte, 128<<10)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		_, err := c.Write(buf[:n])
		check(err)
		left -= n
	}
	check(c.Close())
}

func receiver(listen string) {
	ln, err := net.Listen("tcp", listen)
	check(err)
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()
	c, err := ln.Accept()
	check(err)
	buf := make([]byte, 128<<10)
	_, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{c}, buf) // plain reads of 128 KiB, no splice
	check(err)
}

func mustRun(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, out))
	}
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/pipe:", err)
	os.Exit(1)
}
