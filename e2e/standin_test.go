package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/burst-sh/burst/internal/ec2standin"
)

// Tests of the EC2 stand-in (a test double: cmd/ec2-standin) with the real
// AWS SDK for Go v2 as its client: what burst's aws provider relies on it
// to do as EC2 does.

func runInput(typ, userData string, spot bool, tags map[string]string) *ec2.RunInstancesInput {
	in := &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0a000000000000001"), InstanceType: types.InstanceType(typ),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
	}
	var ts []types.Tag
	for k, v := range tags {
		ts = append(ts, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: ts}, {ResourceType: types.ResourceTypeVolume, Tags: ts}}
	if spot {
		in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot, SpotOptions: &types.SpotMarketOptions{
			SpotInstanceType: types.SpotInstanceTypeOneTime, InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}}
	}
	return in
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// imdsSh is sh that defines md PATH: a GET of IMDS's PATH with an IMDSv2 token.
const imdsSh = `TOKEN=$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
md() { curl -sS -f -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/$1"; }
`

// waitState waits until DescribeInstances shows instance id in state.
func waitState(t *testing.T, c *ec2.Client, id string, state types.InstanceStateName, timeout time.Duration) types.Instance {
	t.Helper()
	var got types.Instance
	waitFor(t, fmt.Sprintf("instance %s to be %s", id, state), timeout, func() bool {
		out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
			return false
		}
		got = out.Reservations[0].Instances[0]
		return got.State != nil && got.State.Name == state
	})
	return got
}

// TestStandinUserDataIMDSTerminate: an instance runs its user-data as root on
// a host of its own, which writes a file and reads IMDS with curl; it shows
// running with its tags; terminating it kills everything it runs.
func TestStandinUserDataIMDSTerminate(t *testing.T) {
	t.Parallel()
	s := startStandin(t, true)
	c := s.ec2("")
	marker := strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	ud := "#!/bin/sh\necho \"began=$(date +%s.%N)\"\n" + imdsSh + `echo "whoami=$(id -u)"
echo written > /tmp/made-by-user-data && echo "file=$(cat /tmp/made-by-user-data)"
echo "id=$(md meta-data/instance-id)"
echo "type=$(md meta-data/instance-type)"
echo "zone=$(md meta-data/placement/availability-zone)"
echo "ipv4=$(md meta-data/local-ipv4)"
echo "notice=$(curl -s -o /dev/null -w '%{http_code}' -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/spot/instance-action)"
echo "tokenless=$(curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/instance-id)"
echo "userdata-lines=$(md user-data | wc -l)"
setsid sh -c 'exec sleep ` + marker + `' </dev/null >/dev/null 2>&1 &
echo started-background
`
	asked := time.Now()
	id := s.run("m5.large", ud, false, map[string]string{"burst:cluster": "gpu", "burst:server": "home-1", "Name": "burst gpu/m1"})
	log := s.waitLog(id, "started-background", 60*time.Second)
	in := s.instance(id)
	// What the stand-in adds to a launch (no boot delay is set): from the
	// call to the user-data's first line, on a host made for it.
	if _, after, ok := strings.Cut(log, "began="); ok {
		if sec, err := strconv.ParseFloat(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]), 64); err == nil {
			began := time.Unix(0, int64(sec*1e9))
			t.Logf("measured: RunInstances -> user-data running: %v", began.Sub(asked).Round(time.Millisecond))
		}
	}
	for _, want := range []string{"whoami=0", "file=written", "id=" + id, "type=m5.large", "zone=" + s.Region + "a",
		"ipv4=" + in.PrivateIP, "notice=404", "tokenless=401", "userdata-lines=" + strconv.Itoa(strings.Count(ud, "\n"))} {
		if !strings.Contains(log, want+"\n") {
			t.Errorf("the user-data's log lacks %q:\n%s", want, log)
		}
	}
	got := waitState(t, c, id, types.InstanceStateNameRunning, 30*time.Second)
	tags := map[string]string{}
	for _, tg := range got.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["burst:cluster"] != "gpu" || tags["Name"] != "burst gpu/m1" || aws.ToString(got.PrivateIpAddress) != in.PrivateIP {
		t.Errorf("DescribeInstances: tags %v, address %s (want %s)", tags, aws.ToString(got.PrivateIpAddress), in.PrivateIP)
	}
	f, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:burst:server"), Values: []string{"home-1"}}, {Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
	if err != nil || len(f.Reservations) != 1 {
		t.Errorf("DescribeInstances by tag:burst:server and state: %v %+v", err, f)
	}

	// The background process lives on after the user-data ended (its sh
	// may not have exec'd sleep yet when the user-data's last line is
	// written: wait for it)...
	waitFor(t, "the user-data's background sleep "+marker, 30*time.Second, func() bool {
		return len(pidsWithArgs("sleep", marker)) == 1
	})
	if _, err := c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	// ...and is gone once EC2 says terminated (the stand-in says so only
	// when nothing of the instance is left).
	waitState(t, c, id, types.InstanceStateNameTerminated, 30*time.Second)
	if left := pidsWithArgs("sleep", marker); len(left) != 0 {
		t.Fatalf("instance %s is terminated but its processes %v live on", id, left)
	}
}

