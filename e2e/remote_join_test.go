package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// A machine that joined for a project runs that project's work only: a
// task there runs as the agent's user and can read the machine's
// credential ($BURST_HOME/joined.json), with which it could lease what
// else is placed on the machine. So a job of another project is refused
// for the cluster, even from the home's token (which may otherwise place
// work anywhere), naming the fix; the cluster's own project's job runs
// there.
func TestJoinedMachineRunsOnlyItsProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("project", "create", "mars", "--budget", "100")
	h.mustRun("project", "create", "venus", "--budget", "100")
	h.mustRun("cluster", "create", "lab", "--provider", "joined", "--project", "mars")
	tok := h.joinToken("--cluster", "lab")
	box := h.joiner("box")
	box.start("agent", "--join", tok.URL, "--machine", "box")
	h.waitMachine("box", burst.MachineRunning)

	r := h.run("run", "--project", "venus", "--on", "lab", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "joined for project mars and run only its work") || !strings.Contains(r.stderr, "--project mars") {
		t.Fatalf("a venus job on mars's joined cluster should be refused, naming the fix:\n%s", r)
	}
	pipe := h.run("pipe", "--project", "venus", "true | --on lab cat")
	if pipe.code == 0 || !strings.Contains(pipe.stderr, "joined for project mars") {
		t.Fatalf("a venus pipe with a stage on mars's joined cluster should be refused:\n%s", pipe)
	}
	ok := h.mustRun("run", "--project", "mars", "--on", "lab", "--", "true")
	j := h.show(jobIDFrom(t, ok))
	if j.State != "succeeded" || len(j.TaskList) != 1 || j.TaskList[0].Machine != "box" {
		t.Fatalf("mars's job on lab: %s on %+v; want succeeded on box", j.State, j.TaskList)
	}
	recordFault(t, faultRow{Fault: "another project's job on a joined machine", Tasks: len(j.TaskList)})
}

// A machine on a test host that joined with a one-time token (its own
// machine credential, not the home's token) ships its tasks' output
// exactly: `burst run` and `burst logs` give the bytes a task wrote,
// non-UTF-8 and NUL included, over 1 MiB of them; a batch script's
// #SBATCH --output file is written on the host, in the task's private
// directory there, and holds what `burst logs` shows. sbatch(1), --output:
// "Instruct Slurm to connect the batch script's standard output directly
// to the file name specified", relative to the batch script's working
// directory.
func TestRemoteJoinedOutputExact(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	h.mustRun("project", "create", "mars", "--budget", "100")
	h.mustRun("cluster", "create", "rj", "--provider", "joined", "--project", "mars")
	a := h.startHostAgent(3, "--machine", "bh3-rj", "--cluster", "rj", "--cpus", "2")
	h.waitRegistered(a)

	const head = "caf\xe9 \xff\x00end\n"
	var want bytes.Buffer
	want.WriteString(head)
	for want.Len() < len(head)+1<<20 {
		want.WriteString("ab\xff\x01\n")
	}
	want.Truncate(len(head) + 1<<20)
	script := `printf 'caf\351 \377\000end\n'; yes "$(printf 'ab\377\001')" | head -c 1048576`
	c := h.command("run", "--project", "mars", "--on", "rj", "--", "sh", "-c", script)
	c.Dir = "/"
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("run on the joined host:\n%s", r)
	}
	if r.stdout != want.String() {
		t.Errorf("burst run printed %d bytes (%s), want the task's %d", len(r.stdout), diffAt(r.stdout, want.String()), want.Len())
	}
	id := jobIDFrom(t, r)
	if got := h.mustRun("logs", idArg(id)).stdout; got != want.String() {
		t.Errorf("burst logs gave %d bytes (%s), want the task's %d", len(got), diffAt(got, want.String()), want.Len())
	}
	if j := h.show(id); len(j.TaskList) != 1 || j.TaskList[0].Machine != "bh3-rj" {
		t.Fatalf("the task ran on %+v, want bh3-rj", j.TaskList)
	}

	// A batch script: its --output file is on the host. It prints its
	// working directory, which says where to look.
	writeFile(t, filepath.Join(h.dir, "job.sbatch"), "#!/bin/sh\n#SBATCH --output=result-%j.txt\npwd\nprintf 'from-batch \\377\\n'\necho batch-err >&2\n", 0o755)
	c = h.command("run", "--project", "mars", "--on", "rj", "job.sbatch")
	r = h.exec(c)
	if r.code != 0 {
		t.Fatalf("batch job on the joined host:\n%s", r)
	}
	id = jobIDFrom(t, r)
	logs := h.mustRun("logs", idArg(id)).stdout
	wd, rest, _ := strings.Cut(logs, "\n")
	if rest != "from-batch \xff\nbatch-err\n" || !strings.HasPrefix(wd, "/") || strings.HasPrefix(wd, h.root) {
		t.Fatalf("burst logs of the batch job = %q; want its working directory on the host, then from-batch \\xff and batch-err", logs)
	}
	name := fmt.Sprintf("result-%d.txt", id)
	if _, err := os.Stat(filepath.Join(h.dir, name)); err == nil {
		t.Errorf("the --output file was written in the submitter's directory; want it on the host")
	}
	if got, err := onHost(t, a, "cat", filepath.Join(wd, name)); err != nil || got != logs {
		t.Errorf("on the host, %s holds %q (%v), want %q", filepath.Join(wd, name), got, err, logs)
	}
	recordFault(t, faultRow{Fault: "joined host: output shipped with its machine credential", Tasks: 2})
}

// onHost runs argv in the mount namespace of agent a's host (the private
// /tmp where its files are): the agent is the child of the process
// scripts/hosts.sh exec became (unshare --fork).
func onHost(t *testing.T, a *hostAgent, argv ...string) (string, error) {
	t.Helper()
	pid := a.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	kids := strings.Fields(string(b))
	if err != nil || len(kids) == 0 {
		return "", fmt.Errorf("no child of the host's process %d: %v", pid, err)
	}
	if _, err := strconv.Atoi(kids[0]); err != nil {
		return "", err
	}
	out, err := exec.Command("nsenter", append([]string{"-t", kids[0], "-m", "--"}, argv...)...).CombinedOutput()
	return string(out), err
}

// diffAt says where got first differs from want.
func diffAt(got, want string) string {
	i := firstDiff([]byte(got), []byte(want))
	return fmt.Sprintf("first difference at byte %d: %q, want %q", i, got[i:min(i+8, len(got))], want[i:min(i+8, len(want))])
}
