package cost

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"github.com/burst-sh/burst/internal/suggest"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/burst-sh/burst"
)

// Type is a machine type and its prices.
type Type struct {
	Name     string
	VCPUs    int
	MemBytes int64
	GPUs     int
	GPUModel string
	OnDemand float64 // $/h
	Spot     float64 // $/h, 0 = no spot offer
	Source   string  // where the price was read
	Date     string  // when (YYYY-MM-DD)
	// SpotSource and SpotAt, when set, say where and when Spot was read at
	// runtime (a provider's spot market, SetSpot), and SpotZone where the
	// price is; Source and Date then speak of OnDemand alone.
	SpotSource string
	SpotAt     time.Time
	SpotZone   string
}

// Price is the hourly price of t: spot when asked for and offered, else
// on-demand.
func (t Type) Price(spot bool) float64 {
	if spot && t.Spot > 0 {
		return t.Spot
	}
	return t.OnDemand
}

// Resources is what one machine of type t holds.
func (t Type) Resources() burst.Resources {
	return burst.Resources{CPUs: t.VCPUs, MemBytes: t.MemBytes, GPUs: t.GPUs}
}

// family is the part of a type name before the first dot ("m5" of m5.large).
func (t Type) family() string {
	f, _, _ := strings.Cut(t.Name, ".")
	return f
}

// Tier is a storage tier and its price.
type Tier struct {
	Name        string
	PerGBMonth  float64 // $ per GB-month
	Description string
	Source      string
	Date        string
	S3Class     string // the S3 storage class of blobs moved to this tier ("": accounting only)
}

// Rates price local and on-prem machines by what they hold.
type Rates struct {
	CoreHour   float64 // $ per core-hour
	GPUHour    float64 // $ per GPU-hour
	Configured bool    // false: machines are shadow-priced instead
}

// Catalog is what burst knows of prices.
type Catalog struct {
	Types []Type // sorted by family, then size
	Tiers []Tier // most expensive first
	// Local prices machines of the local provider that have no type; when
	// it is not Configured they get the shadow price of the type that fits.
	Local Rates
	// LogsTier is the tier logs and outputs are stored on (default "ssd").
	LogsTier string
	// Reference $/vCPU-hour and $/GPU-hour, used by GPUShare.
	RefCoreHour, RefGPUHour float64

	live *spotBook // spot prices read at runtime (SetSpot); nil: none
}

// SpotPrice is a type's spot price as a provider read it at runtime.
type SpotPrice struct {
	USD    float64   // per hour
	Zone   string    // where (the cheapest zone of a region)
	At     time.Time // when it took effect
	Source string    // e.g. "aws DescribeSpotPriceHistory eu-west-2"
}

// spotBook holds the spot prices set at runtime; its lock lets the server
// set them while requests read the catalog.
type spotBook struct {
	mu sync.RWMutex
	m  map[string]SpotPrice
}

// SetSpot sets type name's spot price, read at runtime, over the one of
// the price files: Type, Fit, LocalPrice and Filter answer with it from
// now on. Safe to call while others read c, which Load or Default made.
func (c *Catalog) SetSpot(name string, p SpotPrice) error {
	if !slices.ContainsFunc(c.Types, func(t Type) bool { return t.Name == name }) {
		_, err := c.Type(name)
		return err
	}
	if math.IsNaN(p.USD) || math.IsInf(p.USD, 0) || p.USD <= 0 {
		return fmt.Errorf("spot price of %s: %v: a price is more than 0 US dollars", name, p.USD)
	}
	if p.At.IsZero() || p.Source == "" {
		return fmt.Errorf("spot price of %s: give its time and source", name)
	}
	if c.live == nil {
		c.live = &spotBook{}
	}
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	if c.live.m == nil {
		c.live.m = map[string]SpotPrice{}
	}
	c.live.m[name] = p
	return nil
}

