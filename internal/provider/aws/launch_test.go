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

// The gate closes for a cool-down that doubles while launches are
// throttled, up to coolMax, and opens on a launch that is not.
func TestGate(t *testing.T) {
	var g gate
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	if w := g.wait(now); w != 0 {
		t.Fatalf("a new gate makes launches wait %s", w)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		g.after(true, now)
		if got := g.wait(now); got != w {
			t.Fatalf("throttled launch %d: wait %s, want %s", i+1, got, w)
		}
		if got := g.wait(now.Add(w)); got != 0 {
			t.Fatalf("throttled launch %d: still %s to wait once its cool-down passed", i+1, got)
		}
	}
	g.after(false, now)
	if w := g.wait(now); w != 0 {
		t.Fatalf("after a launch that was not throttled: wait %s", w)
	}
	g.after(true, now)
	if w := g.wait(now); w != coolFirst {
		t.Fatalf("throttled again after a good launch: wait %s, want %s (the cool-down starts over)", w, coolFirst)
	}
}

// A throttled launch (the EC2 stand-in, a test double, answers
// RequestLimitExceeded) fails after launchAttempts calls, within seconds,
// not the minute the SDK's default retries would take; the next launch in
// the region fails at once without calling EC2, while describes go on;
// once the cool-down has passed, a launch goes through.
func TestThrottledLaunch(t *testing.T) {
	sd, err := ec2standin.New(ec2standin.Config{}, &ec2standin.NoMachines{}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	api, ctl := httptest.NewServer(sd.API()), httptest.NewServer(sd.ControlAPI())
	t.Cleanup(func() { api.Close(); ctl.Close(); sd.Close() })
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_EC2": api.URL, "AWS_ENDPOINT_URL_SERVICE_QUOTAS": api.URL,
		"AWS_ACCESS_KEY_ID": sd.Config().AccessKeyID, "AWS_SECRET_ACCESS_KEY": sd.Config().SecretAccessKey,
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	control := &ec2standin.Control{URL: ctl.URL}
	ctx := context.Background()

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
	p := &Provider{Server: func() string { return "throttle-test" }, Joins: func() bool { return true }}
	sp := provider.Spec{ID: "m-1", Cluster: "c", Project: "p", Max: 10, Type: "m5.large", Res: burst.Resources{CPUs: 2},
		Options: map[string]string{OptImage: "ami-0a000000000000001"}}
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
	if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a throttled launch: %v; want one line naming RequestLimitExceeded", err)
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

	// The gate is closed: the next launch fails at once, EC2 untouched.
	sp.ID = "m-2"
	start = time.Now()
	_, err = p.Start(ctx, sp, conn)
	if err == nil || !strings.Contains(err.Error(), "launches nothing there for") {
		t.Fatalf("a launch during the cool-down: %v; want it refused, naming the wait", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a launch during the cool-down took %s to be refused", d)
	}
	if calls, _ := control.Calls(ctx); calls["RunInstances"]-base != launchAttempts {
		t.Errorf("a launch during the cool-down called RunInstances (%d calls in all)", calls["RunInstances"]-base)
	}
	// Describes are not gated: Alive's DescribeInstances goes on.
	described := calls["DescribeInstances"]
	p.Alive(ctx, provider.Handle{External: "i-0000000000000000"})
	if calls, _ := control.Calls(ctx); calls["DescribeInstances"] <= described {
		t.Errorf("Alive during the launch cool-down asked EC2 nothing")
	}

	// Once the cool-down has passed (the stand-in throttles no more), a
	// launch goes through.
	var h provider.Handle
	deadline := time.Now().Add(coolFirst + 10*time.Second)
	for {
		h, err = p.Start(ctx, sp, conn)
		if err == nil || time.Now().After(deadline) {
			break
		}
		if !strings.Contains(err.Error(), "launches nothing there for") {
			t.Fatalf("a launch after the throttling: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || h.External == "" {
		t.Fatalf("no launch went through %s after the throttling: %v", coolFirst, err)
	}
	if calls, _ := control.Calls(ctx); calls["RunInstances"]-base != launchAttempts+1 {
		t.Errorf("RunInstances called %d times in all, want %d", calls["RunInstances"]-base, launchAttempts+1)
	}
	p.Stop(ctx, h)
}
