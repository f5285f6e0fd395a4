package ec2standin

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/smithy-go"
)

// newAPI is a stand-in with no machines behind an httptest server, and SDK
// clients of it signed with secret.
func newAPI(t *testing.T, secret string) (*Server, *ec2.Client, *servicequotas.Client) {
	t.Helper()
	s, err := New(Config{}, &NoMachines{}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.API())
	t.Cleanup(func() { srv.Close(); s.Close() })
	if secret == "" {
		secret = s.Config().SecretAccessKey
	}
	creds := credentials.NewStaticCredentialsProvider(s.Config().AccessKeyID, secret, "")
	e := ec2.New(ec2.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(srv.URL)})
	q := servicequotas.New(servicequotas.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(srv.URL)})
	return s, e, q
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRunDescribeTerminate(t *testing.T) {
	s, e, _ := newAPI(t, "")
	ctx := context.Background()
	in := &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0a000000000000001"), InstanceType: types.InstanceTypeG5Xlarge,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ClientToken: aws.String("m-1"),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n"))),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			{Key: aws.String("burst:cluster"), Value: aws.String("gpu")}, {Key: aws.String("Name"), Value: aws.String("burst gpu/m-1")}}}},
		InstanceMarketOptions: &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot, SpotOptions: &types.SpotMarketOptions{
			SpotInstanceType: types.SpotInstanceTypeOneTime, InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}},
	}
	dry := *in
	dry.DryRun = aws.Bool(true)
	if _, err := e.RunInstances(ctx, &dry); code(err) != "DryRunOperation" {
		t.Fatalf("DryRun: want DryRunOperation, got %v", err)
	}
	out, err := e.RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	if !strings.HasPrefix(id, "i-") || out.Instances[0].InstanceLifecycle != types.InstanceLifecycleTypeSpot {
		t.Fatalf("RunInstances: %+v", out.Instances[0])
	}
	again, err := e.RunInstances(ctx, in)
	if err != nil || aws.ToString(again.Instances[0].InstanceId) != id {
		t.Fatalf("the same ClientToken launched again: %v %v", err, again)
	}
	d, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:burst:cluster"), Values: []string{"gpu"}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}}}})
	if err != nil || len(d.Reservations) != 1 || len(d.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances: %v %+v", err, d)
	}
	got := d.Reservations[0].Instances[0]
	if aws.ToString(got.InstanceId) != id || len(got.Tags) != 2 || got.Placement == nil || aws.ToString(got.Placement.AvailabilityZone) != "us-east-1a" {
		t.Fatalf("DescribeInstances: %+v", got)
	}
	term, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil || term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Fatalf("TerminateInstances: %v %+v", err, term)
	}
	w := ec2.NewInstanceTerminatedWaiter(e, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 50 * time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000dead"}}); code(err) != "InvalidInstanceID.NotFound" {
		t.Fatalf("unknown instance: %v", err)
	}
	_ = s
}