// withLive is t with the spot price set at runtime, if any. Called with
// c.live's read lock held (or no book).
func (c *Catalog) withLive(t Type) Type {
	if c.live == nil {
		return t
	}
	if p, ok := c.live.m[t.Name]; ok {
		t.Spot, t.SpotSource, t.SpotAt, t.SpotZone = p.USD, p.Source, p.At, p.Zone
	}
	return t
}

// rlock takes c.live's read lock; the func it returns releases it.
func (c *Catalog) rlock() func() {
	if c.live == nil {
		return func() {}
	}
	c.live.mu.RLock()
	return c.live.mu.RUnlock
}

//go:embed prices.yaml
var builtin []byte

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	c := &Catalog{}
	if err := c.overlay(builtin, "built-in prices.yaml", true); err != nil {
		return nil, err
	}
	return c, nil
})

// Default is the built-in catalog. Each call returns a fresh copy, which the
// caller may change.
func Default() *Catalog {
	c, err := defaultCatalog()
	if err != nil {
		panic("cost: " + err.Error()) // the embedded file is broken: a build defect
	}
	return c.clone()
}

// Load is the built-in catalog overlaid with the YAML file at path (in the
// layout of the built-in prices.yaml, holding only what changes). A missing
// file is not an error: Load then returns Default().
func Load(path string) (*Catalog, error) {
	c := Default()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prices file %s: %w", path, err)
	}
	if err := c.overlay(data, path, false); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Catalog) clone() *Catalog {
	d := *c
	d.Types = slices.Clone(c.Types)
	d.Tiers = slices.Clone(c.Tiers)
	d.live = &spotBook{}
	if c.live != nil {
		c.live.mu.RLock()
		d.live.m = maps.Clone(c.live.m)
		c.live.mu.RUnlock()
	}
	return &d
}

// The file layout. Pointers tell what a file sets from what it leaves alone.
type fileCatalog struct {
	Reference *fileRates           `yaml:"reference"`
	Local     *fileRates           `yaml:"local"`
	LogsTier  *string              `yaml:"logs_tier"`
	Tiers     map[string]*fileTier `yaml:"tiers"`
	Types     map[string]*fileType `yaml:"types"`
}

type fileRates struct {
	CoreHour *float64 `yaml:"core_hour"`
	GPUHour  *float64 `yaml:"gpu_hour"`
}

type fileTier struct {
	PerGBMonth  *float64 `yaml:"per_gb_month"`
	Description *string  `yaml:"description"`
	Source      *string  `yaml:"source"`
	Date        *string  `yaml:"date"`
	S3Class     *string  `yaml:"s3_class"`
}

type fileType struct {
	VCPUs    *float64 `yaml:"vcpus"` // whole numbers: checked, as yaml would truncate
	Mem      *string  `yaml:"mem"`
	GPUs     *float64 `yaml:"gpus"`
	GPUModel *string  `yaml:"gpu_model"`
	OnDemand *float64 `yaml:"on_demand"`
	Spot     *float64 `yaml:"spot"`
	Source   *string  `yaml:"source"`
	Date     *string  `yaml:"date"`
}

// unknownField is yaml's "field X not found", said as a key of the file.
var unknownField = regexp.MustCompile(`field (\S+) not found`)

