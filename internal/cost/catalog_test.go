package cost

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

const gib = int64(1) << 30

var required = []string{
	"m4.large", "m4.xlarge", "m4.2xlarge", "m4.4xlarge", "m4.10xlarge", "m4.16xlarge",
	"m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge", "m5.8xlarge", "m5.12xlarge", "m5.16xlarge", "m5.24xlarge",
	"c5.large", "c5.xlarge", "c5.2xlarge", "c5.4xlarge", "c5.9xlarge", "c5.12xlarge", "c5.18xlarge", "c5.24xlarge",
	"r5.large", "r5.xlarge", "r5.2xlarge", "r5.4xlarge", "r5.8xlarge", "r5.12xlarge", "r5.16xlarge", "r5.24xlarge",
	"t3.nano", "t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge", "t3.2xlarge",
	"t2.micro", "t2.small",
	"p3.2xlarge", "p3.8xlarge", "p3.16xlarge", "g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge", "g5.2xlarge", "p4d.24xlarge",
}

func TestDefault(t *testing.T) {
	c := Default()
	date := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	for _, name := range required {
		ty, err := c.Type(name)
		if err != nil {
			t.Errorf("Default() lacks %s: %v", name, err)
			continue
		}
		if ty.VCPUs < 1 || ty.MemBytes <= 0 || !(ty.OnDemand > 0) || ty.Spot < 0 {
			t.Errorf("%s: bad %+v", name, ty)
		}
		if ty.Source == "" || !date.MatchString(ty.Date) {
			t.Errorf("%s: source %q, date %q", name, ty.Source, ty.Date)
		}
		if ty.GPUs > 0 && ty.GPUModel == "" || ty.GPUs == 0 && ty.GPUModel != "" {
			t.Errorf("%s: %d GPUs of model %q", name, ty.GPUs, ty.GPUModel)
		}
	}
	for _, tc := range []struct {
		name     string
		price    float64
		vcpus    int
		mem      int64
		gpus     int
		gpuModel string
	}{
		{"m5.large", 0.096, 2, 8 * gib, 0, ""},
		{"c5.large", 0.085, 2, 4 * gib, 0, ""},
		{"r5.large", 0.126, 2, 16 * gib, 0, ""},
		{"t3.micro", 0.0104, 2, 1 * gib, 0, ""},
		{"t2.micro", 0.0116, 1, 1 * gib, 0, ""},
		{"m4.10xlarge", 2.0, 40, 160 * gib, 0, ""},
		{"p3.2xlarge", 3.06, 8, 61 * gib, 1, "V100"},
		{"g4dn.xlarge", 0.526, 4, 16 * gib, 1, "T4"},
		{"g5.xlarge", 1.006, 4, 16 * gib, 1, "A10G"},
		{"p4d.24xlarge", 32.7726, 96, 1152 * gib, 8, "A100"},
	} {
		ty, _ := c.Type(tc.name)
		if ty.OnDemand != tc.price || ty.VCPUs != tc.vcpus || ty.MemBytes != tc.mem || ty.GPUs != tc.gpus || ty.GPUModel != tc.gpuModel {
			t.Errorf("%s = %+v", tc.name, ty)
		}
	}
	for _, name := range []string{"ssd", "hot_hdd", "cold_hdd", "archive"} {
		tier, err := c.Tier(name)
		if err != nil || !(tier.PerGBMonth > 0) || tier.Source == "" || !date.MatchString(tier.Date) || tier.Description == "" {
			t.Errorf("tier %s = %+v, %v", name, tier, err)
		}
	}
	if ssd, _ := c.Tier("ssd"); ssd.PerGBMonth != 0.08 {
		t.Errorf("ssd = %v $/GB-month, want 0.08", ssd.PerGBMonth)
	}
	if c.Local.Configured || c.LogsTier != "ssd" || c.RefCoreHour != 0.0425 || c.RefGPUHour != 2.72 {
		t.Errorf("Default: local %+v, logs tier %q, reference %v/%v", c.Local, c.LogsTier, c.RefCoreHour, c.RefGPUHour)
	}
	// Names are unique and sorted by family, then size.
	names := map[string]bool{}
	for _, ty := range c.Types {
		if names[ty.Name] {
			t.Errorf("%s twice", ty.Name)
		}
		names[ty.Name] = true
	}
	if !slices.IsSortedFunc(c.Types, compareTypes) {
		t.Error("Types not sorted")
	}
	// Each call is a fresh copy.
	c.Types[0].OnDemand = 999
	c.Tiers[0].PerGBMonth = 999
	if d := Default(); d.Types[0].OnDemand == 999 || d.Tiers[0].PerGBMonth == 999 {
		t.Error("Default() shares its slices between calls")
	}
}

