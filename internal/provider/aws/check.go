package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/smithy-go"

	"github.com/burst-sh/burst/internal/dist"
	"github.com/burst-sh/burst/internal/provider"
)

// needTLS is the refusal of a cluster on a server its instances cannot
// join.
const needTLS = "aws machines join the server over TLS from elsewhere: restart it listening beyond loopback, e.g. `burst server --listen 0.0.0.0:8443` (it then serves TLS with its own CA), on an address the instances reach"

// Check implements provider.Provider. In order, each failure one line that
// names the fix: the server serves TLS; the region exists; the type is
// offered there, and its architecture is the server's binary's; the image
// exists for it; the vCPU quota covers --max machines; and a DryRun
// RunInstances of exactly what Start will ask proves the credentials may
// launch it (and that the subnet and security groups exist).
func (p *Provider) Check(ctx context.Context, sp provider.Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := provider.RefuseOptions(p.Name(), sp.Options, options...); err != nil {
		return err
	}
	if sp.Type == "" {
		return errors.New("an aws cluster needs --type, e.g. --type m5.large (burst types lists them)")
	}
	if p.Joins == nil || !p.Joins() {
		return errors.New(needTLS)
	}
	// The region is looked up from the configuration's own (or
	// us-east-1): the endpoint of a region that does not exist answers
	// nothing useful.
	home, _, err := p.clientOf(ctx, "", true)
	if err != nil {
		return err
	}
	region := sp.Options[OptRegion]
	if region == "" {
		region = home.region
	}
	if _, err := home.ec2.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{region}}); err != nil {
		if code(err) == "InvalidParameterValue" {
			return fmt.Errorf("%s is not an EC2 region this account may use: give --region one of `aws ec2 describe-regions` (e.g. eu-west-2)", region)
		}
		return checkError(err, sp, region)
	}
	cl, region, err := p.client(ctx, region)
	if err != nil {
		return err
	}
	off, err := cl.ec2.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: types.LocationTypeRegion,
		Filters:      []types.Filter{{Name: sdkaws.String("instance-type"), Values: []string{sp.Type}}},
	})
	if err != nil {
		return checkError(err, sp, region)
	}
	if len(off.InstanceTypeOfferings) == 0 {
		return fmt.Errorf("EC2 does not offer %s in %s: choose another --type (burst types) or --region", sp.Type, region)
	}
	its, err := cl.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{types.InstanceType(sp.Type)}})
	if err != nil {
		return checkError(err, sp, region)
	}
	if len(its.InstanceTypes) == 0 {
		return fmt.Errorf("EC2 %s does not describe type %s: choose another --type (burst types)", region, sp.Type)
	}
	it := its.InstanceTypes[0]
	arch := dist.Arch()
	if it.ProcessorInfo == nil || !slices.Contains(it.ProcessorInfo.SupportedArchitectures, types.ArchitectureType(ec2Arch(arch))) {
		var have []string
		if it.ProcessorInfo != nil {
			for _, a := range it.ProcessorInfo.SupportedArchitectures {
				have = append(have, string(a))
			}
		}
		return fmt.Errorf("%s runs %s, but this server's burst binary is for %s (%s), the only one it serves to instances: choose a %s type, or run the server built for %s",
			sp.Type, strings.Join(have, ", "), arch, ec2Arch(arch), ec2Arch(arch), strings.Join(have, " or "))
	}
	image, err := p.image(ctx, cl, sp.Options, arch)
	if err != nil {
		return err
	}
	vcpus := sp.Res.CPUs
	if it.VCpuInfo != nil && sdkaws.ToInt32(it.VCpuInfo.DefaultVCpus) > 0 {
		vcpus = int(*it.VCpuInfo.DefaultVCpus)
	}
	if err := p.quota(ctx, cl, sp, region, vcpus); err != nil {
		return err
	}
	_, err = cl.ec2.RunInstances(ctx, runInput(sp, image, "", p.server(), "", true))
	if err == nil || code(err) == "DryRunOperation" {
		return nil
	}
	return checkError(err, sp, region)
}

// ec2Arch is EC2's name of Go's architecture.
func ec2Arch(goarch string) string {
	if goarch == "amd64" {
		return "x86_64"
	}
	return goarch
}