// overlay applies the YAML document data (read from name) to c. builtin
// asks for the stricter checks of the built-in file: every price has its
// source and date.
func (c *Catalog) overlay(data []byte, name string, builtin bool) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("prices file %s: %s", name, fmt.Sprintf(format, a...))
	}
	var f fileCatalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: nothing changes
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		msg = strings.ReplaceAll(msg, "\n  ", "; ")
		msg = strings.ReplaceAll(msg, "\n", " ")
		for _, t := range []string{"fileCatalog", "fileType", "fileTier", "fileRates"} {
			msg = strings.ReplaceAll(msg, " in type cost."+t, "")
		}
		msg = unknownField.ReplaceAllString(msg, "unknown key $1")
		if strings.Contains(msg, "unknown key ") {
			msg += " (known keys: types, tiers, local, reference, logs_tier;" +
				" of a type: vcpus, mem, gpus, gpu_model, on_demand, spot, source, date;" +
				" of a tier: per_gb_month, description, source, date, s3_class;" +
				" of local and reference: core_hour, gpu_hour)"
		}
		return bad("%s: fix it, or move the file away to use the built-in prices", msg)
	}
	// A price given without its source comes from this file.
	source := func(s *string) string {
		if s != nil {
			return *s
		}
		return name
	}
	date := func(where string, s *string) (string, error) {
		if s == nil {
			return "", nil
		}
		if _, err := time.Parse(time.DateOnly, *s); err != nil {
			return "", bad("%s: date %q: write it as YYYY-MM-DD, e.g. 2025-01-31", where, *s)
		}
		return *s, nil
	}
	price := func(where, key string, v *float64) error {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
			return bad("%s: %s %v: give a price of 0 or more in US dollars", where, key, *v)
		}
		return nil
	}

	if r := f.Reference; r != nil {
		if err := price("reference", "core_hour", r.CoreHour); err != nil {
			return err
		}
		if err := price("reference", "gpu_hour", r.GPUHour); err != nil {
			return err
		}
		if r.CoreHour != nil {
			c.RefCoreHour = *r.CoreHour
		}
		if r.GPUHour != nil {
			c.RefGPUHour = *r.GPUHour
		}
	}
	if r := f.Local; r != nil {
		if err := price("local", "core_hour", r.CoreHour); err != nil {
			return err
		}
		if err := price("local", "gpu_hour", r.GPUHour); err != nil {
			return err
		}
		if r.CoreHour != nil || r.GPUHour != nil {
			c.Local = Rates{Configured: true}
			if r.CoreHour != nil {
				c.Local.CoreHour = *r.CoreHour
			}
			if r.GPUHour != nil {
				c.Local.GPUHour = *r.GPUHour
			}
		}
	}

	for _, n := range sortedKeys(f.Tiers) {
		ft := f.Tiers[n]
		where := fmt.Sprintf("tier %q", n)
		if !validName(n) {
			return bad("%s: a tier name is letters, digits, '.', '-' or '_'", where)
		}
		if ft == nil {
			ft = &fileTier{}
		}
		if err := price(where, "per_gb_month", ft.PerGBMonth); err != nil {
			return err
		}
		d, err := date(where, ft.Date)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(c.Tiers, func(t Tier) bool { return t.Name == n })
		if i < 0 {
			if ft.PerGBMonth == nil {
				return bad("%s: a new tier needs per_gb_month", where)
			}
			c.Tiers = append(c.Tiers, Tier{Name: n})
			i = len(c.Tiers) - 1
		}
		t := &c.Tiers[i]
		if ft.PerGBMonth != nil {
			t.PerGBMonth = *ft.PerGBMonth
			t.Source, t.Date = source(ft.Source), d
		} else {
			if ft.Source != nil {
				t.Source = *ft.Source
			}
			if ft.Date != nil {
				t.Date = d
			}
		}
		if ft.Description != nil {
			t.Description = *ft.Description
		}
		if ft.S3Class != nil {
			t.S3Class = *ft.S3Class
		}
		if builtin && (t.Source == "" || t.Date == "") {
			return bad("%s: give its source and date", where)
		}
	}

	for _, n := range sortedKeys(f.Types) {
		ft := f.Types[n]
		where := fmt.Sprintf("type %q", n)
		if !validName(n) {
			return bad("%s: a type name is letters, digits, '.', '-' or '_'", where)
		}
		if ft == nil {
			ft = &fileType{}
		}
		for _, p := range []struct {
			key string
			v   *float64
		}{{"on_demand", ft.OnDemand}, {"spot", ft.Spot}} {
			if err := price(where, p.key, p.v); err != nil {
				return err
			}
		}
		if ft.VCPUs != nil && (*ft.VCPUs < 1 || *ft.VCPUs != math.Trunc(*ft.VCPUs) || *ft.VCPUs > 1<<20) {
			return bad("%s: vcpus %v: give a whole number, 1 or more", where, *ft.VCPUs)
		}
		if ft.GPUs != nil && (*ft.GPUs < 0 || *ft.GPUs != math.Trunc(*ft.GPUs) || *ft.GPUs > 1<<20) {
			return bad("%s: gpus %v: give a whole number, 0 or more", where, *ft.GPUs)
		}
		var mem int64
		if ft.Mem != nil {
			m, err := parseMem(*ft.Mem)
			if err != nil {
				return bad("%s: %v", where, err)
			}
			mem = m
		}
		d, err := date(where, ft.Date)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(c.Types, func(t Type) bool { return t.Name == n })
		if i < 0 {
			if ft.VCPUs == nil || ft.Mem == nil || ft.OnDemand == nil {
				return bad("%s: a new type needs vcpus, mem and on_demand, e.g. {vcpus: 16, mem: 64G, on_demand: 0.80}", where)
			}
			c.Types = append(c.Types, Type{Name: n})
			i = len(c.Types) - 1
		}
		t := &c.Types[i]
		if ft.VCPUs != nil {
			t.VCPUs = int(*ft.VCPUs)
		}
		if ft.Mem != nil {
			t.MemBytes = mem
		}
		if ft.GPUs != nil {
			t.GPUs = int(*ft.GPUs)
		}
		if ft.GPUModel != nil {
			t.GPUModel = *ft.GPUModel
		}
		if ft.OnDemand != nil || ft.Spot != nil {
			if ft.OnDemand != nil {
				t.OnDemand = *ft.OnDemand
			}
			if ft.Spot != nil {
				t.Spot = *ft.Spot
			}
			t.Source, t.Date = source(ft.Source), d
		} else {
			if ft.Source != nil {
				t.Source = *ft.Source
			}
			if ft.Date != nil {
				t.Date = d
			}
		}
		if builtin && (t.Source == "" || t.Date == "") {
			return bad("%s: give its source and date", where)
		}
	}

	if f.LogsTier != nil {
		c.LogsTier = *f.LogsTier
	}
	if c.LogsTier == "" {
		c.LogsTier = "ssd"
	}
	if _, err := c.Tier(c.LogsTier); err != nil {
		return bad("logs_tier: %v", err)
	}
	c.sort()
	return nil
}

