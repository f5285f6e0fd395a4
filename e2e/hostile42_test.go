package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// A user who is not an admin learns no path on the server's host from a
// task's answer (GET /v1/jobs/N/tasks, /results), as /v1/health hides its
// home from them; the admin still sees where the logs are. The output
// itself still reaches them: vic (a viewer) reads it with `burst logs` and
// on the dashboard, alice (a member) follows her `burst map`.
func TestHostPathsHiddenFromUsers(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	h := l.h
	job := detachedID(t, l.as("alice", "run", "--project", "mars", "-d", "--", "sh", "-c", "echo out-hello; echo err-hello >&2"))
	h.waitFor("alice's job to end", 60*time.Second, func() bool { return h.show(job).State == "succeeded" })

	for who, secret := range map[string]string{"vic": l.tokens["vic"], "alice": l.tokens["alice"], "the admin": l.admin} {
		for _, route := range []string{"tasks", "results"} {
			code, body := l.call(t, secret, "GET", "/v1/jobs/"+idArg(job)+"/"+route, "")
			var ts []struct {
				Stdout string `json:"stdout_path"`
				Stderr string `json:"stderr_path"`
			}
			if code != 200 || json.Unmarshal([]byte(body), &ts) != nil || len(ts) != 1 {
				t.Errorf("GET %s as %s: %d %s", route, who, code, body)
				continue
			}
			shown := ts[0].Stdout != "" || ts[0].Stderr != "" || strings.Contains(body, h.home)
			if shown != (who == "the admin") {
				t.Errorf("GET %s as %s names the task's log files: %v, want %v (%s)", route, who, shown, who == "the admin", body)
			}
		}
	}

	if r := l.as("vic", "logs", idArg(job)); r.code != 0 || r.stdout != "out-hello\n" {
		t.Errorf("vic's burst logs: want the task's stdout through the API\n%s", r)
	}
	if r := l.as("vic", "logs", idArg(job), "--stderr"); r.code != 0 || r.stdout != "err-hello\n" {
		t.Errorf("vic's burst logs --stderr: want the task's stderr through the API\n%s", r)
	}
	vic := l.signIn(t, "vic")
	req, _ := http.NewRequest("GET", l.addr+"/ui/jobs/"+idArg(job)+"/log", nil)
	resp, err := vic.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "out-hello") {
		t.Errorf("vic's dashboard log of job %d: %d\n%s", job, resp.StatusCode, page)
	}

	if r := l.as("alice", "map", "--project", "mars", "-k", "--", "echo", "line", ":::", "a", "b"); r.code != 0 || r.stdout != "line a\nline b\n" {
		t.Errorf("alice's burst map: want its tasks' output in order\n%s", r)
	}
}

// The command `burst join-token create` prints, run as printed in a shell,
// joins the machine without putting the token on any command line (ps
// shows command lines to every user of the machine): the URL is in the
// agent's environment, and no task of the agent inherits it.
func TestJoinCommandKeepsTokenOutOfArgv(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "lab", "--provider", "joined")
	tok := h.joinToken("--cluster", "lab")
	if tok.Token == "" || !strings.Contains(tok.Command, tok.URL) {
		t.Fatalf("join token: %+v", tok)
	}
	bin := filepath.Join(h.root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(burstBin, filepath.Join(bin, "burst")); err != nil {
		t.Fatal(err)
	}
	box := h.joiner("box")
	sh := exec.Command("sh") // the command comes on stdin, as typed: not in sh's argv either
	sh.Env = append(append([]string(nil), box.env...), "PATH="+bin+":"+os.Getenv("PATH"))
	sh.Dir = h.dir
	sh.Stdin = strings.NewReader(tok.Command + " --machine box\n")
	box.startCmd(sh)
	h.waitMachine("box", burst.MachineRunning)
	for _, pid := range taggedPIDs(h.tag) {
		argv, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(argv), tok.Token) {
			t.Errorf("process %d has the join token on its command line: %q (printed command %q)", pid, argv, tok.Command)
		}
	}
	id := detachedID(t, h.mustRun("run", "-d", "--on", "lab", "--", "sh", "-c", "echo ${"+client.JoinURLEnv+":-unset}"))
	h.mustRun("wait", idArg(id))
	if out := h.mustRun("logs", idArg(id)).stdout; out != "unset\n" {
		t.Errorf("a task on the joined machine sees %s=%q, want it unset", client.JoinURLEnv, out)
	}
}
