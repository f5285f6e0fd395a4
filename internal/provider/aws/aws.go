// Package aws is the provider of EC2 instances (on demand or spot): Start
// launches an instance whose user-data fetches burst from the server and
// joins it with a one-time token, Stop terminates it, Alive answers from one
// batched DescribeInstances per interval for all the server's instances, and
// Prices reads the spot market. It uses the AWS SDK for Go v2 and finds its
// endpoints, region and credentials the standard way (AWS_ENDPOINT_URL_EC2,
// AWS_REGION, the credential chain); it holds no state the server does not
// store but caches of what EC2 said. It must never branch on where its
// endpoint is: the tests run it against a stand-in of EC2 (internal/ec2standin).
package aws

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/burst-sh/burst/internal/dist"
	"github.com/burst-sh/burst/internal/provider"
)

// Options of the aws provider (Spec.Options; the CLI has a flag for each).
const (
	OptRegion        = "region"         // EC2 region; default: the SDK's (AWS_REGION, the profile)
	OptSubnet        = "subnet"         // subnet id; default: the region's default VPC
	OptSecurityGroup = "security-group" // security group ids, comma-separated
	OptImage         = "image"          // AMI id; default: the newest Amazon Linux 2023 of the arch
)

var options = []string{OptRegion, OptSubnet, OptSecurityGroup, OptImage}

// Tags every instance (and its volumes) carries.
const (
	TagServer  = "burst:server"  // the server's home id: Alive looks for it
	TagCluster = "burst:cluster" // the cluster
	TagProject = "burst:project" // who pays (AWS cost allocation)
	TagMachine = "burst:machine" // the machine's name
)

// Provider launches EC2 instances. Its zero value is not ready: set Server
// and Joins.
type Provider struct {
	// Server is the server's home id (store.Identity), which every instance
	// is tagged with and Alive looks for. A func: the server knows it only
	// once it has read its store.
	Server func() string
	// Joins says whether the server serves TLS beyond loopback, so that an
	// instance can fetch burst and join (Connect.JoinURL); Check refuses a
	// cluster without it.
	Joins func() bool
	// Every is how often Alive asks EC2 (one DescribeInstances for every
	// instance of the server); zero: 10 s.
	Every time.Duration

	mu      sync.Mutex
	clients map[string]*clients   // region → its clients
	stops   map[string][]*stopReq // region → Stops waiting to share a TerminateInstances
	look    look                  // what the last DescribeInstances said
	regions map[string]bool       // where the server's instances may be
	where   map[string]string     // instance id → region
}

type clients struct {
	region string
	ec2    *ec2.Client
	quotas *servicequotas.Client
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return provider.AWSName }

// Caps implements provider.Provider: instances run an agent that joins;
// spot instances are interrupted with notice; an instance may take a few
// minutes to boot; Why says what EC2 says of one that is not up.
func (p *Provider) Caps() provider.Caps {
	return provider.Caps{Agent: true, Spot: true, Explains: true, Patient: 10 * time.Minute, ShipsBinary: true}
}

// client is the region's EC2 and Service Quotas clients. The SDK's
// standard retryer backs off on throttling (RequestLimitExceeded) and
// transient errors, up to 8 attempts.
func (p *Provider) client(ctx context.Context, region string) (*clients, string, error) {
	return p.clientOf(ctx, region, false)
}

// homeRegion is where regions are looked up when the configuration names
// none: every account may call DescribeRegions there.
const homeRegion = "us-east-1"

