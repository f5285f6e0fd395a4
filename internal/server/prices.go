package server

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/provider"
)

// PriceEvery is how often the server reads the prices of the types its
// clusters use from providers whose prices move (provider.Pricer: a
// cloud's spot market).
const PriceEvery = 15 * time.Minute

// priceLoop reads the providers' prices every PriceEvery, and when a
// cluster is created (kickPrices), until ctx ends.
func (s *Server) priceLoop(ctx context.Context) {
	every(ctx, PriceEvery, true, s.priceKick, func() { s.refreshPrices(ctx) })
}

func (s *Server) kickPrices() {
	select {
	case s.priceKick <- struct{}{}:
	default:
	}
}

// priceAsk is one Prices call: the types of the clusters whose provider
// and options are the same.
type priceAsk struct {
	pricer   provider.Pricer
	opts     map[string]string
	types    []string
	clusters []*clusterRT
}

// refreshPrices asks every Pricer for the prices of its clusters' types
// (a snapshot under the lock, the calls without it), sets them in the
// catalog (burst types, the shadow prices) and in the clusters that asked
// (the price of their next machines, the forecast), and says in the log
// what it could not read.
func (s *Server) refreshPrices(ctx context.Context) {
	s.mu.Lock()
	asks := priceAsks(s.clusters)
	s.mu.Unlock()
	for _, a := range asks {
		s.readPrices(ctx, a)
	}
}

// priceAsks groups the clusters of Pricer providers by provider and
// options, in a stable order. Called with s.mu held.
func priceAsks(clusters map[string]*clusterRT) []*priceAsk {
	byKey := map[string]*priceAsk{}
	for _, c := range clusters {
		pr, ok := c.prov.(provider.Pricer)
		if !ok || c.def.Type == "" {
			continue
		}
		key := c.def.Provider + "\x00" + optionsKey(c.def.Options)
		a := byKey[key]
		if a == nil {
			a = &priceAsk{pricer: pr, opts: maps.Clone(c.def.Options)}
			byKey[key] = a
		}
		if !slices.Contains(a.types, c.def.Type) {
			a.types = append(a.types, c.def.Type)
		}
		a.clusters = append(a.clusters, c)
	}
	out := make([]*priceAsk, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		slices.Sort(byKey[k].types)
		out = append(out, byKey[k])
	}
	return out
}

func optionsKey(opts map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		b.WriteString(k + "=" + opts[k] + "\x00")
	}
	return b.String()
}

// readPrices makes one ask and applies its answer. Called without s.mu.
func (s *Server) readPrices(ctx context.Context, a *priceAsk) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	prices, err := a.pricer.Prices(ctx, a.types, a.opts)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("cannot read prices: the catalog keeps the last ones", "types", a.types, "err", err)
		}
		return
	}
	for _, p := range prices {
		if err := s.catalog.SetSpot(p.Type, cost.SpotPrice{USD: p.Spot, Zone: p.Zone, At: p.At, Source: p.Source}); err != nil {
			s.log.Warn("spot price not kept", "type", p.Type, "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range a.clusters {
		applySpot(c, prices)
	}
}

// applySpot sets the spot price of c's type from prices, read where c
// launches. Called with s.mu held (or on a cluster no one else sees yet).
func applySpot(c *clusterRT, prices []provider.Price) {
	for _, p := range prices {
		if p.Type == c.typ.Name && p.Spot > 0 {
			c.typ.Spot, c.typ.SpotSource, c.typ.SpotAt, c.typ.SpotZone = p.Spot, p.Source, p.At, p.Zone
		}
	}
}

// pricesAtCreate reads the prices of new cluster c, before anyone sees it,
// so that its first machines and the price create shows are the market's.
// A provider that does not answer within 20 s leaves the catalog's price;
// the loop tries again.
func (s *Server) pricesAtCreate(ctx context.Context, c *clusterRT) {
	pr, ok := c.prov.(provider.Pricer)
	if !ok || c.def.Type == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	prices, err := pr.Prices(ctx, []string{c.def.Type}, c.def.Options)
	if err != nil {
		s.log.Warn("cannot read prices of a new cluster: it starts with the catalog's", "cluster", c.def.Name, "err", err)
		return
	}
	for _, p := range prices {
		s.catalog.SetSpot(p.Type, cost.SpotPrice{USD: p.Spot, Zone: p.Zone, At: p.At, Source: p.Source})
	}
	applySpot(c, prices)
}
