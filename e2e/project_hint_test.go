package e2e

import (
	"strings"
	"testing"
)

// A lab's user who holds roles in projects but not in default runs a job
// without --project: the refusal names the projects they may submit to.
// A viewer (who may submit nowhere) keeps the message about default.
func TestRunNoProjectHint(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	l.h.mustRun("project", "create", "venus", "--budget", "10")
	l.h.mustRun("project", "grant", "venus", "alice", "--role", "owner")
	for _, cmd := range [][]string{{"run", "-d", "--", "true"}, {"map", "-d", "--", "echo", "{}", ":::", "1"}} {
		r := l.as("alice", cmd...)
		if r.code == 0 || !strings.Contains(r.stderr, "pass --project P (yours: mars, venus)") {
			t.Fatalf("alice, burst %s without --project:\n%s", cmd[0], r)
		}
	}
	if r := l.as("alice", "run", "-d", "--project", "venus", "--", "true"); r.code != 0 {
		t.Fatalf("alice with --project venus:\n%s", r)
	}
	if r := l.as("vic", "run", "-d", "--", "true"); r.code == 0 || strings.Contains(r.stderr, "yours:") || !strings.Contains(r.stderr, "no project default") {
		t.Fatalf("vic (a viewer) without --project:\n%s", r)
	}
}