// clientOf is client; with home, a configuration that names no region
// gets homeRegion's clients instead of an error.
func (p *Provider) clientOf(ctx context.Context, region string, home bool) (*clients, string, error) {
	key := region
	if home && region == "" {
		key = "\x00home"
	}
	p.mu.Lock()
	c := p.clients[key]
	p.mu.Unlock()
	if c != nil {
		return c, c.region, nil
	}
	opts := []func(*config.LoadOptions) error{config.WithRetryer(func() sdkaws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 8
			o.MaxBackoff = 20 * time.Second
		})
	})}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("read the AWS configuration: %v: fix ~/.aws/config or the AWS_* variables", err)
	}
	if cfg.Region == "" {
		if region == "" && home {
			cfg.Region = homeRegion
		} else {
			return nil, "", errors.New("no AWS region: give --region (e.g. --region eu-west-2), or set AWS_REGION")
		}
	}
	c = &clients{region: cfg.Region, ec2: ec2.NewFromConfig(cfg), quotas: servicequotas.NewFromConfig(cfg)}
	p.mu.Lock()
	if p.clients == nil {
		p.clients = map[string]*clients{}
	}
	if p.clients[cfg.Region] == nil {
		p.clients[cfg.Region] = c
	}
	c = p.clients[cfg.Region]
	p.clients[key] = c
	if p.regions == nil {
		p.regions = map[string]bool{}
	}
	p.regions[cfg.Region] = true
	p.mu.Unlock()
	return c, cfg.Region, nil
}

// Start implements provider.Provider: one RunInstances with the machine's
// user-data, tags and market options. Its ClientToken is the machine's name
// and a digest of its join URL (minted for this start alone), so a call the
// SDK retries never launches two instances, while a later start of the
// same machine launches a new one.
func (p *Provider) Start(ctx context.Context, sp provider.Spec, c provider.Connect) (provider.Handle, error) {
	if err := ctx.Err(); err != nil {
		return provider.Handle{}, err
	}
	if c.JoinURL == "" {
		return provider.Handle{}, errors.New(needTLS)
	}
	cl, region, err := p.client(ctx, sp.Options[OptRegion])
	if err != nil {
		return provider.Handle{}, err
	}
	image, err := p.image(ctx, cl, sp.Options, dist.Arch())
	if err != nil {
		return provider.Handle{}, err
	}
	ud, err := p.userData(sp, c)
	if err != nil {
		return provider.Handle{}, err
	}
	out, err := cl.ec2.RunInstances(ctx, runInput(sp, image, ud, p.server(), c.JoinURL, false), boundLaunch)
	if err != nil {
		return provider.Handle{}, startError(err, sp, region)
	}
	if len(out.Instances) == 0 || out.Instances[0].InstanceId == nil {
		return provider.Handle{}, fmt.Errorf("EC2 %s answered RunInstances with no instance: try again", region)
	}
	id := *out.Instances[0].InstanceId
	p.mu.Lock()
	if p.where == nil {
		p.where = map[string]string{}
	}
	p.where[id] = region
	p.look.started(id, time.Now())
	p.mu.Unlock()
	return provider.Handle{External: id}, nil
}

// userData is the machine's user-data: what it fetches from the server and
// how it joins.
func (p *Provider) userData(sp provider.Spec, c provider.Connect) (string, error) {
	u, err := url.Parse(c.JoinURL)
	if err != nil || u.Scheme != "https" {
		return "", errors.New(needTLS)
	}
	if c.CAFile == "" {
		return "", errors.New(needTLS)
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return "", fmt.Errorf("read the server's CA %s: %v", c.CAFile, err)
	}
	sum, err := dist.Sum(c.Exe)
	if err != nil {
		return "", err
	}
	return UserData(Boot{Machine: sp.ID, Server: "https://" + u.Host, CAPEM: string(ca), Arch: dist.Arch(),
		SHA256: sum, JoinURL: c.JoinURL, HomeID: c.HomeID, Spot: sp.Spot}), nil
}

func (p *Provider) server() string {
	if p.Server == nil {
		return ""
	}
	return p.Server()
}

