package runner

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/burst-sh/burst"
)

// exhaustFiles lowers this process's descriptor limit near what it uses and
// opens /dev/null until the next open fails with EMFILE; the returned
// function gives everything back, and free(n) closes n of the files it
// opened. Tests that use it must not run in parallel.
func exhaustFiles(t *testing.T) (restore func(), free func(n int)) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	low := old
	low.Cur = uint64(len(ents) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	restore = func() {
		for _, f := range held {
			f.Close()
		}
		held = nil
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	}
	free = func(n int) {
		for ; n > 0 && len(held) > 0; n-- {
			held[len(held)-1].Close()
			held = held[:len(held)-1]
		}
	}
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			return restore, free
		}
		if err != nil {
			restore()
			t.Fatal(err)
		}
		held = append(held, f)
		if len(held) > 10000 {
			restore()
			t.Fatal("never ran out of descriptors")
		}
	}
}

// TestAliveOutOfDescriptors: a process whose /proc entry cannot be read for
// want of descriptors is not dead (issue 14: EMFILE taken for a death
// killed a live agent's tasks).
func TestAliveOutOfDescriptors(t *testing.T) {
	self, err := ProcStartTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	restore, _ := exhaustFiles(t)
	_, lookErr := ProcStartTicks(os.Getpid())
	alive := Alive(os.Getpid(), self)
	restore()
	if !errors.Is(lookErr, syscall.EMFILE) {
		t.Fatalf("reading /proc with no descriptor left: %v, want EMFILE", lookErr)
	}
	if !alive {
		t.Error("Alive(self) = false when /proc could not be read (EMFILE): only ENOENT/ESRCH may mean dead")
	}
	// What does say dead still does.
	if Alive(gone.Process.Pid, self) {
		t.Errorf("Alive(%d) of a reaped process = true", gone.Process.Pid)
	}
}

func TestGoneAndMachineShort(t *testing.T) {
	for _, c := range []struct {
		err         error
		gone, short bool
	}{
		{&os.PathError{Op: "open", Path: "/proc/1/stat", Err: syscall.ENOENT}, true, false},
		{&os.PathError{Op: "read", Path: "/proc/1/stat", Err: syscall.ESRCH}, true, false},
		{&os.PathError{Op: "open", Path: "/proc/1/stat", Err: syscall.EMFILE}, false, true},
		{&os.PathError{Op: "open", Path: "/proc/1/stat", Err: syscall.EACCES}, false, false},
		{&os.PathError{Op: "fork/exec", Path: "/bin/true", Err: syscall.ENFILE}, false, true},
		{&os.PathError{Op: "fork/exec", Path: "/bin/true", Err: syscall.ENOMEM}, false, true},
		{&os.PathError{Op: "fork/exec", Path: "/bin/true", Err: syscall.EAGAIN}, false, true},
		{errors.New("parse error"), false, false},
	} {
		if got := Gone(c.err); got != c.gone {
			t.Errorf("Gone(%v) = %v, want %v", c.err, got, c.gone)
		}
		if got := MachineShort(c.err); got != c.short {
			t.Errorf("MachineShort(%v) = %v, want %v", c.err, got, c.short)
		}
	}
}

// TestStartOutOfDescriptorsIsLost starts a task when the process has no
// descriptor left for what os.StartProcess needs (its pipe, the fork): the
// task is Lost, to run again without using a retry, not Failed with exit
// 127 (issue 14: a flood failed 44 of 100 unrelated tasks so). It frees one
// more descriptor each round until Start gets past opening the task's files,
// so that what fails is the start itself.
func TestStartOutOfDescriptorsIsLost(t *testing.T) {
	dir := t.TempDir()
	for free := 0; free < 32; free++ {
		restore, release := exhaustFiles(t)
		release(free) // room for exactly this many
		task, err := Start(Spec{Argv: []string{"true"}, Stdout: dir + "/out", Stderr: dir + "/err"})
		var r Result
		if err == nil {
			r = task.Wait()
		}
		restore()
		if err != nil {
			t.Logf("free %d: %v", free, err)
			continue // no room yet for its files: Start refuses (burst's problem, reported by the agent)
		}
		if r.State == burst.Succeeded {
			t.Fatalf("with %d descriptors free the task ran before any start failed on EMFILE", free)
		}
		if r.State != burst.Lost || r.ExitCode != nil {
			t.Fatalf("a start that failed for want of descriptors: state %s, exit %v, reason %q; want lost, no exit code",
				r.State, r.ExitCode, r.Reason)
		}
		return
	}
	t.Fatal("Start never got past opening the task's files")
}

// TestStartMissingCommandStillFails: a reason of the task stays its failure.
func TestStartMissingCommandStillFails(t *testing.T) {
	task, err := Start(Spec{Argv: []string{"/nonexistent/burst-no-such-command"}})
	if err != nil {
		t.Fatal(err)
	}
	r := task.Wait()
	if r.State != burst.Failed || r.ExitCode == nil || *r.ExitCode != 127 {
		t.Fatalf("missing command: state %s, exit %v, reason %q; want failed with 127", r.State, r.ExitCode, r.Reason)
	}
}
