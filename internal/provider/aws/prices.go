package aws

import (
	"context"
	"slices"
	"strconv"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/burst-sh/burst/internal/provider"
)

// Prices implements provider.Pricer: the spot prices of types in the
// region of opts, from DescribeSpotPriceHistory (Linux/UNIX, all pages):
// for each type, the newest price of each zone, and of those the cheapest,
// with its zone and time. A type without a spot offer there is left out.
func (p *Provider) Prices(ctx context.Context, ts []string, opts map[string]string) ([]provider.Price, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	cl, region, err := p.client(ctx, opts[OptRegion])
	if err != nil {
		return nil, err
	}
	in := &ec2.DescribeSpotPriceHistoryInput{
		ProductDescriptions: []string{"Linux/UNIX"},
		// A start time of now returns the price in force in each zone.
		StartTime: sdkaws.Time(time.Now().UTC()),
	}
	for _, t := range ts {
		in.InstanceTypes = append(in.InstanceTypes, types.InstanceType(t))
	}
	var all []types.SpotPrice
	pages := ec2.NewDescribeSpotPriceHistoryPaginator(cl.ec2, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, checkError(err, provider.Spec{}, region)
		}
		all = append(all, out.SpotPriceHistory...)
	}
	return cheapest(all, "aws DescribeSpotPriceHistory "+region), nil
}

// cheapest is, per type, the newest price of each zone, then the cheapest
// zone's, sorted by type.
func cheapest(history []types.SpotPrice, source string) []provider.Price {
	type zoneKey struct{ typ, zone string }
	newest := map[zoneKey]provider.Price{}
	for _, h := range history {
		v, err := strconv.ParseFloat(sdkaws.ToString(h.SpotPrice), 64)
		if err != nil || v <= 0 || h.Timestamp == nil {
			continue
		}
		k := zoneKey{string(h.InstanceType), sdkaws.ToString(h.AvailabilityZone)}
		if old, ok := newest[k]; !ok || h.Timestamp.After(old.At) {
			newest[k] = provider.Price{Type: k.typ, Spot: v, Zone: k.zone, At: h.Timestamp.UTC(), Source: source}
		}
	}
	best := map[string]provider.Price{}
	for _, pr := range newest {
		if old, ok := best[pr.Type]; !ok || pr.Spot < old.Spot || pr.Spot == old.Spot && pr.Zone < old.Zone {
			best[pr.Type] = pr
		}
	}
	out := make([]provider.Price, 0, len(best))
	for _, pr := range best {
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b provider.Price) int {
		if a.Type < b.Type {
			return -1
		}
		if a.Type > b.Type {
			return 1
		}
		return 0
	})
	return out
}