func TestDescribeCatalog(t *testing.T) {
	_, e, q := newAPI(t, "")
	ctx := context.Background()
	r, err := e.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"eu-west-2"}})
	if err != nil || len(r.Regions) != 1 || aws.ToString(r.Regions[0].RegionName) != "eu-west-2" {
		t.Fatalf("DescribeRegions: %v %+v", err, r)
	}
	it, err := e.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{types.InstanceTypeG5Xlarge}})
	if err != nil || len(it.InstanceTypes) != 1 || aws.ToInt32(it.InstanceTypes[0].VCpuInfo.DefaultVCpus) != 4 || it.InstanceTypes[0].GpuInfo == nil {
		t.Fatalf("DescribeInstanceTypes: %v %+v", err, it)
	}
	off, err := e.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: types.LocationTypeRegion,
		Filters: []types.Filter{{Name: aws.String("instance-type"), Values: []string{"g5.xlarge", "nosuch.large"}}}})
	if err != nil || len(off.InstanceTypeOfferings) != 1 {
		t.Fatalf("DescribeInstanceTypeOfferings: %v %+v", err, off)
	}
	var prices []types.SpotPrice
	p := ec2.NewDescribeSpotPriceHistoryPaginator(e, &ec2.DescribeSpotPriceHistoryInput{InstanceTypes: []types.InstanceType{types.InstanceTypeG5Xlarge},
		ProductDescriptions: []string{"Linux/UNIX"}, StartTime: aws.Time(time.Now().Add(-time.Hour)), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		prices = append(prices, pg.SpotPriceHistory...)
	}
	if len(prices) != 2 || prices[0].Timestamp == nil || aws.ToString(prices[0].SpotPrice) == "" {
		t.Fatalf("DescribeSpotPriceHistory (two zones, a page each): %+v", prices)
	}
	im, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}}})
	if err != nil || len(im.Images) != 1 || aws.ToString(im.Images[0].Name) != "standin-ubuntu-24.04-arm64" {
		t.Fatalf("DescribeImages: %v %+v", err, im)
	}
	if _, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0nosuch"}}); code(err) != "InvalidAMIID.NotFound" {
		t.Fatalf("unknown image: %v", err)
	}
	sq, err := q.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("ec2"), QuotaCode: aws.String(QuotaSpotStandard)})
	if err != nil || aws.ToFloat64(sq.Quota.Value) != 256 {
		t.Fatalf("GetServiceQuota: %v %+v", err, sq)
	}
}

func TestWrongSecretIsAuthFailure(t *testing.T) {
	_, e, q := newAPI(t, "not-the-secret")
	if _, err := e.DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{}); code(err) != "AuthFailure" {
		t.Fatalf("want AuthFailure, got %v", err)
	}
	if _, err := q.GetServiceQuota(context.Background(), &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("ec2"), QuotaCode: aws.String(QuotaSpotStandard)}); code(err) != "UnrecognizedClientException" {
		t.Fatalf("want UnrecognizedClientException, got %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	_, e, _ := newAPI(t, "")
	base := func() *ec2.RunInstancesInput {
		return &ec2.RunInstancesInput{ImageId: aws.String("ami-0a000000000000001"), InstanceType: types.InstanceTypeC5Large, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
	}
	cases := []struct {
		name string
		edit func(*ec2.RunInstancesInput)
		code string
	}{
		{"image", func(i *ec2.RunInstancesInput) { i.ImageId = aws.String("ami-0nosuch") }, "InvalidAMIID.NotFound"},
		{"subnet", func(i *ec2.RunInstancesInput) { i.SubnetId = aws.String("subnet-0nosuch") }, "InvalidSubnetID.NotFound"},
		{"arch", func(i *ec2.RunInstancesInput) { i.ImageId = aws.String("ami-0a000000000000002") }, "InvalidParameterValue"},
		{"quota", func(i *ec2.RunInstancesInput) {
			i.InstanceType = types.InstanceTypeP4d24xlarge
			i.MinCount, i.MaxCount = aws.Int32(3), aws.Int32(3)
		}, "VcpuLimitExceeded"},
		{"spot price", func(i *ec2.RunInstancesInput) {
			i.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot, SpotOptions: &types.SpotMarketOptions{MaxPrice: aws.String("0.0001")}}
		}, "SpotMaxPriceTooLow"},
	}
	for _, c := range cases {
		in := base()
		c.edit(in)
		if _, err := e.RunInstances(context.Background(), in); code(err) != c.code {
			t.Errorf("%s: want %s, got %v", c.name, c.code, err)
		}
	}
}

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{{"*", "", true}, {"g5.*", "g5.xlarge", true}, {"g?.xlarge", "g5.xlarge", true}, {"g5.*", "p3.2xlarge", false}, {"a*b*c", "axxbyyc", true}, {"abc", "ab", false}} {
		if got := wildcard(c.p, c.s); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v", c.p, c.s, got)
		}
	}
}