// image is the AMI machines launch from: --image, which must exist and be
// built for arch; else the newest Amazon Linux 2023 for arch.
func (p *Provider) image(ctx context.Context, cl *clients, opts map[string]string, arch string) (string, error) {
	if id := opts[OptImage]; id != "" {
		out, err := cl.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil {
			if c := code(err); c == "InvalidAMIID.NotFound" || c == "InvalidAMIID.Malformed" || c == "InvalidAMIID.Unavailable" {
				return "", fmt.Errorf("image %s does not exist in this region: give --image an AMI id of the region (any Linux with sh and curl, %s)", id, ec2Arch(arch))
			}
			return "", checkError(err, provider.Spec{}, "")
		}
		if len(out.Images) == 0 {
			return "", fmt.Errorf("image %s does not exist in this region: give --image an AMI id of the region (any Linux with sh and curl, %s)", id, ec2Arch(arch))
		}
		if a := string(out.Images[0].Architecture); a != "" && a != ec2Arch(arch) {
			return "", fmt.Errorf("image %s is built for %s, but this server's burst binary is for %s: give an --image for %s", id, a, ec2Arch(arch), ec2Arch(arch))
		}
		return id, nil
	}
	out, err := cl.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners: []string{"amazon"},
		Filters: []types.Filter{
			{Name: sdkaws.String("name"), Values: []string{"al2023-ami-2023.*-" + ec2Arch(arch)}},
			{Name: sdkaws.String("architecture"), Values: []string{ec2Arch(arch)}},
		},
	})
	if err != nil {
		return "", checkError(err, provider.Spec{}, "")
	}
	best := ""
	newest := ""
	for _, im := range out.Images {
		if c := sdkaws.ToString(im.CreationDate); im.ImageId != nil && c >= newest {
			best, newest = *im.ImageId, c
		}
	}
	if best == "" {
		return "", fmt.Errorf("no Amazon Linux 2023 image for %s in this region: give --image an AMI id (any Linux with sh and curl)", ec2Arch(arch))
	}
	return best, nil
}

// Service Quotas codes of EC2's running-instance vCPU limits, by the
// family's first letter: standard (A, C, D, H, I, M, R, T, Z), G and VT,
// P, and others.
var quotaCodes = map[string][2]string{ // family letter → {on demand, spot}
	"g": {"L-DB2E81BA", "L-3819A6DF"},
	"p": {"L-417A185B", "L-7212CCBC"},
	"":  {"L-1216C47A", "L-34B43A08"}, // standard
}

// quotaCode is the code of the vCPU quota machines of type t count against.
func quotaCode(t string, spot bool) string {
	k := ""
	if strings.HasPrefix(t, "g") || strings.HasPrefix(t, "vt") {
		k = "g"
	} else if strings.HasPrefix(t, "p") {
		k = "p"
	}
	if spot {
		return quotaCodes[k][1]
	}
	return quotaCodes[k][0]
}

// quota refuses a cluster whose --max machines would not fit the account's
// vCPU quota in the region. A quota Service Quotas does not know is not
// checked (EC2 refuses the launch then, and Start says so).
func (p *Provider) quota(ctx context.Context, cl *clients, sp provider.Spec, region string, vcpus int) error {
	qc := quotaCode(sp.Type, sp.Spot)
	out, err := cl.quotas.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: sdkaws.String("ec2"), QuotaCode: sdkaws.String(qc)})
	if err != nil {
		if code(err) == "NoSuchResourceException" {
			return nil
		}
		return checkError(err, sp, region)
	}
	if out.Quota == nil || out.Quota.Value == nil {
		return nil
	}
	have := int(*out.Quota.Value)
	need := max(sp.Max, 1) * vcpus
	if need > have {
		kind := "on-demand"
		if sp.Spot {
			kind = "spot"
		}
		name := sdkaws.ToString(out.Quota.QuotaName)
		if name == "" {
			name = kind + " vCPUs"
		}
		return fmt.Errorf("--max %d × %d vCPUs of %s needs %d vCPUs, but the %s quota %s (%s) in %s is %d: lower --max to %d, or ask for more: aws service-quotas request-service-quota-increase --service-code ec2 --quota-code %s --desired-value %d --region %s",
			max(sp.Max, 1), vcpus, sp.Type, need, kind, qc, name, region, have, have/max(vcpus, 1), qc, need, region)
	}
	return nil
}

