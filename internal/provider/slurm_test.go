package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// What one squeue tells about the pilots: jobs submitted too recently for it
// stay pending, a squeue that began before one already applied changes
// nothing, and until one has answered no pilot is taken for gone.
func TestSlurmSqueueApply(t *testing.T) {
	s := &Slurm{}
	h := func(id string) Handle { return Handle{External: "slurm job " + id} }
	s.mu.Lock()
	s.tried, s.busy = true, true // no squeue of its own: the test hands them in
	s.states = map[string]string{"7": "PENDING"}
	s.fresh = map[string]time.Time{"7": t0.Add(2 * time.Second)}
	s.mu.Unlock()
	if !s.Alive(context.Background(), h("99")) {
		t.Fatal("before any squeue answered, a pilot must not be taken for gone")
	}

	// Begun before job 7 was submitted: it cannot list it.
	s.apply(map[string]string{"5": "RUNNING"}, nil, t0, t0.Add(time.Minute))
	if !s.alive("7") || !s.alive("5") || s.alive("99") {
		t.Fatalf("after a squeue begun before the submission: %v", s.states)
	}
	// Begun after it, not listing it, within 10 s of it: still pending.
	s.apply(map[string]string{"5": "RUNNING"}, nil, t0.Add(3*time.Second), t0.Add(4*time.Second))
	if !s.alive("7") {
		t.Fatalf("a pilot submitted 2 s ago must stay pending: %v", s.states)
	}
	// A slow squeue begun earlier answering last changes nothing.
	s.apply(map[string]string{}, nil, t0.Add(time.Second), t0.Add(30*time.Second))
	if !s.alive("5") || !s.alive("7") {
		t.Fatalf("a squeue begun before the one applied must not be applied: %v", s.states)
	}
	// Begun after the submission and listing it: squeue tells from now on.
	s.apply(map[string]string{"5": "RUNNING", "7": "RUNNING"}, nil, t0.Add(5*time.Second), t0.Add(6*time.Second))
	if _, ok := s.fresh["7"]; ok || !s.alive("7") {
		t.Fatalf("a pilot squeue listed is no longer fresh: %v %v", s.states, s.fresh)
	}
	s.apply(map[string]string{"5": "RUNNING"}, nil, t0.Add(7*time.Second), t0.Add(8*time.Second))
	if s.alive("7") {
		t.Fatalf("a pilot squeue no longer lists is gone: %v", s.states)
	}
	// A fresh pilot never listed, 10 s after its submission, is gone.
	s.mu.Lock()
	s.fresh["8"] = t0.Add(9 * time.Second)
	s.mu.Unlock()
	s.apply(map[string]string{}, nil, t0.Add(10*time.Second), t0.Add(25*time.Second))
	if s.alive("8") || s.Alive(context.Background(), h("8")) {
		t.Fatalf("a pilot no squeue has listed 16 s after its submission is gone: %v", s.states)
	}
}

// A pilot's allocation: one task with the machine's CPUs and memory, its
// GPUs per node, and the time limit rounded up to whole minutes (sbatch(1)
// --time takes minutes): a 90 s pilot asks for 2 minutes, since Slurm must
// not end the allocation before the agent, which stops at 90 s less
// PilotMargin. A '%' in the log path is burst's, not a Slurm pattern.
func TestPilotBatch(t *testing.T) {
	sp := Spec{ID: "hpc-1", Cluster: "hpc", Partition: "debug", TimeLimit: 90 * time.Second,
		Res: burst.Resources{CPUs: 2, MemBytes: 1<<30 + 1, GPUs: 1}}
	got, err := pilotBatch(sp, "/h/pilots/hpc-1.sbatch", "/h/100%/hpc-1.log").Args()
	want := []string{"--parsable", "--job-name=burst-hpc-1", "--output=/h/100%%/hpc-1.log", "--ntasks=1", "--cpus-per-task=2",
		"--mem=1025M", "--time=2", "--gres=gpu:1", "--partition=debug", "/h/pilots/hpc-1.sbatch"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("pilot sbatch:\n got %q %v\nwant %q", got, err, want)
	}
	script := PilotScript(sp, Connect{Exe: "/bin/burst", Server: "http://h:1", TokenFile: "/h/token", Home: "/h/my home"}, "/h/l")
	if !strings.HasPrefix(script, "#!/bin/sh\n") || !strings.Contains(script, "export BURST_HOME='/h/my home'\n") ||
		!strings.HasSuffix(script, "exec /bin/burst agent --server http://h:1 --token-file /h/token --machine hpc-1 --cluster hpc "+
			"--cpus 2 --mem 1048576K --gpus 1 --time-limit 1m30s\n") {
		t.Errorf("pilot script:\n%s", script)
	}
}

