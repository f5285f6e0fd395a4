package agent

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/agent/runner"
)

// withSlurmBin puts the links first on a batch task's PATH (the default
// one when it has none), names the agent's home and the BASH_ENV file that
// puts them back first after a login shell's profile (the job's own
// BASH_ENV kept for that file to read), and leaves other tasks' env alone.
func TestWithSlurmBin(t *testing.T) {
	batch := []string{"A=1", "PATH=/usr/bin:/bin", "SLURM_JOB_ID=7"}
	got := withSlurmBin(batch, "/w/slurm-bin", "", "/h")
	if want := []string{"A=1", "SLURM_JOB_ID=7", "PATH=/w/slurm-bin:/usr/bin:/bin", "BURST_HOME=/h"}; !slices.Equal(got, want) || batch[1] != "PATH=/usr/bin:/bin" {
		t.Errorf("batch task: %q, want %q (the job's own slice must stay as it was: %q)", got, want, batch)
	}
	if got := withSlurmBin([]string{"SLURM_JOB_ID=7"}, "/w/slurm-bin", "", ""); len(got) != 2 || got[1] != "PATH=/w/slurm-bin:"+runner.DefaultPath {
		t.Errorf("batch task without PATH: %q", got)
	}
	if got := withSlurmBin([]string{"PATH=/bin"}, "/w/slurm-bin", "/w/slurm-bin/.bash_env", "/h"); len(got) != 1 || got[0] != "PATH=/bin" {
		t.Errorf("a task that is no batch job: %q", got)
	}
	if got := withSlurmBin(batch, "", "", "/h"); len(got) != 3 || got[1] != "PATH=/usr/bin:/bin" {
		t.Errorf("no links made: %q", got)
	}
	const own = "/w/slurm-bin/.bash_env"
	got = withSlurmBin([]string{"SLURM_JOB_ID=7", "BASH_ENV=/usr/share/lmod/init/bash"}, "/w/slurm-bin", own, "")
	if want := []string{"SLURM_JOB_ID=7", "PATH=/w/slurm-bin:" + runner.DefaultPath, "BURST_BASH_ENV=/usr/share/lmod/init/bash", "BASH_ENV=" + own}; !slices.Equal(got, want) {
		t.Errorf("a job with its own BASH_ENV: %q, want %q", got, want)
	}
	// Submitted from a batch job (of this agent or another): the
	// BASH_ENV it inherited is burst's, and its BURST_BASH_ENV the job's.
	for _, inherited := range []string{own, "/other/slurm-bin/.bash_env"} {
		got = withSlurmBin([]string{"SLURM_JOB_ID=8", "BASH_ENV=" + inherited, "BURST_BASH_ENV=/etc/job.env"}, "/w/slurm-bin", own, "")
		if want := []string{"SLURM_JOB_ID=8", "BURST_BASH_ENV=/etc/job.env", "PATH=/w/slurm-bin:" + runner.DefaultPath, "BASH_ENV=" + own}; !slices.Equal(got, want) {
			t.Errorf("inherited BASH_ENV %s: %q, want %q", inherited, got, want)
		}
	}
}