// pidsWithArgs lists the processes whose command line is exactly args.
func pidsWithArgs(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && string(b) == want {
			out = append(out, pid)
		}
	}
	return out
}

// TestStandinSpotInterruption: a notice appears in the instance's IMDS, and
// the instance is terminated at the notice's time, as EC2 does.
func TestStandinSpotInterruption(t *testing.T) {
	t.Parallel()
	s := startStandin(t, true)
	c := s.ec2("")
	ud := "#!/bin/sh\n" + imdsSh + `echo polling
while ! n=$(md meta-data/spot/instance-action 2>/dev/null); do sleep 0.1; done
echo "notice=$n"
`
	id := s.run("c5.large", ud, true, map[string]string{"burst:cluster": "spot"})
	s.waitLog(id, "polling", 60*time.Second)
	a, err := s.Control.Interrupt(context.Background(), id, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	log := s.waitLog(id, "notice=", 15*time.Second)
	want := fmt.Sprintf(`notice={"action":"terminate","time":"%s"}`, a.Time.UTC().Format("2006-01-02T15:04:05Z"))
	if !strings.Contains(log, want) {
		t.Errorf("IMDS's spot/instance-action: want %s in:\n%s", want, log)
	}
	got := waitState(t, c, id, types.InstanceStateNameTerminated, 30*time.Second)
	if got.StateReason == nil || aws.ToString(got.StateReason.Code) != "Server.SpotInstanceTermination" {
		t.Errorf("state reason: %+v", got.StateReason)
	}
	if got.InstanceLifecycle != types.InstanceLifecycleTypeSpot {
		t.Errorf("instance lifecycle %q, want spot", got.InstanceLifecycle)
	}
	if ended := s.instance(id).Ended; ended == nil || ended.Before(a.Time) {
		t.Errorf("terminated at %v, before the notice's time %v", ended, a.Time)
	}
}

// TestStandinFaults: throttling is retried by the SDK (EC2's 503
// RequestLimitExceeded), a capacity error reaches the caller with its code
// once the SDK's retries (EC2 sends it as a 500) are spent, a wrong secret
// key is AuthFailure. The API alone: no hosts needed.
func TestStandinFaults(t *testing.T) {
	t.Parallel()
	s := startStandin(t, false)
	ctx := context.Background()
	c := s.ec2("")
	if err := s.Control.Fail(ctx, ec2standin.FailRule{Action: "DescribeRegions", Code: "RequestLimitExceeded", Count: 2}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); err != nil || len(out.Regions) == 0 {
		t.Fatalf("DescribeRegions after 2 throttled attempts: %v", err)
	}
	if calls, _ := s.Control.Calls(ctx); calls["DescribeRegions"] != 3 {
		t.Errorf("the SDK should have retried twice: %d DescribeRegions calls", calls["DescribeRegions"])
	}
	if err := s.Control.Fail(ctx, ec2standin.FailRule{Action: "RunInstances", Code: "InsufficientInstanceCapacity", Count: 3}); err != nil {
		t.Fatal(err)
	}
	_, err := c.RunInstances(ctx, runInput("g5.xlarge", "#!/bin/sh\n", true, nil))
	if apiCode(err) != "InsufficientInstanceCapacity" {
		t.Fatalf("RunInstances: want InsufficientInstanceCapacity, got %v", err)
	}
	if calls, _ := s.Control.Calls(ctx); calls["RunInstances"] != 3 {
		t.Errorf("want 3 attempts of RunInstances (the SDK's default), got %d", calls["RunInstances"])
	}
	out, err := c.RunInstances(ctx, runInput("g5.xlarge", "#!/bin/sh\n", true, nil))
	if err != nil {
		t.Fatalf("RunInstances once the failures are spent: %v", err)
	}
	waitState(t, c, aws.ToString(out.Instances[0].InstanceId), types.InstanceStateNameRunning, 10*time.Second)
	if _, err := s.ec2("wrong-secret").DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); apiCode(err) != "AuthFailure" {
		t.Fatalf("a wrong secret key: want AuthFailure, got %v", err)
	}
}

// TestStandinBootDelay: with a boot delay, an instance is pending for that
// long before it runs. The API alone: no hosts needed.
func TestStandinBootDelay(t *testing.T) {
	t.Parallel()
	s := startStandin(t, false)
	ctx := context.Background()
	if err := s.Control.SetBootDelay(ctx, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c := s.ec2("")
	out, err := c.RunInstances(ctx, runInput("c5.large", "#!/bin/sh\n", false, nil))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	if st := out.Instances[0].State; st == nil || st.Name != types.InstanceStateNamePending {
		t.Fatalf("RunInstances: want pending, got %+v", st)
	}
	waitState(t, c, id, types.InstanceStateNameRunning, 10*time.Second)
	in := s.instance(id)
	if in.Running == nil || in.Running.Sub(in.Launched) < 1500*time.Millisecond {
		t.Fatalf("running at %v, launched at %v: the boot delay was not kept", in.Running, in.Launched)
	}
}
