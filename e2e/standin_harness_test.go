package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/burst-sh/burst/internal/ec2standin"
)

// The EC2 stand-in (a test double of the AWS API, cmd/ec2-standin) as a
// real process: tests talk to it with the real AWS SDK, and its instances
// are namespace hosts of their own (101 and up, never the hosts 1-4 other
// tests share) that run their user-data.

// standin is a running ec2-standin.
type standin struct {
	Endpoint string // EC2 and Service Quotas, for AWS_ENDPOINT_URL_EC2
	KeyID    string
	Secret   string
	Region   string
	Logs     string
	Control  *ec2standin.Control
	t        *testing.T
	cmd      *exec.Cmd
	output   *syncBuffer
}

var standinBuild struct {
	sync.Once
	bin string
	err error
}

// standinBin builds cmd/ec2-standin once per test binary.
func standinBin(t *testing.T) string {
	t.Helper()
	standinBuild.Do(func() {
		standinBuild.bin = filepath.Join(filepath.Dir(burstBin), "ec2-standin")
		c := exec.Command("go", "build", "-o", standinBuild.bin, "./cmd/ec2-standin")
		c.Dir = moduleDir
		c.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := c.CombinedOutput(); err != nil {
			standinBuild.err = err
			t.Logf("go build ./cmd/ec2-standin: %v\n%s", err, out)
		}
	})
	if standinBuild.err != nil {
		t.Fatalf("go build ./cmd/ec2-standin: %v", standinBuild.err)
	}
	return standinBuild.bin
}

// startStandin starts the stand-in. With hosts, its instances run on
// namespace hosts (root; skipped loudly without, failed under BURST_CI);
// without, they run nowhere (the API alone). args go to ec2-standin.
func startStandin(t *testing.T, hosts bool, args ...string) *standin {
	t.Helper()
	if hosts {
		needHosts(t) // the bridge, and the hosts' lock held shared by this binary
	} else {
		args = append(args, "--hosts", "none")
	}
	bin := standinBin(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	c := exec.Command(bin, append([]string{"--ready-file", ready, "--logs", filepath.Join(dir, "logs"),
		"--hosts-script", filepath.Join(moduleDir, "scripts", "hosts.sh")}, args...)...)
	c.Dir = moduleDir
	s := &standin{t: t, cmd: c, output: &syncBuffer{}}
	c.Stdout, c.Stderr = s.output, s.output
	c.WaitDelay = 5 * time.Second
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { c.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM: the stand-in terminates its instances before it exits.
		c.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			c.Process.Kill()
			<-exited
			t.Errorf("ec2-standin did not exit within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("--- ec2-standin's output:\n%s", tail(s.output.String(), 4000))
			// Each instance's log: its user-data's output, then what its
			// programs logged (the agent's log), written at its shutdown.
			logs, _ := filepath.Glob(filepath.Join(s.Logs, "*"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("--- instance log %s:\n%s", filepath.Base(l), tail(string(b), 12000))
			}
		}
	})
	var r struct {
		Endpoint, Control string
		AccessKeyID       string `json:"access_key_id"`
		SecretAccessKey   string `json:"secret_access_key"`
		Regions           []string
		Logs              string
	}
	waitFor(t, "ec2-standin to listen", 30*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("ec2-standin exited:\n%s", s.output.String())
		default:
		}
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &r) == nil
	})
	s.Endpoint, s.KeyID, s.Secret, s.Region, s.Logs = r.Endpoint, r.AccessKeyID, r.SecretAccessKey, r.Regions[0], r.Logs
	s.Control = &ec2standin.Control{URL: r.Control}
	return s
}

// ec2 is an EC2 client of the real SDK, configured the standard way but for
// its endpoint (the config's BaseEndpoint, as AWS_ENDPOINT_URL_EC2 sets it)
// and its static key pair: secret "" signs with the stand-in's secret.
func (s *standin) ec2(secret string) *ec2.Client {
	s.t.Helper()
	if secret == "" {
		secret = s.Secret
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRegion(s.Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.KeyID, secret, "")),
		awsconfig.WithBaseEndpoint(s.Endpoint))
	if err != nil {
		s.t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg)
}

// instance is the stand-in's record of instance id.
func (s *standin) instance(id string) ec2standin.InstanceInfo {
	s.t.Helper()
	in, err := s.Control.Instance(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return in
}

// log is what instance id's user-data wrote so far (and the stand-in's
// lines about it).
func (s *standin) log(id string) string {
	b, _ := os.ReadFile(s.instance(id).Log)
	return string(b)
}

// waitLog waits until instance id's log holds want.
func (s *standin) waitLog(id, want string, timeout time.Duration) string {
	s.t.Helper()
	var got string
	waitFor(s.t, "instance "+id+"'s log to hold "+want, timeout, func() bool {
		got = s.log(id)
		return strings.Contains(got, want)
	})
	return got
}

// run launches one instance of the first image on typ with userData and
// tags, on spot when asked, and returns its id.
func (s *standin) run(typ, userData string, spot bool, tags map[string]string) string {
	s.t.Helper()
	in := runInput(typ, userData, spot, tags)
	out, err := s.ec2("").RunInstances(context.Background(), in)
	if err != nil {
		s.t.Fatalf("RunInstances: %v", err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}
