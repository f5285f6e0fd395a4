package aws

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/ec2standin"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/provider/providertest"
)

// moduleRoot is burst's module root, from this package's directory.
const moduleRoot = "../../.."

// standinImage is the stand-in's amd64 image (its default configuration).
const standinImage = "ami-0a000000000000001"

// The kit's stand-in agent: a process a provider starts (not used here:
// the instance's user-data is the agent's way in).
func TestMain(m *testing.M) { providertest.Main(m) }

// skip skips the test loudly, and fails it under BURST_CI.
func skip(t *testing.T, why string) {
	t.Helper()
	msg := "SKIPPED: no EC2 stand-in with instances for this test: " + why
	if os.Getenv("BURST_CI") != "" {
		t.Fatal(msg + " (BURST_CI is set: CI must not skip)")
	}
	fmt.Fprintln(os.Stderr, "!!!", msg)
	t.Skip(msg)
}

// startStandin builds and starts cmd/ec2-standin (a test double of EC2)
// whose instances are namespace hosts (root), and points the AWS SDK of
// this process at it, the standard way: AWS_ENDPOINT_URL_EC2 and the
// usual credential variables. It returns its control client.
func startStandin(t *testing.T) *ec2standin.Control {
	t.Helper()
	if os.Getuid() != 0 {
		skip(t, "its instances are network namespaces of scripts/hosts.sh, which need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip(t, "scripts/hosts.sh needs iproute2: apt-get install -y iproute2")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ec2-standin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ec2-standin")
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ec2-standin: %v\n%s", err, out)
	}
	script, err := filepath.Abs(filepath.Join(moduleRoot, "scripts", "hosts.sh"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sd, err := ec2standin.StartProcess(ctx, bin, dir, script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sd.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- ec2-standin's output:\n%s", sd.Output())
		}
	})
	for _, kv := range sd.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return sd.Control
}

// The aws provider keeps the contract of docs/providers.md, against the
// EC2 stand-in: its instances are namespace hosts that run the user-data
// Start gives them. No server runs: the user-data's fetch of burst finds
// none, and the instance lives on all the same, as an EC2 instance would;
// Alive answers from EC2's (the stand-in's) DescribeInstances alone.
func TestAWSContract(t *testing.T) {
	ctl := startStandin(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte(selfSigned(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := providertest.Connect(t, dir)
	// Where the instance would join: an address on the hosts' bridge
	// where nothing listens.
	conn.JoinURL, conn.CAFile = "https://10.251.0.1:9/v1/join/kit-token#sha256:00", ca
	p := &Provider{Server: func() string { return "kit-server" }, Joins: func() bool { return true }, Every: 200 * time.Millisecond}
	opts := map[string]string{OptImage: standinImage}
	providertest.Run(t, providertest.Setup{
		Provider: p,
		Spec:     provider.Spec{Cluster: "kit", Project: "kit", Max: 1, Type: "m5.large", Res: burst.Resources{CPUs: 2}, Options: opts},
		Bad:      provider.Spec{Cluster: "kit", Project: "kit", Max: 1, Type: "m5.lage", Options: opts},
		Fix:      "choose another --type",
		Connect:  conn,
		Up:       60 * time.Second,
	})
	// The machine the kit started was a real instance of the stand-in,
	// tagged with this server, which ran the user-data: gone now.
	ins, err := ctl.Instances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, in := range ins {
		if in.Tags[TagServer] != "kit-server" || in.Host == 0 {
			t.Errorf("instance %s: tags %v, host %d: want the server's tag and a namespace host", in.ID, in.Tags, in.Host)
		}
		if in.State != "terminated" && in.State != "shutting-down" {
			t.Errorf("instance %s is %s after the kit stopped it", in.ID, in.State)
		}
		if b, _ := os.ReadFile(in.Log); len(b) > 0 {
			ran++
		}
	}
	if len(ins) != 1 || ran != 1 {
		t.Errorf("the stand-in launched %d instances (%d with a log): want the kit's one (a cancelled Start launches none)", len(ins), ran)
	}
}
