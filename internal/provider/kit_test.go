package provider_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/provider/providertest"
	"github.com/burst-sh/burst/internal/slurmtest"
)

func TestMain(m *testing.M) { providertest.Main(m) }

var host = burst.Resources{CPUs: 4, MemBytes: 8 << 30}

// The local provider keeps the contract of docs/providers.md.
func TestLocalContract(t *testing.T) {
	dir := t.TempDir()
	providertest.Run(t, providertest.Setup{
		Provider: &provider.Local{Host: host},
		Spec:     provider.Spec{Cluster: "kit", Type: "small", Res: burst.Resources{CPUs: 1, MemBytes: 1 << 30}},
		Bad:      provider.Spec{Cluster: "kit", Type: "huge", Res: burst.Resources{CPUs: 64}},
		Fix:      "choose a type with at most 4 vCPUs",
		Connect:  providertest.Connect(t, dir),
		Up:       10 * time.Second,
	})
}

// Options of other providers are refused by the local one, naming the fix.
func TestLocalRefusesSlurmOptions(t *testing.T) {
	err := (&provider.Local{Host: host}).Check(context.Background(), provider.Spec{Res: burst.Resources{CPUs: 1}, Partition: "debug"})
	if err == nil || !containsAll(err.Error(), "--partition", "--provider slurm") {
		t.Fatalf("Check of a local machine with a partition: %v; want a refusal naming --partition and --provider slurm", err)
	}
}

// The Slurm provider keeps the contract too, against a real Slurm this
// test starts (scripts/slurm-dev.sh, its controller on port 23817: the e2e
// suite's own use 26817, 21817 and 25817, internal/slurm 22817; all below
// the ephemeral ports, 32768 and up, that a listener on port 0 may take).
// Without one (not root, or BURST_TEST_NO_SLURM set) it skips loudly, and
// under BURST_CI it fails.
func TestSlurmContract(t *testing.T) {
	if os.Getenv("BURST_TEST_NO_SLURM") != "" {
		slurmtest.Skip(t, "BURST_TEST_NO_SLURM is set")
	}
	conf, stop, why := slurmtest.Start("../..", 23817)
	t.Cleanup(stop)
	if why != "" {
		slurmtest.Skip(t, why)
	}
	t.Setenv("SLURM_CONF", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%R").CombinedOutput(); err != nil || len(out) == 0 {
		t.Fatalf("the Slurm this test started does not answer (sinfo: %v, %s)", err, strings.TrimSpace(string(out)))
	}
	dir := t.TempDir()
	providertest.Run(t, providertest.Setup{
		Provider: &provider.Slurm{Dir: dir + "/pilots"},
		Spec:     provider.Spec{Cluster: "kit", Res: burst.Resources{CPUs: 1, MemBytes: 64 << 20}, TimeLimit: 5 * time.Minute},
		Bad:      provider.Spec{Cluster: "kit", Res: burst.Resources{CPUs: 100000}},
		Fix:      "ask for a smaller machine",
		Connect:  providertest.Connect(t, dir),
		Up:       60 * time.Second,
	})
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// The joined provider keeps the contract: burst starts none of its
// machines (Start names `burst join-token create`), a machine is alive
// from its agent's registration until Stop, and the options of providers
// that start machines are refused.
func TestJoinedContract(t *testing.T) {
	j := &provider.Joined{}
	providertest.Run(t, providertest.Setup{
		Provider: j,
		Spec:     provider.Spec{Cluster: "kit", Res: burst.Resources{CPUs: 1}},
		Bad:      provider.Spec{Cluster: "kit", Res: burst.Resources{CPUs: 1}, Partition: "debug", Spot: true},
		Fix:      "--provider slurm",
		JoinFix:  "burst join-token create --cluster kit",
		Join:     func(t *testing.T, s provider.Spec) provider.Handle { return j.Registered(s.ID) },
		Connect:  providertest.Connect(t, t.TempDir()),
		Up:       time.Second,
	})
}
