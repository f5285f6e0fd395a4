package server

import (
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/provider"
)

// A Slurm cluster's pilots and sbatch jobs run as the server's Unix user
// on nodes that share its files (they can read the admin's token): a
// member's job is refused there naming --trust-members-on; an admin user's
// is not, nor a member's once the admin trusts members on it.
func TestMayUseSlurmMembers(t *testing.T) {
	h := newHarness(t)
	h.c.clusters["hpc"] = &clusterRT{def: burst.Cluster{Name: "hpc", Provider: provider.SlurmName, Project: "mars"}, prov: &provider.Slurm{}}
	alice := &auth.Principal{Kind: auth.User, Name: "alice", Roles: map[string]string{"mars": "member"}}
	err := h.c.mayUse(alice, "mars", "hpc")
	if err == nil || !strings.Contains(err.Error(), "cluster hpc is Slurm") || !strings.Contains(err.Error(), "--trust-members-on hpc") {
		t.Errorf("a member's job on Slurm: %v, want a refusal naming --trust-members-on hpc", err)
	}
	if err := h.c.mayUse(&auth.Principal{Kind: auth.User, Name: "ada", IsAdmin: true}, "mars", "hpc"); err != nil {
		t.Errorf("an admin user's job on Slurm: %v", err)
	}
	h.c.trustMembers = map[string]bool{"hpc": true}
	if err := h.c.mayUse(alice, "mars", "hpc"); err != nil {
		t.Errorf("a member's job on Slurm trusted with --trust-members-on hpc: %v", err)
	}
}
