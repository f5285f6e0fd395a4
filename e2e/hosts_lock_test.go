package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// flockHolders lists the pids that hold a flock on path, from /proc/locks.
func flockHolders(t *testing.T, path string) map[int]string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	held := map[int]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" {
			continue // a POSIX lock, or a waiter ("->")
		}
		dev := strings.Split(f[5], ":")
		if dev[len(dev)-1] != strconv.FormatUint(st.Ino, 10) {
			continue
		}
		pid, _ := strconv.Atoi(f[4])
		held[pid] = f[3]
	}
	return held
}

// scripts/hosts.sh and its lock: exec holds the lock shared for as long as
// its command runs; stop refuses, naming who holds it, while anyone does;
// stop N removes bh1..bhN and keeps the rest. Not parallel (it removes and
// remakes hosts): parallel tests wait for it.
func TestHostsScriptLock(t *testing.T) {
	needHosts(t)
	script := filepath.Join(moduleDir, "scripts", "hosts.sh")
	status := func() string {
		out, _ := exec.Command(script, "status").CombinedOutput()
		return string(out)
	}

	// A command running on a host holds the lock (shared) while it runs.
	ex := exec.Command(script, "exec", "1", "sh", "-c", "echo up; exec sleep 600")
	pipe, err := ex.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ex.Process.Kill(); ex.Wait() }()
	if line, err := bufio.NewReader(pipe).ReadString('\n'); err != nil || line != "up\n" {
		t.Fatalf("exec's command did not start: %q, %v", line, err)
	}
	// The lock lives in exec's open file (fd 8), taken by a flock(1) that
	// has exited: /proc/locks names that flock, so exec's part is seen as
	// the file open in exec and a shared lock besides this binary's own.
	if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/8", ex.Process.Pid)); link != hostsLock {
		t.Errorf("hosts.sh exec (pid %d) does not hold %s open on fd 8 (it has %q)", ex.Process.Pid, hostsLock, link)
	}
	shared := 0
	for pid, mode := range flockHolders(t, hostsLock) {
		if pid != os.Getpid() && mode == "READ" {
			shared++
		}
	}
	if shared == 0 {
		t.Errorf("no shared lock on %s besides this binary's while exec runs: %v", hostsLock, flockHolders(t, hostsLock))
	}

	// stop refuses while the lock is held, and says by whom.
	out, err := exec.Command(script, "stop", "2").CombinedOutput()
	want := fmt.Sprintf("pid %d (", ex.Process.Pid)
	if err == nil || !strings.HasPrefix(string(out), "hosts.sh: refusing to stop: the hosts are in use by ") || !strings.Contains(string(out), want) {
		t.Errorf("stop 2 while hosts are used: %v, %q; want a refusal naming %s...)", err, out, want)
	}
	for i := 1; i <= hostCount; i++ {
		if w := fmt.Sprintf("bh%d %s UP\n", i, hostAddr(i)); !strings.Contains(status(), w) {
			t.Errorf("after a refused stop, status lacks %q:\n%s", w, status())
		}
	}
	ex.Process.Kill()
	ex.Wait()

	// stop N with the lock held exclusively by its caller (handed over as a
	// descriptor, as TestMain does): bh1..bhN go, the others stay.
	hosts.Lock()
	defer hosts.Unlock()
	fd := int(hosts.lock.Fd())
	deadline := time.Now().Add(2 * time.Minute)
	for syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("another user holds %s for 2 minutes: %v", hostsLock, flockHolders(t, hostsLock))
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer func() {
		if out, err := exec.Command(script, "start", strconv.Itoa(hostCount)).CombinedOutput(); err != nil {
			t.Errorf("remaking the hosts: %v\n%s", err, out)
		}
		if err := syscall.Flock(fd, syscall.LOCK_SH); err != nil {
			t.Errorf("lock %s shared again: %v", hostsLock, err)
		}
	}()
	stop := exec.Command(script, "stop", "2")
	stop.ExtraFiles = []*os.File{hosts.lock}
	stop.Env = append(os.Environ(), "HOSTS_LOCK_FD=3")
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stop 2 with the lock: %v\n%s", err, out)
	}
	st := status()
	for i := 1; i <= hostCount; i++ {
		has := strings.Contains(st, fmt.Sprintf("bh%d ", i))
		if i <= 2 && has {
			t.Errorf("stop 2 kept bh%d:\n%s", i, st)
		}
		if i > 2 && !has {
			t.Errorf("stop 2 removed bh%d too:\n%s", i, st)
		}
	}
}