// runInput is the RunInstances request of machine sp: one instance of its
// type from image, with user-data ud, in the subnet and security groups of
// its options, tagged (instance and volumes) with server, cluster, project
// and machine; spot when asked (one-time, terminated on interruption).
func runInput(sp provider.Spec, image, ud, server, joinURL string, dryRun bool) *ec2.RunInstancesInput {
	tags := []types.Tag{
		{Key: sdkaws.String(TagServer), Value: sdkaws.String(server)},
		{Key: sdkaws.String(TagCluster), Value: sdkaws.String(sp.Cluster)},
		{Key: sdkaws.String(TagProject), Value: sdkaws.String(sp.Project)},
		{Key: sdkaws.String(TagMachine), Value: sdkaws.String(sp.ID)},
		{Key: sdkaws.String("Name"), Value: sdkaws.String("burst " + sp.Cluster + "/" + sp.ID)},
	}
	in := &ec2.RunInstancesInput{
		ImageId:      sdkaws.String(image),
		InstanceType: types.InstanceType(sp.Type),
		MinCount:     sdkaws.Int32(1),
		MaxCount:     sdkaws.Int32(1),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags},
		},
		// Terminated, not stopped, when it shuts itself down: a stopped
		// instance would still cost its volumes.
		InstanceInitiatedShutdownBehavior: types.ShutdownBehaviorTerminate,
	}
	if dryRun {
		in.DryRun = sdkaws.Bool(true)
	} else {
		in.UserData = sdkaws.String(base64.StdEncoding.EncodeToString([]byte(ud)))
		in.ClientToken = sdkaws.String(clientToken(sp.ID, joinURL))
	}
	if s := sp.Options[OptSubnet]; s != "" {
		in.SubnetId = sdkaws.String(s)
	}
	if g := sp.Options[OptSecurityGroup]; g != "" {
		for _, id := range strings.Split(g, ",") {
			if id = strings.TrimSpace(id); id != "" {
				in.SecurityGroupIds = append(in.SecurityGroupIds, id)
			}
		}
	}
	if sp.Spot {
		in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{
			MarketType: types.MarketTypeSpot,
			SpotOptions: &types.SpotMarketOptions{
				SpotInstanceType:             types.SpotInstanceTypeOneTime,
				InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate,
			},
		}
	}
	return in
}

// clientToken is the idempotency token of one start of machine id: at most
// 64 characters, the same for every retry of the call.
func clientToken(id, joinURL string) string {
	d := sha256.Sum256([]byte(joinURL))
	h := hex.EncodeToString(d[:8])
	if len(id) > 64-1-len(h) {
		id = id[:64-1-len(h)]
	}
	return id + "-" + h
}

// Stop implements provider.Provider: TerminateInstances. An instance EC2
// no longer knows is gone already: no error. The Stops of one region that
// come together share calls (stop.go).
func (p *Provider) Stop(ctx context.Context, h provider.Handle) error {
	if h.External == "" {
		return nil
	}
	p.mu.Lock()
	region, known := p.where[h.External]
	p.mu.Unlock()
	if known {
		return p.terminate(ctx, region, h.External)
	}
	var errs []error
	for _, region := range p.regionsOf(h.External) {
		gone, err := p.terminateOne(ctx, region, h.External)
		if err == nil && gone {
			return nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// terminateOne terminates instance id in region: gone is false (and err
// nil) when EC2 does not know it there.
func (p *Provider) terminateOne(ctx context.Context, region, id string) (gone bool, err error) {
	cl, _, err := p.client(ctx, region)
	if err != nil {
		return false, err
	}
	_, err = cl.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	switch {
	case err == nil:
		p.mu.Lock()
		p.look.terminated(id)
		p.mu.Unlock()
		return true, nil
	case notKnown(err):
		return false, nil
	}
	return false, fmt.Errorf("terminate %s in %s: %w", id, region, err)
}

// notKnown is EC2's answer about an instance id it does not know.
func notKnown(err error) bool {
	return code(err) == "InvalidInstanceID.NotFound" || code(err) == "InvalidInstanceID.Malformed"
}

// regionsOf is where instance id may be: its region when known, else every
// region the provider has used.
func (p *Provider) regionsOf(id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.where[id]; r != "" {
		return []string{r}
	}
	var rs []string
	for r := range p.regions {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	if len(rs) == 0 {
		rs = []string{""} // the SDK's default region
	}
	return rs
}
