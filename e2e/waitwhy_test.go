package e2e

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

// burst wait says why a job it waits for has not started, as an attached
// burst run does: one line on stderr, after ten seconds where stderr is no
// terminal (a script's log). It said nothing, however long the job waited
// (a cluster switched off for the weekend).
func TestWaitSaysWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.submit("--", "sleep", "300")
	b := h.submit("--after", "ok:"+idArg(a), "--", "true")
	c := h.command("wait", idArg(b))
	errp, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(errp); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	want := "burst: job " + idArg(b) + " waits: "
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("burst wait ended without saying why the job waits")
			}
			if strings.HasPrefix(l, want) && strings.Contains(l, idArg(a)) {
				h.mustRun("cancel", idArg(a), idArg(b))
				return
			}
			t.Logf("stderr: %s", l)
		case <-deadline:
			t.Fatalf("burst wait said no %q line in 60 s", want)
		}
	}
}
