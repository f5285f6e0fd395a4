package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A user who is not an admin learns no path on the server's host from a
// task's answer (GET /v1/jobs/N/tasks, /results), as /v1/health hides its
// home from them; the admin still sees where the logs are. The output
// itself still reaches them: vic (a viewer) reads it with `burst logs` and
// on the dashboard, alice (a member) follows her `burst map`.
func TestHostPathsHiddenFromUsers(t *testing.T) {
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