func TestTypeHelpers(t *testing.T) {
	ty := Type{Name: "x.large", VCPUs: 4, MemBytes: 16 * gib, GPUs: 1, OnDemand: 1, Spot: 0.3}
	if ty.Price(false) != 1 || ty.Price(true) != 0.3 {
		t.Errorf("Price = %v, %v", ty.Price(false), ty.Price(true))
	}
	ty.Spot = 0
	if ty.Price(true) != 1 {
		t.Errorf("Price(spot) without a spot offer = %v, want on-demand", ty.Price(true))
	}
	if r := ty.Resources(); r != (burst.Resources{CPUs: 4, MemBytes: 16 * gib, GPUs: 1}) {
		t.Errorf("Resources = %+v", r)
	}
}

func TestTypeSuggestions(t *testing.T) {
	c := Default()
	for _, tc := range []struct{ in, want string }{
		{"c5.xlarg", `unknown machine type "c5.xlarg": did you mean c5.xlarge, c5.large, c5.2xlarge? (burst types lists them all)`},
		{"m5.larg", `unknown machine type "m5.larg": did you mean m5.large`},
		{"M5.LARGE", `did you mean m5.large?`},
		{"p3", `did you mean p3.2xlarge, p3.8xlarge, p3.16xlarge?`},
		{"g4dn.xlarg", `did you mean g4dn.xlarge`},
		{"zzzzzzzzzz", `unknown machine type "zzzzzzzzzz" (burst types lists them all)`},
		{"", `unknown machine type "" (burst types lists them all)`},
	} {
		_, err := c.Type(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Type(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	_, err := c.Tier("sdd")
	if want := `unknown storage tier "sdd": did you mean ssd? (tiers: ssd, hot_hdd, cold_hdd, archive)`; err == nil || err.Error() != want {
		t.Errorf("Tier(sdd) = %v, want %s", err, want)
	}
	_, err = c.Tier("tape")
	if want := `unknown storage tier "tape" (tiers: ssd, hot_hdd, cold_hdd, archive)`; err == nil || err.Error() != want {
		t.Errorf("Tier(tape) = %v, want %s", err, want)
	}
}

func TestFit(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name string
		res  burst.Resources
		spot bool
		want string
	}{
		{"nothing asked", burst.Resources{}, false, "t3.nano"},
		{"one cpu", burst.Resources{CPUs: 1}, false, "t3.nano"},
		{"memory", burst.Resources{CPUs: 2, MemBytes: 16 * gib}, false, "r5.large"},
		{"cpus", burst.Resources{CPUs: 36, MemBytes: 64 * gib}, false, "c5.9xlarge"},
		{"one gpu", burst.Resources{CPUs: 1, GPUs: 1}, false, "g4dn.xlarge"},
		{"gpu and memory", burst.Resources{CPUs: 8, MemBytes: 48 * gib, GPUs: 1}, false, "p3.2xlarge"},
		{"eight gpus", burst.Resources{GPUs: 8}, false, "p3.16xlarge"},
		{"eight gpus, much memory", burst.Resources{GPUs: 8, MemBytes: 1000 * gib}, false, "p4d.24xlarge"},
		{"spot without offers", burst.Resources{CPUs: 2, MemBytes: 16 * gib}, true, "r5.large"},
	} {
		got, ok := c.Fit(tc.res, tc.spot)
		if !ok || got.Name != tc.want {
			t.Errorf("%s: Fit(%+v) = %s, %v; want %s", tc.name, tc.res, got.Name, ok, tc.want)
		}
	}
	if got, ok := c.Fit(burst.Resources{CPUs: 1000}, false); ok {
		t.Errorf("Fit(1000 CPUs) = %s, want none", got.Name)
	}
	// Spot prices count when asked for; ties go by name.
	c = &Catalog{Types: []Type{
		{Name: "b.big", VCPUs: 8, MemBytes: 32 * gib, OnDemand: 1.0, Spot: 0.2},
		{Name: "a.small", VCPUs: 4, MemBytes: 16 * gib, OnDemand: 0.5, Spot: 0.3},
		{Name: "a.same", VCPUs: 4, MemBytes: 16 * gib, OnDemand: 0.5},
	}}
	if got, _ := c.Fit(burst.Resources{CPUs: 2}, false); got.Name != "a.same" {
		t.Errorf("Fit on-demand = %s, want a.same (tie by name)", got.Name)
	}
	if got, _ := c.Fit(burst.Resources{CPUs: 2}, true); got.Name != "b.big" {
		t.Errorf("Fit spot = %s, want b.big", got.Name)
	}
}

func TestLocalPrice(t *testing.T) {
	c := Default()
	p, basis := c.LocalPrice(burst.Resources{CPUs: 2, MemBytes: 16 * gib}, false)
	if p != 0.126 || basis != "shadow price of r5.large on-demand" {
		t.Errorf("shadow: %v %q", p, basis)
	}
	p, basis = c.LocalPrice(burst.Resources{CPUs: 2, MemBytes: 16 * gib}, true)
	if p != 0.126 || basis != "shadow price of r5.large on-demand" {
		t.Errorf("shadow, spot asked but not offered: %v %q", p, basis)
	}
	c.Types = append(c.Types, Type{Name: "r5.cheap", VCPUs: 2, MemBytes: 16 * gib, OnDemand: 0.2, Spot: 0.05})
	p, basis = c.LocalPrice(burst.Resources{CPUs: 2, MemBytes: 16 * gib}, true)
	if p != 0.05 || basis != "shadow price of r5.cheap spot" {
		t.Errorf("shadow spot: %v %q", p, basis)
	}
	p, basis = c.LocalPrice(burst.Resources{CPUs: 512, GPUs: 2}, false)
	if want := 512*0.0425 + 2*2.72; abs(p-want) > 1e-9 || !strings.HasPrefix(basis, "reference rates") {
		t.Errorf("reference: %v %q, want %v", p, basis, want)
	}
	c.Local = Rates{CoreHour: 0.01, GPUHour: 0.5, Configured: true}
	p, basis = c.LocalPrice(burst.Resources{CPUs: 8, GPUs: 2}, false)
	if p != 8*0.01+2*0.5 || basis != "local rates ($0.01/core-hour, $0.5/GPU-hour)" {
		t.Errorf("configured: %v %q", p, basis)
	}
	p, _ = c.LocalPrice(burst.Resources{}, false)
	if p != 0.01 {
		t.Errorf("configured, no CPUs asked: %v, want one core's rate", p)
	}
	c.Local = Rates{Configured: true}
	if p, _ = c.LocalPrice(burst.Resources{CPUs: 8}, false); p != 0 {
		t.Errorf("free: %v", p)
	}
}

func TestGPUShare(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		cpus, gpus int
		want       float64
	}{
		{8, 0, 0},
		{8, 1, 2.72 / (8*0.0425 + 2.72)},
		{0, 1, 1},
		{96, 8, 8 * 2.72 / (96*0.0425 + 8*2.72)},
	} {
		if got := c.GPUShare(tc.cpus, tc.gpus); abs(got-tc.want) > 1e-12 {
			t.Errorf("GPUShare(%d, %d) = %v, want %v", tc.cpus, tc.gpus, got, tc.want)
		}
	}
	if got := (&Catalog{}).GPUShare(4, 1); got != 0 {
		t.Errorf("GPUShare without reference rates = %v, want 0", got)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestFilter(t *testing.T) {
	c := Default()
	all := c.Filter(false)
	if len(all) != len(c.Types) || len(all) < len(required) {
		t.Errorf("Filter(false) has %d types, catalog %d", len(all), len(c.Types))
	}
	gpu := c.Filter(true)
	var names []string
	for _, ty := range gpu {
		if ty.GPUs == 0 {
			t.Errorf("Filter(true) has %s without GPUs", ty.Name)
		}
		names = append(names, ty.Name)
	}
	want := "g4dn.xlarge g4dn.2xlarge g5.xlarge g5.2xlarge p3.2xlarge p3.8xlarge p3.16xlarge p4d.24xlarge"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Filter(true) = %s, want %s", got, want)
	}
	var m5 []string
	for _, ty := range all {
		if strings.HasPrefix(ty.Name, "m5.") {
			m5 = append(m5, ty.Name)
		}
	}
	if got := strings.Join(m5, " "); got != "m5.large m5.xlarge m5.2xlarge m5.4xlarge m5.8xlarge m5.12xlarge m5.16xlarge m5.24xlarge" {
		t.Errorf("m5 order: %s", got)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prices.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMissingAndEmpty(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err != nil || len(c.Types) != len(Default().Types) {
		t.Fatalf("Load(missing) = %v", err)
	}
	for _, text := range []string{"", "# only a comment\n", "---\n"} {
		c, err = Load(writeFile(t, text))
		if err != nil || len(c.Types) != len(Default().Types) || c.LogsTier != "ssd" {
			t.Errorf("Load(%q) = %v", text, err)
		}
	}
	// A directory cannot be read: an error naming it.
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(dir) = %v", err)
	}
}

func TestLoadOverrides(t *testing.T) {
	path := writeFile(t, `
types:
  m5.large: {on_demand: 0.09, spot: 0.035}
  c5.large: {spot: 0.03, source: "my notes", date: 2026-01-15}
  lab.node:
    vcpus: 64
    mem: 512G
    gpus: 4
    gpu_model: A100
    on_demand: 3.20
    date: "2026-02-01"
tiers:
  ssd: {per_gb_month: 0.1}
  nfs: {per_gb_month: 0.02, description: "lab NFS"}
local:
  core_hour: 0
reference:
  gpu_hour: 2.5
logs_tier: nfs
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m5, _ := c.Type("m5.large")
	if m5.OnDemand != 0.09 || m5.Spot != 0.035 || m5.Source != path || m5.Date != "" || m5.VCPUs != 2 || m5.MemBytes != 8*gib {
		t.Errorf("m5.large = %+v", m5)
	}
	c5, _ := c.Type("c5.large")
	if c5.OnDemand != 0.085 || c5.Spot != 0.03 || c5.Source != "my notes" || c5.Date != "2026-01-15" {
		t.Errorf("c5.large = %+v", c5)
	}
	lab, err := c.Type("lab.node")
	if err != nil || lab.VCPUs != 64 || lab.MemBytes != 512*gib || lab.GPUs != 4 || lab.GPUModel != "A100" ||
		lab.OnDemand != 3.2 || lab.Source != path || lab.Date != "2026-02-01" {
		t.Errorf("lab.node = %+v, %v", lab, err)
	}
	if !slices.IsSortedFunc(c.Types, compareTypes) {
		t.Error("Types not sorted after Load")
	}
	ssd, _ := c.Tier("ssd")
	if ssd.PerGBMonth != 0.1 || ssd.Description == "" || ssd.Source != path {
		t.Errorf("ssd = %+v", ssd)
	}
	nfs, err := c.Tier("nfs")
	if err != nil || nfs.PerGBMonth != 0.02 || nfs.Description != "lab NFS" {
		t.Errorf("nfs = %+v, %v", nfs, err)
	}
	if c.Local != (Rates{CoreHour: 0, GPUHour: 0, Configured: true}) {
		t.Errorf("Local = %+v, want configured and free", c.Local)
	}
	if p, basis := c.LocalPrice(burst.Resources{CPUs: 8, GPUs: 1}, false); p != 0 || !strings.HasPrefix(basis, "local rates") {
		t.Errorf("LocalPrice = %v %q", p, basis)
	}
	if c.RefGPUHour != 2.5 || c.RefCoreHour != 0.0425 || c.LogsTier != "nfs" {
		t.Errorf("reference %v/%v, logs tier %q", c.RefCoreHour, c.RefGPUHour, c.LogsTier)
	}
	// The default is untouched.
	if d, _ := Default().Type("m5.large"); d.OnDemand != 0.096 {
		t.Errorf("Load changed Default: %+v", d)
	}

	c, err = Load(writeFile(t, "local: {core_hour: 0.02, gpu_hour: 0.4}\n"))
	if err != nil || c.Local != (Rates{CoreHour: 0.02, GPUHour: 0.4, Configured: true}) {
		t.Errorf("local rates: %+v, %v", c.Local, err)
	}
	// Only where a price comes from, without changing it.
	c, err = Load(writeFile(t, "types:\n  m5.large: {source: checked, date: 2026-04-01}\ntiers:\n  ssd: {source: checked, date: 2026-04-01}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m5, _ := c.Type("m5.large"); m5.OnDemand != 0.096 || m5.Source != "checked" || m5.Date != "2026-04-01" {
		t.Errorf("m5.large = %+v", m5)
	}
	if ssd, _ := c.Tier("ssd"); ssd.PerGBMonth != 0.08 || ssd.Source != "checked" || ssd.Date != "2026-04-01" {
		t.Errorf("ssd = %+v", ssd)
	}
	c, err = Load(writeFile(t, "local: {}\n"))
	if err != nil || c.Local.Configured {
		t.Errorf("empty local section: %+v, %v", c.Local, err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown top key", "prices: {}\n", `line 1: unknown key prices (known keys: types, tiers`},
		{"unknown type key", "types:\n  m5.large: {price: 1}\n", `line 2: unknown key price (known keys`},
		{"two errors", "prices: 1\nlocal: {cores: 1}\n", `line 1: unknown key prices; line 2: unknown key cores (known keys`},
		{"unknown local key", "local: {cores: 1}\n", `unknown key cores (known keys: types, tiers, local, reference, logs_tier; of a type: vcpus, mem, gpus, gpu_model, on_demand, spot, source, date; of a tier: per_gb_month, description, source, date, s3_class; of local and reference: core_hour, gpu_hour): fix it, or move the file away to use the built-in prices`},
		{"broken yaml", "types: [\n", `did not find expected node content`},
		{"bad indentation", "types:\n  m5.large:\n on_demand: 1\n", `line`},
		{"wrong kind", "types:\n  m5.large: {on_demand: cheap}\n", `cannot unmarshal`},
		{"negative price", "types:\n  m5.large: {on_demand: -1}\n", `type "m5.large": on_demand -1: give a price of 0 or more in US dollars`},
		{"nan price", "types:\n  m5.large: {spot: .nan}\n", `spot NaN: give a price of 0 or more`},
		{"negative rate", "local: {core_hour: -0.1}\n", `local: core_hour -0.1`},
		{"negative reference", "reference: {gpu_hour: -1}\n", `reference: gpu_hour -1`},
		{"negative tier", "tiers:\n  ssd: {per_gb_month: -1}\n", `tier "ssd": per_gb_month -1`},
		{"incomplete new type", "types:\n  lab.node: {vcpus: 8}\n", `type "lab.node": a new type needs vcpus, mem and on_demand`},
		{"empty new type", "types:\n  lab.node:\n", `a new type needs`},
		{"new tier without price", "tiers:\n  nfs: {description: x}\n", `tier "nfs": a new tier needs per_gb_month`},
		{"memory without unit", "types:\n  lab.node: {vcpus: 8, mem: 64, on_demand: 1}\n", `mem "64": give a size with a unit, e.g. 512M, 8G or 1T`},
		{"memory garbage", "types:\n  lab.node: {vcpus: 8, mem: lots, on_demand: 1}\n", `mem "lots"`},
		{"zero vcpus", "types:\n  lab.node: {vcpus: 0, mem: 8G, on_demand: 1}\n", `vcpus 0: give a whole number, 1 or more`},
		{"fractional vcpus", "types:\n  m5.large: {vcpus: 1.5}\n", `vcpus 1.5: give a whole number`},
		{"negative gpus", "types:\n  lab.node: {vcpus: 1, gpus: -1, mem: 8G, on_demand: 1}\n", `gpus -1: give a whole number, 0 or more`},
		{"bad date", "types:\n  m5.large: {on_demand: 1, date: last week}\n", `date "last week": write it as YYYY-MM-DD`},
		{"bad name", "types:\n  \"my node\": {vcpus: 1, mem: 1G, on_demand: 1}\n", `type "my node": a type name is`},
		{"unknown logs tier", "logs_tier: sdd\n", `logs_tier: unknown storage tier "sdd": did you mean ssd?`},
	} {
		path := writeFile(t, tc.text)
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: Load succeeded", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q, want it to name %s and contain %q", tc.name, msg, path, tc.want)
		}
		if strings.Contains(msg, "cost.file") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q shows internals", tc.name, msg)
		}
	}
}

func TestBuiltinChecks(t *testing.T) {
	// The built-in file must give every price its source and date.
	c := &Catalog{}
	err := c.overlay([]byte("tiers:\n  ssd: {per_gb_month: 0.08}\ntypes:\n  a.b: {vcpus: 1, mem: 1G, on_demand: 1, date: \"2025-01-01\"}\n"), "test", true)
	if err == nil || !strings.Contains(err.Error(), "give its source and date") {
		t.Errorf("overlay without source = %v", err)
	}
	err = c.overlay([]byte("tiers:\n  ssd: {per_gb_month: 0.08, source: x, date: \"2025-01-01\"}\ntypes:\n  a.b: {vcpus: 1, mem: 1G, on_demand: 1, source: x}\n"), "test", true)
	if err == nil || !strings.Contains(err.Error(), `type "a.b": give its source and date`) {
		t.Errorf("overlay without date = %v", err)
	}
	if _, err := defaultCatalog(); err != nil {
		t.Fatalf("built-in prices.yaml is broken: %v", err)
	}
}

// A spot price set at runtime is what Type, Filter and Fit answer with,
// dated and sourced; an unknown type or a bad price is refused; copies
// made before do not change.
func TestSetSpot(t *testing.T) {
	c := Default()
	before := c.clone()
	at := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	p := SpotPrice{USD: 0.0123, Zone: "eu-west-2a", At: at, Source: "aws DescribeSpotPriceHistory eu-west-2"}
	if err := c.SetSpot("m5.large", p); err != nil {
		t.Fatal(err)
	}
	ty, err := c.Type("m5.large")
	if err != nil || ty.Spot != 0.0123 || ty.SpotZone != "eu-west-2a" || !ty.SpotAt.Equal(at) || ty.SpotSource != p.Source || ty.Price(true) != 0.0123 {
		t.Errorf("Type after SetSpot: %+v %v", ty, err)
	}
	if fit, ok := c.Fit(burst.Resources{CPUs: 2, MemBytes: 8 << 30}, true); !ok || fit.Name != "m5.large" {
		t.Errorf("Fit on spot: %v %v, want m5.large at its new spot price", fit.Name, ok)
	}
	found := false
	for _, ft := range c.Filter(false) {
		if ft.Name == "m5.large" {
			found = ft.Spot == 0.0123
		}
	}
	if !found {
		t.Error("Filter does not show the spot price set")
	}
	if old, _ := before.Type("m5.large"); old.Spot == 0.0123 {
		t.Error("a catalog cloned before changed")
	}
	if err := c.SetSpot("m5.lage", p); err == nil || !strings.Contains(err.Error(), "m5.large") {
		t.Errorf("unknown type: %v", err)
	}
	if err := c.SetSpot("m5.large", SpotPrice{USD: -1, At: at, Source: "x"}); err == nil {
		t.Error("a negative price was kept")
	}
	if err := c.SetSpot("m5.large", SpotPrice{USD: 1}); err == nil {
		t.Error("a price without time and source was kept")
	}
}