// Stop waits for the pilot to leave the queue only as long as its caller's
// context lets it: here scancel answers but the job stays listed (a
// slurmctld slow to end it), and Stop gives up when the context ends, not
// 30 s later. Slurm's commands are stand-ins on PATH.
func TestSlurmStopHonoursContext(t *testing.T) {
	bin := t.TempDir()
	for name, body := range map[string]string{
		"scancel": "exit 0",
		"squeue":  "echo '5|RUNNING|None|2026-12-03T16:37:19|burst-hpc-1|(null)'",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	s := &Slurm{Dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	begun := time.Now()
	err := s.Stop(ctx, Handle{External: "slurm job 5"})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop of a job that stays in the queue: %v, want the context's deadline", err)
	}
	if took := time.Since(begun); took > 10*time.Second {
		t.Errorf("Stop took %s after its context ended", took)
	}
	if err := s.Stop(ctx, Handle{External: "slurm job x"}); err == nil || !strings.Contains(err.Error(), "not a Slurm job") {
		t.Errorf("Stop of a handle that is not a job id: %v", err)
	}
}

// A pilot of a server that serves TLS joins with its own join URL: Start
// keeps the URL in a 0600 file of its own, never in the script (which
// names neither the URL nor the home's token file) or on the agent's
// command line, gives the agent its own state file, and removes one an
// earlier start of the same machine left. sbatch is a stand-in on PATH.
func TestPilotJoins(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sbatch"), []byte("#!/bin/sh\necho 42\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	dir := filepath.Join(t.TempDir(), "pilots")
	s := &Slurm{Dir: dir}
	join, state := PilotJoinFiles(dir, "hpc-3")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte(`{"servers":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const url = "https://10.0.0.1:7780/burst_j_0123#sha256:abcd"
	sp := Spec{ID: "hpc-3", Cluster: "hpc", Res: burst.Resources{CPUs: 1}}
	h, err := s.Start(context.Background(), sp, Connect{Exe: "/bin/burst", Server: "https://10.0.0.1:7780#sha256:abcd", JoinURL: url, Home: "/h"})
	if err != nil || h.External != "slurm job 42" {
		t.Fatalf("Start: %v %v", h, err)
	}
	b, err := os.ReadFile(join)
	if err != nil || string(b) != url+"\n" {
		t.Fatalf("join file: %q %v", b, err)
	}
	if st, _ := os.Stat(join); st.Mode().Perm() != 0o600 {
		t.Errorf("join file mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an earlier start's state file is left: %v", err)
	}
	script, err := os.ReadFile(filepath.Join(dir, "hpc-3.sbatch"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(script), "burst_j_") || strings.Contains(string(script), "--token-file") || strings.Contains(string(script), "--server") {
		t.Errorf("the script names the join token, a token file or a server:\n%s", script)
	}
	// No --cluster: the join token names it, and the agent refuses both.
	if want := "exec /bin/burst agent --join-file " + join + " --join-state " + state + " --machine hpc-3 --cpus 1\n"; !strings.HasSuffix(string(script), want) {
		t.Errorf("pilot script:\n%s\nwant it to end %q", script, want)
	}
}
