package ec2standin

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// StartProcess runs the real binary (here with --hosts none: no root) and
// returns once it listens: its control API answers, its call log records
// with times, Env points the SDK at it, and Stop ends it.
func TestStartProcess(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ec2-standin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ec2-standin")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ec2-standin: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := StartProcess(ctx, bin, dir, "/nonexistent/hosts.sh", "--hosts", "none")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			p.Stop()
		}
	})
	if !strings.HasPrefix(p.Endpoint, "http://127.0.0.1:") || p.AccessKeyID == "" || len(p.Regions) == 0 {
		t.Fatalf("StartProcess: %+v", p)
	}
	if env := p.Env(); !slices.Contains(env, "AWS_ENDPOINT_URL_EC2="+p.Endpoint) || !slices.Contains(env, "AWS_REGION="+p.Regions[0]) {
		t.Errorf("Env: %v", env)
	}
	if _, err := p.Control.Instances(ctx); err != nil {
		t.Fatalf("the control API: %v", err)
	}
	calls, err := p.Control.Log(ctx)
	if err != nil || len(calls) != 0 {
		t.Fatalf("the call log of a stand-in asked nothing: %v, %v", calls, err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
}

// The call log has every call in order, with its time, and the code a
// failure rule made it answer.
func TestCallLog(t *testing.T) {
	s, e, _ := newAPI(t, "")
	ctx := context.Background()
	s.mu.Lock()
	s.fails["DescribeRegions"] = []FailRule{{Action: "DescribeRegions", Code: "RequestLimitExceeded", Count: 1}}
	s.mu.Unlock()
	before := time.Now()
	if _, err := e.DescribeRegions(ctx, nil, func(o *ec2.Options) { o.RetryMaxAttempts = 1 }); code(err) != "RequestLimitExceeded" {
		t.Fatalf("DescribeRegions under a failure rule: %v", err)
	}
	if _, err := e.DescribeRegions(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ctl := httptest.NewServer(s.ControlAPI())
	defer ctl.Close()
	calls, err := (&Control{URL: ctl.URL}).Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].Code != "RequestLimitExceeded" || calls[1].Code != "" ||
		calls[0].Action != "DescribeRegions" || calls[0].At.Before(before) || calls[1].At.Before(calls[0].At) {
		t.Fatalf("call log: %+v", calls)
	}
}