// code is the AWS error code of err ("" when it is none).
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// message is the AWS error message of err, or err's text.
func message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "" {
		return ae.ErrorMessage()
	}
	return err.Error()
}

// noCredentials says the SDK found no credentials anywhere it looks (the
// environment, the shared files, an instance role): its error names the
// lookup, not a refusal by AWS.
func noCredentials(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "get credentials") || strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "no EC2 IMDS role found") || strings.Contains(msg, "static credentials are empty")
}

// checkError is a Check failure, one line naming the fix.
func checkError(err error, sp provider.Spec, region string) error {
	if noCredentials(err) { // before the deadline: the SDK's instance-role probe may have timed out
		return fmt.Errorf("the server has no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or an instance role) in the server's environment and restart it (docs/aws.md)")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch c := code(err); c {
	case "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidAccessKeyId":
		return fmt.Errorf("AWS refused the credentials (%s): set valid AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for the server", c)
	case "UnauthorizedOperation", "AccessDeniedException", "AccessDenied":
		return fmt.Errorf("the server's AWS credentials may not do this (%s: %s): attach the policy of docs/aws.md to them", c, firstLine(message(err)))
	case "InvalidParameterValue", "InvalidRegion":
		if region != "" && strings.Contains(strings.ToLower(message(err)), "region") {
			return fmt.Errorf("%s is not an EC2 region this account may use: give --region one of `aws ec2 describe-regions` (e.g. eu-west-2)", region)
		}
	case "InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed":
		return fmt.Errorf("subnet %s does not exist in %s: give --subnet a subnet id of the region (aws ec2 describe-subnets)", sp.Options[OptSubnet], region)
	case "InvalidGroup.NotFound", "InvalidGroupId.Malformed":
		return fmt.Errorf("security group %s does not exist in %s: give --security-group ids of the region (aws ec2 describe-security-groups)", sp.Options[OptSecurityGroup], region)
	case "InvalidAMIID.NotFound", "InvalidAMIID.Malformed":
		return fmt.Errorf("image %s does not exist in %s: give --image an AMI id of the region", sp.Options[OptImage], region)
	case "InvalidInstanceType", "Unsupported":
		return fmt.Errorf("EC2 %s does not offer %s here (%s): choose another --type or --region", region, sp.Type, firstLine(message(err)))
	case "OptInRequired":
		return fmt.Errorf("the account has not enabled %s (%s): enable the region in the AWS console, or give another --region", region, firstLine(message(err)))
	}
	if c := code(err); c != "" {
		return fmt.Errorf("EC2 %s refused (%s: %s): see docs/aws.md", region, c, firstLine(message(err)))
	}
	return fmt.Errorf("cannot reach EC2 in %s: %s: check the network, AWS_ENDPOINT_URL_EC2 if set, and --region", region, firstLine(err.Error()))
}

// startError is a RunInstances failure as the machine's reason: capacity
// and quota refusals say what to change, in one line.
func startError(err error, sp provider.Spec, region string) error {
	kind := "on-demand"
	if sp.Spot {
		kind = "spot"
	}
	switch c := code(err); c {
	case "InsufficientInstanceCapacity":
		return fmt.Errorf("EC2 has no %s capacity for %s in %s now (InsufficientInstanceCapacity): burst tries again; another --type, --region or --subnet (zone) may have some", kind, sp.Type, region)
	case "MaxSpotInstanceCountExceeded":
		return fmt.Errorf("the account's spot instance limit in %s is reached (MaxSpotInstanceCountExceeded): lower --max, or raise the spot quota (docs/aws.md)", region)
	case "SpotMaxPriceTooLow":
		return fmt.Errorf("the spot price of %s in %s is above what was offered (SpotMaxPriceTooLow): burst tries again; drop --spot to pay on-demand", sp.Type, region)
	case "InstanceLimitExceeded", "VcpuLimitExceeded":
		return fmt.Errorf("the account's %s vCPU quota %s in %s is used up (%s): lower --max, or raise it (aws service-quotas request-service-quota-increase --service-code ec2 --quota-code %s ...)", kind, quotaCode(sp.Type, sp.Spot), region, c, quotaCode(sp.Type, sp.Spot))
	case "RequestLimitExceeded":
		return provider.Throttled(fmt.Errorf("EC2 %s throttled the launch after retries (RequestLimitExceeded): burst tries again later", region))
	}
	return checkError(err, sp, region)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
