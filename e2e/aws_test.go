package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// The aws provider against the EC2 stand-in (a test double: cmd/ec2-standin).
// burst knows only the endpoint: it is configured as for AWS, through the
// standard AWS_* variables.

// standinImage is the stand-in's amd64 image (its default config).
const standinImage = "ami-0a000000000000001"

// awsServer is a server listening with TLS on the hosts' bridge whose AWS
// SDK talks to s with the key pair's secret (s.Secret when ""); prepare
// runs on the harness before its server starts (a prices.yaml).
func awsServer(t *testing.T, s *standin, secret string, prepare ...func(*harness)) *harness {
	t.Helper()
	if secret == "" {
		secret = s.Secret
	}
	return startHostServerWith(t, func(h *harness) {
		for k, v := range map[string]string{
			"AWS_ENDPOINT_URL_EC2":            s.Endpoint,
			"AWS_ENDPOINT_URL_SERVICE_QUOTAS": s.Endpoint,
			"AWS_ACCESS_KEY_ID":               s.KeyID,
			"AWS_SECRET_ACCESS_KEY":           secret,
			"AWS_REGION":                      s.Region,
			"AWS_CONFIG_FILE":                 "/nonexistent",
			"AWS_SHARED_CREDENTIALS_FILE":     "/nonexistent",
			"AWS_EC2_METADATA_DISABLED":       "true",
		} {
			h.setEnv(k, v)
		}
		for _, p := range prepare {
			p(h)
		}
	})
}

// A cluster of the aws provider launches an instance for a job; the
// instance's user-data fetches burst from the server, checks it and joins;
// the job runs there; idle, the instance is terminated.
func TestAWSClusterRunsOnInstance(t *testing.T) {
	t.Parallel()
	s := startStandin(t, true)
	h := awsServer(t, s, "")
	h.mustRun("cluster", "create", "c", "--provider", "aws", "--type", "m5.large", "--max", "2",
		"--image", standinImage, "--idle-stop", "15s")
	start := time.Now()
	r := h.mustRun("run", "--on", "c", "--", "cat", "/proc/sys/kernel/hostname")
	t.Logf("burst run on a new instance (launch, user-data fetching burst over TLS, join, run): %s", time.Since(start).Round(time.Millisecond))
	here, _ := os.Hostname()
	got := strings.TrimSpace(r.stdout)
	if got == "" || got == here {
		t.Fatalf("the job ran on %q (this host is %q): want an instance's host", got, here)
	}
	ins, err := s.Control.Instances(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("instances: %v %v, want one", ins, err)
	}
	in := ins[0]
	if in.Type != "m5.large" || in.Tags["burst:cluster"] != "c" || in.Tags["burst:machine"] == "" || in.Tags["burst:project"] != "default" || in.Tags["burst:server"] == "" {
		t.Errorf("instance %s: type %s tags %v", in.ID, in.Type, in.Tags)
	}
	var ms []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Handle string `json:"handle"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("machine", "list", "-o", "json").stdout), &ms); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		found = found || m.ID == in.Tags["burst:machine"]
	}
	if !found {
		t.Errorf("machine %s of the instance's tag is not listed: %+v", in.Tags["burst:machine"], ms)
	}
	// Idle past --idle-stop: the server terminates it.
	waitFor(t, "instance "+in.ID+" to be terminated after 15s idle", 90*time.Second, func() bool {
		st := s.instance(in.ID).State
		return st == "terminated" || st == "shutting-down"
	})
}

// Check refuses, each in one line naming the fix: a server without TLS, a
// type the region does not offer, a region that does not exist, an image
// that does not exist, a quota too small for --max, and keys EC2 refuses.
func TestAWSCheckRefuses(t *testing.T) {
	t.Parallel()
	s := startStandin(t, false)
	plain := newHarness(t)
	r := plain.run("cluster", "create", "c", "--provider", "aws", "--type", "m5.large", "--image", standinImage)
	if r.code == 0 || !strings.Contains(r.stderr, "burst server --listen") {
		t.Errorf("aws on a loopback-only server: %d %q, want a refusal naming burst server --listen", r.code, r.stderr)
	}
	h := awsServer(t, s, "")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--type", "m5.lage"}, []string{"m5.large"}},
		{[]string{"--type", "m5.large", "--region", "mars-north-1"}, []string{"mars-north-1", "--region"}},
		{[]string{"--type", "m5.large", "--image", "ami-0fffffffffffffff0"}, []string{"ami-0fffffffffffffff0", "--image"}},
		{[]string{"--type", "m5.large", "--max", "100000"}, []string{"L-1216C47A", "request-service-quota-increase", "lower --max"}},
		{[]string{"--type", "m5.large", "--spot", "--max", "100000"}, []string{"L-34B43A08"}},
		{[]string{"--type", "m5.large", "--opt", "zone=a"}, []string{"--opt zone", "region, subnet"}},
		{[]string{"--type", "m5.large", "--subnet", "subnet-0nope"}, []string{"subnet-0nope", "--subnet"}},
	} {
		args := append([]string{"cluster", "create", "c", "--provider", "aws", "--image", standinImage}, c.args...)
		r := h.run(args...)
		for _, w := range c.want {
			if r.code == 0 || !strings.Contains(r.stderr, w) {
				t.Errorf("%v: %d %q, want a refusal naming %q", c.args, r.code, r.stderr, w)
			}
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: more than one line: %q", c.args, r.stderr)
		}
	}
	r = h.run("cluster", "create", "l", "--type", "m5.large", "--region", "eu-west-2")
	if r.code == 0 || !strings.Contains(r.stderr, "--region is an option of the aws provider") {
		t.Errorf("local given --region: %d %q", r.code, r.stderr)
	}
	wrong := awsServer(t, s, "not-the-secret")
	r = wrong.run("cluster", "create", "c", "--provider", "aws", "--type", "m5.large", "--image", standinImage)
	if r.code == 0 || !strings.Contains(r.stderr, "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("wrong keys: %d %q, want a refusal naming the credentials", r.code, r.stderr)
	}
}
