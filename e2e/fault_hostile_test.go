package e2e

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFaultHostileHeaderFlood: 300 connections on the unix socket at once,
// each sending request headers of 900 KB with the token. Each is answered
// 431 once past the 64 KiB limit (internal/server MaxHeaderBytes), the
// server's memory stays bounded (before: net/http's default of 1 MiB per
// connection, held until ReadHeaderTimeout; 200 such took the server from
// 70 to 384 MiB), `burst jobs` answers throughout, and a job runs after.
// A connection that sends part of its headers and stops is closed by the
// server (ReadHeaderTimeout), which the test waits to see.
func TestFaultHostileHeaderFlood(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true") // starts the server
	info := h.serverInfo()
	tok := h.serverToken()
	hwm0 := vmHWM(t, info.PID)

	const conns = 300
	head := "GET /v1/jobs HTTP/1.1\r\nHost: burst\r\nAuthorization: Bearer " + tok + "\r\n" +
		"X-Flood: " + strings.Repeat("a", 900<<10) + "\r\n\r\n"
	statuses := make(chan string, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", info.Socket)
			if err != nil {
				statuses <- "dial: " + err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			go c.Write([]byte(head)) // fails once the server has answered and closed: expected
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				statuses <- "read: " + err.Error()
				return
			}
			statuses <- strings.TrimSpace(line)
		}()
	}
	// The CLI keeps being answered while the flood is in flight.
	if r := h.run("jobs"); r.code != 0 {
		t.Errorf("burst jobs during the flood: exit %d: %s", r.code, r.stderr)
	}
	wg.Wait()
	close(statuses)
	bad := map[string]int{}
	for s := range statuses {
		if !strings.HasPrefix(s, "HTTP/1.1 431") {
			bad[s]++
		}
	}
	if len(bad) > 0 {
		t.Errorf("answers other than 431 to 900 KB of headers: %v", bad)
	}
	grew := vmHWM(t, info.PID) - hwm0
	t.Logf("server peak RSS grew %d MiB over %d connections of 900 KB headers", grew>>20, conns)
	if grew > 100<<20 {
		t.Errorf("server peak RSS grew %d MiB under the header flood; want < 100 MiB (64 KiB a connection)", grew>>20)
	}

	// Slowloris: a partial header line, then nothing. The server closes
	// it (ReadHeaderTimeout, 10 s on the unix socket); wait for the close.
	c, err := net.Dial("unix", info.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /v1/jobs HTTP/1.1\r\nHost: burst\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("a connection with half its headers was still open after %v", time.Since(start).Round(time.Second))
			}
			break // closed by the server (EOF), perhaps after a 408/400
		}
	}

	r := h.mustRun("run", "--", "echo", "after")
	if !strings.Contains(r.stdout, "after") {
		t.Errorf("a job after the flood printed %q", r.stdout)
	}
	recordFault(t, faultRow{Fault: "flood: 300 unix connections of 900 KB headers"})
}

// TestFaultHostileCLIMessages: bad input the hostile run found answered
// by Go's own words now gets, from the real binary, one line that names
// the fix and a non-zero exit, and submits nothing.
func TestFaultHostileCLIMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true") // starts the server; one job
	prog := filepath.Join(h.dir, "prog")
	if err := os.WriteFile(prog, []byte("\x7fELF\x02\x01\x01\x00binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there: a dial is refused
	for _, c := range []struct {
		fault string
		env   [2]string
		args  []string
		want  string
	}{
		{"input: --time 25:x", [2]string{}, []string{"run", "-d", "--time", "25:x", "--", "true"}, `time limit "25:x": write e.g. 10m, 2h`},
		{"input: --cpus not a number", [2]string{}, []string{"run", "-d", "--cpus", "x", "--", "true"}, `--cpus "x": give a whole number, e.g. --cpus 4`},
		{"input: a program as a batch script", [2]string{}, []string{"run", "-d", prog}, "is a program or binary data, not a batch script"},
		{"input: BURST_TOKEN with a newline", [2]string{"BURST_TOKEN", "abc\ndef"}, []string{"jobs"}, "BURST_TOKEN: the token holds a space or control character (byte 4 of 7, 0x0a)"},
		{"input: BURST_SERVER refusing connections", [2]string{"BURST_SERVER", "http://" + closed}, []string{"jobs"}, "cannot reach the server at http://" + closed + " (connection refused)"},
	} {
		saved := append([]string(nil), h.env...)
		if c.env[0] != "" {
			h.setEnv(c.env[0], c.env[1])
		}
		r := h.run(c.args...)
		h.env = saved
		msg := strings.TrimSpace(r.stderr)
		if r.code == 0 || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") ||
			strings.Contains(msg, "strconv") || strings.Contains(msg, "goroutine") {
			t.Errorf("%s: exit %d, stderr %q; want non-zero and one line saying %q", c.fault, r.code, msg, c.want)
		}
		recordFault(t, faultRow{Fault: c.fault + " (CLI)"})
	}
	if n, _ := jobCount(t, h); n != 1 {
		t.Errorf("%d jobs after the bad input; want the 1 from the start", n)
	}
}
