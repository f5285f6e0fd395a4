package e2e

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A home removed under a server run in the foreground (`burst server`, as
// a service manager runs it): the server stops and exits 1 saying why,
// and its agent, whose token file went with the home, ends its task and
// exits too. Before, the server exited 0 as if stopped on purpose, and
// the agent ran its task on for no one (then idled 2 minutes).
func TestFaultHomeRemovedStopsAgent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := h.startCmd(h.command("server"))
	// Its socket first (made last, once it serves): a command before it
	// would start a server of its own, and the foreground one exit 10.
	h.waitFor("the server's socket", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(h.home, "burst.sock"))
		return !srv.exited() && err == nil
	})
	h.waitFor("the server to answer", 30*time.Second, func() bool { return !srv.exited() && h.run("jobs").code == 0 })
	marker := newMarker()
	h.submit("--", "sleep", marker)
	h.waitFor("the job's sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	agent := h.agentPID()
	// The server and agent may write into the home as it goes (a file
	// made during the removal leaves its folder not empty): again until gone.
	h.waitFor("the home to be removed", 10*time.Second, func() bool {
		err := os.RemoveAll(h.home)
		return err == nil
	})
	r := srv.result(t)
	if r.code != 1 || !strings.Contains(r.stderr, "burst: the server stopped: its store "+h.home+"/state.db was removed under it") {
		t.Errorf("burst server whose home was removed: want exit 1 saying why:\n%s", r)
	}
	h.waitFor("the agent of the removed home to exit", 20*time.Second, func() bool { return !alive(agent) })
	h.waitFor("its task to end", 10*time.Second, func() bool { return len(markerPIDs(marker)) == 0 })
}

// `burst logs -f JOB | head -1` ends once head has its line, as `tail -f
// LOG | head -1` does: silently, exit 141, its job left running. Before,
// it waited for the task's next write (here never) to learn that nobody
// read it any more.
func TestFaultLogsFollowReaderGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	id := h.submit("--", "sh", "-c", "echo first; exec sleep "+marker)
	h.waitFor("the job's sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.command("logs", "-f", idArg(id))
	cmd.Stdout = pw
	b := h.startCmd(cmd)
	pw.Close()
	line := make([]byte, len("first\n"))
	if _, err := io.ReadFull(pr, line); err != nil || string(line) != "first\n" {
		t.Fatalf("read the first line: %q, %v", line, err)
	}
	pr.Close() // head exits
	h.waitFor("logs -f to end once its reader is gone", 10*time.Second, b.exited)
	if r := b.result(t); r.code != 141 || r.stderr != "" {
		t.Errorf("logs -f whose reader went away: want exit 141, nothing said:\n%s", r)
	}
	if j := h.show(id); j.State != "running" || len(sleepers(marker)) != 1 {
		t.Errorf("job %d is %s after its follower went away, want it running on", id, j.State)
	}
}

// A BURST_HOME too long for its server's socket (sockaddr_un holds 107
// bytes of path) is refused before anything is made there, naming the
// limit and the fix; the symbolic link it suggests works. Before, the
// server made its store there and failed with "bind: invalid argument".
func TestFaultHomeTooLongForSocket(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	long := filepath.Join(h.root, strings.Repeat("d", 60), strings.Repeat("e", 60))
	h.setEnv("BURST_HOME", long)
	r := h.run("run", "--", "echo", "hi")
	if r.code == 0 || !strings.Contains(r.stderr, "a UNIX socket's path may have at most 107; use a home of at most") ||
		!strings.Contains(r.stderr, "ln -s "+long+" ") {
		t.Errorf("a home too long for its socket: want a refusal naming the limit and a link:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(long, "state.db")); err == nil {
		t.Errorf("a store was made in the home refused")
	}
	link := filepath.Join(h.root, "b")
	if err := os.Symlink(long, link); err != nil {
		t.Fatal(err)
	}
	h.setEnv("BURST_HOME", link)
	if r := h.mustRun("run", "--", "echo", "hi"); r.stdout != "hi\n" {
		t.Errorf("through the link: %s", r)
	}
	h.mustRun("server", "stop", "--all")
}
