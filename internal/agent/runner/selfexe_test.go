package runner

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRunsSelfAfterUpgrade: once burst's executable is replaced at its
// path while the agent runs (an upgrade in place), srun is the new file
// at that path; it is still burst's own, so a job's steps still get the
// signals meant for them (scancel -s USR1 reached nothing after such an
// upgrade: the agent took srun for a step's program). Another program is
// not burst's.
func TestRunsSelfAfterUpgrade(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "burst")
	copyFile(t, sleep, path)
	old, err := os.Stat(path) // the agent's file, before the upgrade
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, sleep, path+".new")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	savedExe, savedPath := selfExe, selfPath
	t.Cleanup(func() { selfExe, selfPath = savedExe, savedPath })
	selfExe = func() (os.FileInfo, error) { return old, nil }
	selfPath = func() string { return path }
	for _, c := range []struct {
		exe  string
		want bool
	}{{path, true}, {sleep, false}} {
		cmd := exec.Command(c.exe, "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := runsSelf(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		if got != c.want {
			t.Errorf("runsSelf(%s, the agent's file replaced at %s) = %v, want %v", c.exe, path, got, c.want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
