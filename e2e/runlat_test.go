package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// A client WithoutSpec (what `burst run` follows its job with) is answered
// the job without its spec by the real server, on submit, job and wait,
// and still learns how it ended; WithRetry keeps it so; a plain client
// still gets the spec on each.
func TestJobAnswersWithoutSpec(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true") // starts the server
	plain, err := client.New("unix://"+filepath.Join(h.home, "burst.sock"), h.serverToken())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := func() *burst.JobSpec {
		return &burst.JobSpec{Argv: []string{"sh", "-c", "exit 3"}, Workdir: h.dir}
	}
	for _, c := range []struct {
		name   string
		cl     *client.Client
		noSpec bool
	}{
		{"plain", plain, false},
		{"without spec", plain.WithoutSpec(), true},
		{"without spec, with retry", plain.WithoutSpec().WithRetry(client.Retry{}), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			check := func(what string, j *burst.Job) {
				t.Helper()
				if got := j.Spec == nil; got != c.noSpec {
					t.Errorf("%s: answered without its spec: %v, want %v", what, got, c.noSpec)
				}
				if j.Spec != nil && (len(j.Spec.Argv) != 3 || j.Spec.Argv[2] != "exit 3") {
					t.Errorf("%s: spec argv %q, want the one submitted", what, j.Spec.Argv)
				}
			}
			j, err := c.cl.Submit(ctx, spec())
			if err != nil {
				t.Fatal(err)
			}
			if j.ID == 0 || j.State != burst.Queued {
				t.Errorf("submit: answered id %d, state %s; want an id, queued", j.ID, j.State)
			}
			check("submit", j)
			done, err := c.cl.Wait(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if done.ID != j.ID || done.State != burst.Failed || done.ExitCode == nil || *done.ExitCode != 3 {
				t.Errorf("wait: job %d %s exit %v, want job %d failed with exit 3", done.ID, done.State, done.ExitCode, j.ID)
			}
			check("wait", done)
			again, err := c.cl.Job(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			check("job", again)
			ended, err := c.cl.WaitFor(ctx, j.ID, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			check("wait for", ended)
		})
	}
}
