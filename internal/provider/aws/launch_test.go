package aws

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/ec2standin"
	"github.com/burst-sh/burst/internal/provider"
)

// A throttled launch (the EC2 stand-in, a test double, answers
// RequestLimitExceeded) fails after launchAttempts calls, within seconds,
// not the minute the SDK's default retries would take, with one line the
// server shows; describes go on; once the throttling is over, a launch
// goes through.
// againstStandin is a provider talking to an EC2 stand-in (a test double)
// in this process, with no machines behind it (no root needed), a Connect
// and a machine it can launch, and the stand-in's control client.
func againstStandin(t *testing.T) (*Provider, provider.Connect, provider.Spec, *ec2standin.Control) {
	t.Helper()
	sd, err := ec2standin.New(ec2standin.Config{}, &ec2standin.NoMachines{}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	api, ctl := httptest.NewServer(sd.API()), httptest.NewServer(sd.ControlAPI())
	t.Cleanup(func() { api.Close(); ctl.Close(); sd.Close() })
	for _, kv := range ec2standin.Env(api.URL, sd.Config().AccessKeyID, sd.Config().SecretAccessKey, "us-east-1") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte(selfSigned(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conn := provider.Connect{JoinURL: "https://10.251.0.1:9/v1/join/t#sha256:00", CAFile: ca, Exe: exe}
	p := &Provider{Server: func() string { return "standin-test" }, Joins: func() bool { return true }}
	sp := provider.Spec{ID: "m-1", Cluster: "c", Project: "p", Max: 100, Type: "m5.large", Res: burst.Resources{CPUs: 2},
		Options: map[string]string{OptImage: "ami-0a000000000000001"}}
	return p, conn, sp, &ec2standin.Control{URL: ctl.URL}
}

func TestThrottledLaunch(t *testing.T) {
	p, conn, sp, control := againstStandin(t)
	ctx := context.Background()
	if err := p.Check(ctx, sp); err != nil {
		t.Fatalf("Check: %v", err)
	}
	// Check's DryRun is a RunInstances call too: the counts below are from here.
	before, err := control.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := before["RunInstances"]
	if err := control.Fail(ctx, ec2standin.FailRule{Action: "RunInstances", Code: "RequestLimitExceeded", Count: launchAttempts}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err = p.Start(ctx, sp, conn)
	took := time.Since(start)
	t.Logf("a throttled launch failed after %s", took)
	if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a throttled launch: %v; want one line naming RequestLimitExceeded", err)
	}
	if !provider.IsThrottled(err) {
		t.Errorf("a throttled launch's error is not marked throttled (provider.Throttled): the autoscaler would back off as from a failure")
	}
	if took > launchAttempts*launchBackoff+5*time.Second {
		t.Errorf("a throttled launch took %s: it holds up the autoscaler", took)
	}
	calls, err := control.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if calls["RunInstances"]-base != launchAttempts {
		t.Errorf("RunInstances was called %d times for one throttled launch, want %d", calls["RunInstances"]-base, launchAttempts)
	}

	// A throttled launch holds nothing else back: Alive asks EC2 as before.
	described := calls["DescribeInstances"]
	p.Alive(ctx, provider.Handle{External: "i-0000000000000000"})
	if calls, _ := control.Calls(ctx); calls["DescribeInstances"] <= described {
		t.Errorf("Alive after a throttled launch asked EC2 nothing")
	}

	// The throttling over, the next launch goes through.
	sp.ID = "m-2"
	h, err := p.Start(ctx, sp, conn)
	if err != nil || h.External == "" {
		t.Fatalf("a launch after the throttling: %v", err)
	}
	if calls, _ := control.Calls(ctx); calls["RunInstances"]-base != launchAttempts+1 {
		t.Errorf("RunInstances called %d times in all, want %d", calls["RunInstances"]-base, launchAttempts+1)
	}
	p.Stop(ctx, h)
}
