// Command ec2-standin is a stand-in (a test double) for the AWS EC2 API,
// for testing burst's aws provider on a machine that reaches no cloud. It
// is not part of burst and ships in no user path. See docs/ec2-standin.md
// and package internal/ec2standin.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/ec2standin"
)

const usage = `ec2-standin: a stand-in (test double) for the AWS EC2 API, for tests only.

It answers the EC2 calls burst's aws provider makes (and Service Quotas'
GetServiceQuota) at --listen, checks SigV4 signatures with its key pair, and
runs each instance as a namespace host of scripts/hosts.sh (needs root) that
runs the instance's user-data and serves IMDSv2 at 169.254.169.254. A control
API at --control interrupts spot instances, fails calls and lists instances.

Usage:
  ec2-standin [flags]

Example:
  sudo ec2-standin --hosts 101-110 --ready-file /tmp/standin.json &
  export AWS_ENDPOINT_URL_EC2=$(jq -r .endpoint /tmp/standin.json)
  export AWS_ENDPOINT_URL_SERVICE_QUOTAS=$AWS_ENDPOINT_URL_EC2
  export AWS_ACCESS_KEY_ID=$(jq -r .access_key_id /tmp/standin.json)
  export AWS_SECRET_ACCESS_KEY=$(jq -r .secret_access_key /tmp/standin.json)
  aws ec2 describe-regions     # or any SDK client
  curl -d '{"instance":"i-...","notice":"30s"}' $(jq -r .control /tmp/standin.json)/standin/interrupt

Flags:
`

// Ready is what --ready-file receives once the stand-in listens.
type Ready struct {
	Endpoint        string   `json:"endpoint"` // EC2 and Service Quotas
	Control         string   `json:"control"`
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key"`
	Regions         []string `json:"regions"`
	Logs            string   `json:"logs"`
	PID             int      `json:"pid"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "boot" {
		// An instance's first process, run by the stand-in on a host.
		if err := ec2standin.Boot(os.Stdin, os.Stdout, ec2standin.IMDSAddr); err != nil {
			fmt.Fprintln(os.Stderr, "ec2-standin (test double) boot:", err)
			os.Exit(1)
		}
		return
	}
	fs := flag.NewFlagSet("ec2-standin", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	listen := fs.String("listen", "127.0.0.1:0", "address of the EC2 and Service Quotas API")
	control := fs.String("control", "127.0.0.1:0", "address of the control API (/standin/...)")
	config := fs.String("config", "", "JSON config (keys, regions, types, images, subnets, quotas, spot prices, boot_delay); see docs/ec2-standin.md")
	hosts := fs.String("hosts", "101-200", `namespace hosts the instances may take, "FIRST-LAST", or "none" to run nothing (API state only)`)
	script := fs.String("hosts-script", "scripts/hosts.sh", "scripts/hosts.sh of burst's repository")
	logs := fs.String("logs", "", "directory of the instances' user-data logs (default: a new one under $TMPDIR)")
	ready := fs.String("ready-file", "", "write the endpoints and keys here (JSON) once listening")
	bootDelay := fs.Duration("boot-delay", 0, "how long an instance stays pending before its user-data runs")
	fs.Parse(os.Args[1:])
	if err := run(*listen, *control, *config, *hosts, *script, *logs, *ready, *bootDelay); err != nil {
		fmt.Fprintln(os.Stderr, "ec2-standin (test double):", err)
		os.Exit(1)
	}
}

func run(listen, control, config, hosts, script, logs, ready string, bootDelay time.Duration) error {
	cfg, err := ec2standin.LoadConfig(config)
	if err != nil {
		return err
	}
	if bootDelay > 0 {
		cfg.BootDelay = ec2standin.Duration(bootDelay)
	}
	var m ec2standin.Machines
	var h *ec2standin.Hosts
	if hosts == "none" {
		m = &ec2standin.NoMachines{}
	} else {
		first, last, ok := strings.Cut(hosts, "-")
		a, err1 := strconv.Atoi(first)
		b, err2 := strconv.Atoi(last)
		if !ok || err1 != nil || err2 != nil || a < 1 || b > 200 || a > b {
			return fmt.Errorf("--hosts %q: want FIRST-LAST within 1-200 (e.g. 101-200), or none", hosts)
		}
		if os.Getuid() != 0 {
			return fmt.Errorf("instances on namespace hosts need root: run as root, or with --hosts none for the API alone")
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(script)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--hosts-script %s: %v (run from burst's repository or name the script)", script, err)
		}
		h = &ec2standin.Hosts{Script: abs, Exe: exe, First: a, Last: b}
		m = h
	}
	if logs == "" {
		if logs, err = os.MkdirTemp("", "ec2-standin-logs-"); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := ec2standin.New(cfg, m, logs, log)
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	ctlLn, err := net.Listen("tcp", control)
	if err != nil {
		return err
	}
	api := &http.Server{Handler: s.API(), ReadHeaderTimeout: 10 * time.Second}
	ctl := &http.Server{Handler: s.ControlAPI(), ReadHeaderTimeout: 10 * time.Second}
	go api.Serve(apiLn)
	go ctl.Serve(ctlLn)
	c := s.Config()
	r := Ready{
		Endpoint: "http://" + apiLn.Addr().String(), Control: "http://" + ctlLn.Addr().String(),
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Regions: c.Regions, Logs: logs, PID: os.Getpid(),
	}
	if ready != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		tmp := ready + ".tmp"
		if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, ready); err != nil {
			return err
		}
	}
	log.Info("ec2-standin (test double): listening", "endpoint", r.Endpoint, "control", r.Control, "hosts", hosts, "logs", logs)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	log.Info("ec2-standin (test double): stopping: terminating every instance")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	api.Shutdown(sctx)
	ctl.Shutdown(sctx)
	s.Close()
	if h != nil {
		h.Close()
	}
	return nil
}