// sort puts types in family then size order, tiers most expensive first.
func (c *Catalog) sort() {
	slices.SortFunc(c.Types, compareTypes)
	slices.SortStableFunc(c.Tiers, func(a, b Tier) int {
		if a.PerGBMonth != b.PerGBMonth {
			if a.PerGBMonth > b.PerGBMonth {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

func compareTypes(a, b Type) int {
	if c := strings.Compare(a.family(), b.family()); c != 0 {
		return c
	}
	if a.VCPUs != b.VCPUs {
		return a.VCPUs - b.VCPUs
	}
	if a.OnDemand != b.OnDemand {
		if a.OnDemand < b.OnDemand {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Name, b.Name)
}

// parseMem parses a memory size with a unit ("8G", "0.5G", "512M").
func parseMem(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" || !strings.ContainsAny(strings.ToUpper(t), "KMGT") {
		return 0, fmt.Errorf("mem %q: give a size with a unit, e.g. 512M, 8G or 1T", s)
	}
	m, err := burst.ParseMem(t)
	if err != nil {
		return 0, fmt.Errorf("mem %q: give a size with a unit, e.g. 512M, 8G or 1T", s)
	}
	return m, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Type looks up the machine type name. An unknown name is an error that
// suggests the nearest known names.
func (c *Catalog) Type(name string) (Type, error) {
	t, err := byName(c.Types, func(t Type) string { return t.Name }, name, "machine type",
		func([]string) string { return "burst types lists them all" })
	if err != nil {
		return t, err
	}
	defer c.rlock()()
	return c.withLive(t), nil
}

// Tier looks up the storage tier name. An unknown name is an error that
// suggests the nearest known names and lists them all.
func (c *Catalog) Tier(name string) (Tier, error) {
	return byName(c.Tiers, func(t Tier) string { return t.Name }, name, "storage tier",
		func(names []string) string {
			if len(names) == 0 {
				return "no tiers are known"
			}
			return "tiers: " + strings.Join(names, ", ")
		})
}

// byName finds the item called name; an unknown name is an error that
// suggests the nearest names and ends with hint (given all the names).
func byName[T any](items []T, nameOf func(T) string, name, what string, hint func([]string) string) (T, error) {
	for _, it := range items {
		if nameOf(it) == name {
			return it, nil
		}
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = nameOf(it)
	}
	msg := fmt.Sprintf("unknown %s %q", what, name)
	if s := suggest.Nearest(name, names, 3); len(s) > 0 {
		msg += ": did you mean " + strings.Join(s, ", ") + "?"
	}
	var zero T
	return zero, errors.New(msg + " (" + hint(names) + ")")
}

// Fit is the cheapest type (by Price(spot), then by name) that holds res.
// ok is false when none does.
func (c *Catalog) Fit(res burst.Resources, spot bool) (Type, bool) {
	var best Type
	found := false
	defer c.rlock()()
	for _, t := range c.Types {
		t = c.withLive(t)
		if t.VCPUs < res.CPUs || t.MemBytes < res.MemBytes || t.GPUs < res.GPUs {
			continue
		}
		if !found || t.Price(spot) < best.Price(spot) || t.Price(spot) == best.Price(spot) && t.Name < best.Name {
			best, found = t, true
		}
	}
	return best, found
}

// LocalPrice prices a local or on-prem machine holding res, in $/h, and says
// on what basis: the configured local rates when there are some; else the
// shadow price of the cheapest type that fits ("shadow price of r5.large
// on-demand"); else, when nothing fits, the reference rates.
func (c *Catalog) LocalPrice(res burst.Resources, spot bool) (perHour float64, basis string) {
	cpus, gpus := float64(max(res.CPUs, 1)), float64(max(res.GPUs, 0))
	if c.Local.Configured {
		return cpus*c.Local.CoreHour + gpus*c.Local.GPUHour,
			fmt.Sprintf("local rates ($%s/core-hour, $%s/GPU-hour)", rate(c.Local.CoreHour), rate(c.Local.GPUHour))
	}
	if t, ok := c.Fit(res, spot); ok {
		kind := "on-demand"
		if spot && t.Spot > 0 {
			kind = "spot"
		}
		return t.Price(spot), fmt.Sprintf("shadow price of %s %s", t.Name, kind)
	}
	return cpus*c.RefCoreHour + gpus*c.RefGPUHour,
		fmt.Sprintf("reference rates ($%s/core-hour, $%s/GPU-hour)", rate(c.RefCoreHour), rate(c.RefGPUHour))
}

func rate(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// GPUShare is the fraction of the price of a machine with cpus vCPUs and
// gpus GPUs that is due to its GPUs, at the reference rates: 0 without GPUs.
// It weighs GPUs against CPUs when a machine's cost is split among tasks.
func (c *Catalog) GPUShare(cpus, gpus int) float64 {
	if gpus <= 0 {
		return 0
	}
	g := float64(gpus) * c.RefGPUHour
	total := float64(max(cpus, 0))*c.RefCoreHour + g
	if !(total > 0) {
		return 0
	}
	return clamp01(g / total)
}

// Filter lists the types, only those with GPUs when gpuOnly, sorted by
// family, then size.
func (c *Catalog) Filter(gpuOnly bool) []Type {
	var out []Type
	defer c.rlock()()
	for _, t := range c.Types {
		if !gpuOnly || t.GPUs > 0 {
			out = append(out, c.withLive(t))
		}
	}
	slices.SortFunc(out, compareTypes)
	return out
}