// The BASH_ENV file puts its directory first on PATH in a login shell
// whose profile set PATH afresh (#!/bin/bash -l), once, and reads the
// job's own BASH_ENV.
func TestBashEnvAfterLoginProfile(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := filepath.Join(t.TempDir(), "slurm-bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, bashEnvName)
	if err := os.WriteFile(file, []byte(bashEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs := filepath.Join(t.TempDir(), "job.env")
	if err := os.WriteFile(jobs, []byte("JOBS_OWN=read\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/usr/bin:/bin":                    dir + ":/usr/bin:/bin",
		dir + ":/usr/bin":                  dir + ":/usr/bin",
		"/usr/bin:" + dir + ":/bin:" + dir: dir + ":/usr/bin:/bin",
	} {
		// What a profile does: PATH set afresh, before BASH_ENV is read.
		cmd := exec.Command(bash, "-c", `echo "$PATH $JOBS_OWN"`)
		cmd.Env = []string{"PATH=" + path, "BASH_ENV=" + file, "BURST_BASH_ENV=" + jobs}
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want+" read" {
			t.Errorf("PATH %s: %q (%v), want %q", path, got, err, want+" read")
		}
	}
	// The job's own BASH_ENV is expanded as bash expands it: $HOME in
	// it reads the file in the home.
	home := filepath.Dir(jobs)
	cmd := exec.Command(bash, "-c", `echo "$JOBS_OWN ${__burst_env-gone}"`)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "BASH_ENV=" + file, "BURST_BASH_ENV=$HOME/job.env"}
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "read gone\n" {
		t.Errorf("BASH_ENV $HOME/job.env: %q (%v), want %q", out, err, "read gone\n")
	}
	// A script traced from its first line (#!/bin/bash -x) shows none
	// of the file's own lines, and its options stay as they were.
	traced := filepath.Join(t.TempDir(), "traced.sh")
	if err := os.WriteFile(traced, []byte("#!"+bash+" -x\necho $- ${__burst_xv-unset} \"$JOBS_OWN\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for jobs, want := range map[string]string{"": "+ echo hxB unset ''\nhxB unset \n", "/no/such": ""} {
		cmd := exec.Command(traced)
		cmd.Env = []string{"PATH=" + dir, "BASH_ENV=" + file}
		if jobs != "" {
			cmd.Env = append(cmd.Env, "BURST_BASH_ENV="+jobs)
		}
		out, err := cmd.CombinedOutput()
		if jobs == "" && (err != nil || string(out) != want) {
			t.Errorf("#!/bin/bash -x: %q (%v), want %q", out, err, want)
		}
		if jobs != "" && !strings.Contains(string(out), "/no/such") {
			t.Errorf("a job's own BASH_ENV that cannot be read should be said, as bash says it: %q", out)
		}
	}
	login := filepath.Join(t.TempDir(), "login.sh")
	if err := os.WriteFile(login, []byte("#!"+bash+" -l\ncommand -v srun\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/true", filepath.Join(dir, "srun")); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(login)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "BASH_ENV=" + file}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.HasSuffix(string(out), dir+"/srun\n") {
		t.Errorf("a login shell's script finds srun at %q (%v), want %s", out, err, filepath.Join(dir, "srun"))
	}
}

// withTmpdir leaves TMPDIR as slurmstepd does (checked with Slurm 22.05):
// /tmp when unset; made when missing; /tmp, with slurmstepd's lines, when
// it cannot be made or is no directory.
func TestWithTmpdir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	made := filepath.Join(base, "made")
	for _, c := range []struct {
		env          []string
		want, notice string
	}{
		{[]string{"A=1"}, "/tmp", ""},
		{[]string{"TMPDIR=" + base}, base, ""},
		{[]string{"TMPDIR=" + made}, made, ""},
		{[]string{"TMPDIR=" + base + "/no/such"}, "/tmp", "slurmstepd-n1: error: Unable to create TMPDIR [" + base + "/no/such]: No such file or directory\nslurmstepd-n1: error: Setting TMPDIR to /tmp\n"},
		{[]string{"TMPDIR="}, "/tmp", "slurmstepd-n1: error: Unable to create TMPDIR []: No such file or directory\nslurmstepd-n1: error: Setting TMPDIR to /tmp\n"},
		{[]string{"TMPDIR=" + file}, "/tmp", "slurmstepd-n1: error: TMPDIR [" + file + "] is not a directory\nslurmstepd-n1: error: Setting TMPDIR to /tmp\n"},
	} {
		env, notice := withTmpdir(c.env, "n1")
		if got, _ := envValue(env, "TMPDIR"); got != c.want || notice != c.notice {
			t.Errorf("%q: TMPDIR %q and %q, want %q and %q", c.env, got, notice, c.want, c.notice)
		}
	}
	if st, err := os.Stat(made); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("a missing TMPDIR is made with mode 0700: %v %v", st, err)
	}
}

// chdirOrTmp sends a batch script whose working directory cannot be
// entered to /tmp with slurmstepd's line twice (checked with Slurm 22.05);
// a directory it can enter, or none, is kept.
func TestChdirOrTmp(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	line := func(dir, why string) string {
		return "slurmstepd-n1: error: couldn't chdir to `" + dir + "': " + why + ": going to /tmp instead\n"
	}
	for _, c := range []struct{ dir, want, notice string }{
		{base, base, ""},
		{"", "", ""},
		{base + "/no/such", "/tmp", line(base+"/no/such", "No such file or directory")},
		{file, "/tmp", line(file, "Not a directory")},
	} {
		if c.notice != "" {
			c.notice += c.notice
		}
		if dir, notice := chdirOrTmp(c.dir, "n1"); dir != c.want || notice != c.notice {
			t.Errorf("chdirOrTmp(%q) = %q, %q; want %q, %q", c.dir, dir, notice, c.want, c.notice)
		}
	}
}

// A batch script that cannot be executed ends as slurmstepd ends it
// (checked beside Slurm 22.05): execve's errno as the exit code, 2 with
// "bad interpreter(REST OF THE #! LINE)" for an interpreter the machine
// lacks, 13 with the script's path for one it may not run; an error that
// is no execve's, and any task that is no batch job's, as burst says it.
func TestStepdExecFailed(t *testing.T) {
	env := []string{"SLURM_JOB_ID=7", "SLURMD_NODENAME=n1"}
	failed := stepdExecFailed(true, env, "/s/7.sh", "#!/bin/tcsh -f\necho hi\n")
	for _, c := range []struct {
		err  error
		line string
		code int
		ok   bool
	}{
		{&fs.PathError{Op: "fork/exec", Path: "/bin/tcsh", Err: syscall.ENOENT}, "slurmstepd-n1: error: execve(): bad interpreter(/bin/tcsh -f): No such file or directory", 2, true},
		{&fs.PathError{Op: "fork/exec", Path: "/etc/passwd", Err: syscall.EACCES}, "slurmstepd-n1: error: execve(): /s/7.sh: Permission denied", 13, true},
		{errors.New("working directory /x does not exist on this machine"), "", 0, false},
	} {
		if line, code, ok := failed(c.err); line != c.line || code != c.code || ok != c.ok {
			t.Errorf("%v: %q %d %v, want %q %d %v", c.err, line, code, ok, c.line, c.code, c.ok)
		}
	}
	if long := stepdExecFailed(true, env, "/s/7.sh", "#!/"+strings.Repeat("x", 300)+"\n"); long != nil {
		if line, _, _ := long(syscall.ENOENT); line != "slurmstepd-n1: error: execve(): bad interpreter(/"+strings.Repeat("x", 252)+"): No such file or directory" {
			t.Errorf("a #! line longer than slurmstepd reads: %q", line)
		}
	}
	if stepdExecFailed(false, env, "", "") != nil || stepdExecFailed(true, []string{"A=1"}, "/s/7.sh", "#!/bin/tcsh\n") != nil {
		t.Error("a task that is no batch job's gets burst's own line and code")
	}
}

// TestStepdNotice: the lines a batch task's error file gets as slurmstepd
// writes them; a job stopped by scontrol requeue says so, as Slurm 22.05's
// does ("*** JOB 30 ON c1 CANCELLED AT 2026-12-07T09:29:24 DUE TO JOB
// REQUEUE ***" beside it), where a cancel says no reason.
func TestStepdNotice(t *testing.T) {
	notice := stepdNotice(true, []string{"SLURM_JOB_ID=30", "SLURMD_NODENAME=c1"})
	at := time.Date(2026, 12, 7, 9, 29, 24, 0, time.Local)
	for n, want := range map[runner.Notice]string{
		runner.NoticeRequeued:  "slurmstepd: error: *** JOB 30 ON c1 CANCELLED AT 2026-12-07T09:29:24 DUE TO JOB REQUEUE ***",
		runner.NoticeCancelled: "slurmstepd: error: *** JOB 30 ON c1 CANCELLED AT 2026-12-07T09:29:24 ***",
		runner.NoticeTimeLimit: "slurmstepd: error: *** JOB 30 ON c1 CANCELLED AT 2026-12-07T09:29:24 DUE TO TIME LIMIT ***",
	} {
		if got := notice(n, at); got != want {
			t.Errorf("notice %d: %q, want %q", n, got, want)
		}
	}
	if stepdNotice(false, []string{"SLURM_JOB_ID=30"}) != nil {
		t.Error("a task that is no batch job got slurmstepd's notices")
	}
}
