package e2e

import (
	"strings"
	"testing"
)

// --trust-members-on names a cluster: members' tasks there run where they
// may act as the admin. An owner could make a cluster of that name, of the
// local provider (whose tasks run on the server's host as its Unix user),
// before the admin made theirs or after deleting the one the admin meant,
// and then read the admin's token from a task. Only an admin makes a
// cluster of a trusted name; an owner still makes clusters of other names,
// and deletes the trusted one of their project.
func TestTrustedClusterNameIsTheAdmins(t *testing.T) {
	t.Parallel()
	l := newLabOn(t, "--trust-members-on", "gpu")
	h := l.h
	r := l.as("bob", "cluster", "create", "gpu", "--type", "t2.micro", "--project", "mars")
	if r.code == 0 || !strings.Contains(r.stderr, "--trust-members-on gpu") || !strings.Contains(r.stderr, "only an admin creates") {
		t.Errorf("bob (owner of mars) creating cluster gpu, trusted with members' work: want a refusal naming why\n%s", r)
	}
	if r := l.as("bob", "cluster", "create", "cpu", "--type", "t2.micro", "--project", "mars"); r.code != 0 {
		t.Errorf("bob creating cluster cpu of mars:\n%s", r)
	}
	h.mustRun("cluster", "create", "gpu", "--provider", "joined", "--project", "mars")
	if r := l.as("bob", "cluster", "delete", "gpu"); r.code != 0 {
		t.Errorf("bob deleting mars's cluster gpu:\n%s", r)
	}
	r = l.as("bob", "cluster", "create", "gpu", "--type", "t2.micro", "--project", "mars")
	if r.code == 0 || !strings.Contains(r.stderr, "only an admin creates") {
		t.Errorf("bob re-creating gpu as a cluster of the local provider once the admin's was deleted: want it refused\n%s", r)
	}
	if out := h.mustRun("cluster", "list").stdout; strings.Contains(out, "gpu ") {
		t.Errorf("cluster gpu after the refusals:\n%s", out)
	}
}
