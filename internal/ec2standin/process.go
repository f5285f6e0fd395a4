package ec2standin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is a running ec2-standin (cmd/ec2-standin), as the tests and
// benchmarks outside this package start it: its endpoint, key pair and
// control client once it listens.
type Process struct {
	Endpoint        string   // EC2 and Service Quotas (AWS_ENDPOINT_URL_EC2)
	AccessKeyID     string   // the key pair it accepts
	SecretAccessKey string   //
	Regions         []string // the first is the default one
	Control         *Control

	cmd    *exec.Cmd
	exited chan struct{}
	out    string // its output's file
}

// StartProcess runs the ec2-standin binary bin with its files (ready file,
// instance logs, output) under dir, scripts/hosts.sh at script, and args
// (e.g. --hosts none), and waits until it listens or ctx ends.
func StartProcess(ctx context.Context, bin, dir, script string, args ...string) (*Process, error) {
	ready := filepath.Join(dir, "standin.json")
	p := &Process{out: filepath.Join(dir, "standin.out"), exited: make(chan struct{})}
	out, err := os.Create(p.out)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	p.cmd = exec.Command(bin, append([]string{"--ready-file", ready, "--logs", filepath.Join(dir, "standin-logs"),
		"--hosts-script", script}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	var r struct {
		Endpoint, Control string
		AccessKeyID       string `json:"access_key_id"`
		SecretAccessKey   string `json:"secret_access_key"`
		Regions           []string
	}
	for {
		if b, err := os.ReadFile(ready); err == nil && json.Unmarshal(b, &r) == nil && len(r.Regions) > 0 {
			break
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("ec2-standin exited before it listened:\n%s", p.Output())
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("ec2-standin did not listen: %w\n%s", ctx.Err(), p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.Endpoint, p.AccessKeyID, p.SecretAccessKey, p.Regions = r.Endpoint, r.AccessKeyID, r.SecretAccessKey, r.Regions
	p.Control = &Control{URL: r.Control}
	return p, nil
}

// Env is the environment that points the AWS SDK at the stand-in, the
// standard way (endpoint, key pair, its first region), and at nothing
// else (no config files, no instance metadata).
func (p *Process) Env() []string {
	return Env(p.Endpoint, p.AccessKeyID, p.SecretAccessKey, p.Regions[0])
}

// Env is the environment that points the AWS SDK at a stand-in's
// endpoint with its key pair and region, the standard way, and at nothing
// else (no config files, no instance metadata).
func Env(endpoint, keyID, secret, region string) []string {
	return []string{"AWS_ENDPOINT_URL_EC2=" + endpoint, "AWS_ENDPOINT_URL_SERVICE_QUOTAS=" + endpoint,
		"AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_REGION=" + region,
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true"}
}

// Stop sends SIGTERM (the stand-in terminates its instances, then exits)
// and waits for it; after 30 s it kills it and says so.
func (p *Process) Stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("ec2-standin did not exit within 30 s of SIGTERM: killed")
	}
}

// Output is what it has printed so far.
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}
