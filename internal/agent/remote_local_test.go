package agent

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst/client"
)

// A file only on the submitter's host fails the task with a hint that holds
// for every role: staging it names the file, and --on local (closed to
// members) is offered to admins alone.
func TestCheckLocalHint(t *testing.T) {
	a := &Agent{cfg: Config{Machine: "lab-1"}}
	jc := &client.JobContext{Dir: "/home/alice/proj", Local: []string{"fit.sh"}}
	err := a.checkLocal(jc, t.TempDir())
	if err == nil {
		t.Fatal("checkLocal passed a file the machine lacks")
	}
	msg := err.Error()
	for _, want := range []string{
		"fit.sh exists only in " + filepath.Join("/home/alice/proj", "fit.sh"),
		"machine lab-1",
		"burst run --in fit.sh",
		"an admin may instead run the job on a cluster whose machines see the submitter's files (e.g. --on local",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
