package burstbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestStatusOfThisProcess(t *testing.T) {
	rss, hwm := Status(os.Getpid(), "VmRSS"), Status(os.Getpid(), "VmHWM")
	if rss <= 0 || hwm <= 0 {
		t.Fatalf("VmRSS %d, VmHWM %d of this process: want both > 0", rss, hwm)
	}
	if Status(os.Getpid(), "NoSuchField") != 0 {
		t.Error("a missing field should read 0")
	}
}

func TestPIDs(t *testing.T) {
	home := t.TempDir()
	if ServerPID(home) != 0 || len(AgentPIDs(home)) != 0 {
		t.Fatal("an empty home has no pids")
	}
	os.MkdirAll(filepath.Join(home, "agents"), 0o700)
	os.WriteFile(filepath.Join(home, "server.json"), []byte(`{"pid":4242,"addr":"http://127.0.0.1:1"}`), 0o600)
	os.WriteFile(filepath.Join(home, "agents", "local-1.pid"), []byte("4243\n"), 0o600)
	os.WriteFile(filepath.Join(home, "agents", "work-1.pid"), []byte("4244"), 0o600)
	if got := ServerPID(home); got != 4242 {
		t.Errorf("server pid %d, want 4242", got)
	}
	if got := AgentPIDs(home); len(got) != 2 || got[0] != 4243 || got[1] != 4244 {
		t.Errorf("agent pids %v, want [4243 4244]", got)
	}
}

// TestCPUOfThisProcess: the CPU time read from /proc/PID/stat grows as
// this process spins, and a process that is not there reads 0.
func TestCPUOfThisProcess(t *testing.T) {
	before := CPU(os.Getpid())
	for start := time.Now(); CPU(os.Getpid()) < before+50*time.Millisecond; {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("CPU time stayed at %s while this process spun for 30s", CPU(os.Getpid()))
		}
	}
	if CPU(1<<30) != 0 {
		t.Error("a process that is not there should read 0")
	}
}

// TestChildrenCPU: a child that spins, once waited for, shows in its
// parent's children's CPU time, and not in the parent's own.
func TestChildrenCPU(t *testing.T) {
	self := os.Getpid()
	before, own := ChildrenCPU(self), CPU(self)
	out, err := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done").CombinedOutput()
	if err != nil {
		t.Fatalf("spinning child: %v %s", err, out)
	}
	if got := ChildrenCPU(self) - before; got < 20*time.Millisecond {
		t.Errorf("a child that spun shows %s in its parent's children's CPU time", got)
	}
	if got := CPU(self) - own; got > 200*time.Millisecond {
		t.Errorf("the parent's own CPU time grew by %s while it only waited", got)
	}
	if ChildrenCPU(1<<30) != 0 {
		t.Error("a process that is not there should read 0")
	}
}
