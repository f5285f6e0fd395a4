package runner

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestCarries(t *testing.T) {
	for _, c := range []struct {
		env  string
		id   string
		want bool
	}{
		{"A=1\x00BURST_HOME_ID=h1\x00", "h1", true},
		{"BURST_HOME_ID=h1", "h1", true},
		{"A=1\x00BURST_HOME_ID=h2\x00", "h1", false},
		{"A=1\x00", "h1", false},
		{"BURST_HOME_ID=h1x\x00", "h1", false},
		{"XBURST_HOME_ID=h1\x00", "h1", false},
		{"BURST_HOME_ID=h1\x00BURST_HOME_ID=h2\x00", "h1", false}, // two values: nobody's
		{"BURST_HOME_ID=\x00", "", false},
		{"", "h1", false},
	} {
		if got := carries([]byte(c.env), c.id); got != c.want {
			t.Errorf("carries(%q, %q) = %v, want %v", c.env, c.id, got, c.want)
		}
	}
}

// A process of another home (a store copied from it recorded its pid and
// start time, which match) is never signalled; one of this home is.
func TestKillGroupLeavesAnotherHomesProcess(t *testing.T) {
	defer SetIdentity("", nil)
	start := func(id string) (*exec.Cmd, uint64) {
		t.Helper()
		cmd := exec.Command("sleep", "60")
		cmd.Env = []string{"PATH=/usr/bin:/bin", HomeIDEnv + "=" + id}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		ticks, err := ProcStartTicks(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		return cmd, ticks
	}
	other, otherTicks := start("home-a")
	mine, mineTicks := start("home-b")

	SetIdentity("home-b", nil)
	if err := KillGroup(other.Process.Pid, otherTicks); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("KillGroup of another home's process: %v, want ErrNotOurs", err)
	}
	if !Alive(other.Process.Pid, otherTicks) {
		t.Fatal("another home's process was killed")
	}
	if err := KillGroup(mine.Process.Pid, mineTicks); err != nil {
		t.Fatalf("KillGroup of this home's process: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- mine.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("this home's process outlived KillGroup")
	}
	// The other is still there after the kill of ours was seen.
	if !Alive(other.Process.Pid, otherTicks) {
		t.Fatal("another home's process died")
	}
	// No identity set: the check is off (an agent that knows no home).
	SetIdentity("", nil)
	if err := KillGroup(other.Process.Pid, otherTicks); err != nil {
		t.Fatalf("KillGroup with no identity set: %v", err)
	}
}
