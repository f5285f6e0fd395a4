package ec2standin

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/burst-sh/burst/internal/cost"
)

// Config is what the stand-in offers. The zero value of a field takes its
// default (Defaults); a JSON file of the same shape (LoadConfig) overrides
// what it names.
type Config struct {
	// The key pair every request must be signed with.
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	Account         string `json:"account"` // owner id of reservations and images

	Regions []string           `json:"regions"` // each has zones <region>a and <region>b
	Types   []TypeInfo         `json:"types"`   // offered in every region; default: burst's catalog
	Images  []Image            `json:"images"`
	Subnets []Subnet           `json:"subnets"` // default: one per zone
	Groups  []string           `json:"security_groups"`
	Quotas  map[string]float64 `json:"quotas"` // Service Quotas code -> value (vCPUs)
	// Spot prices; default: 30% of the type's on-demand price in zone a,
	// 32% in zone b, dated an hour before the stand-in started.
	SpotPrices []SpotPrice `json:"spot_prices"`

	BootDelay Duration `json:"boot_delay"` // pending before the user-data runs
	// ShutdownGrace is how long an instance's processes have between
	// SIGTERM and SIGKILL when it ends.
	ShutdownGrace Duration `json:"shutdown_grace"`
}

// TypeInfo is an instance type the stand-in offers.
type TypeInfo struct {
	Name     string  `json:"name"`
	VCPUs    int     `json:"vcpus"`
	MemMiB   int64   `json:"mem_mib"`
	GPUs     int     `json:"gpus"`
	GPUModel string  `json:"gpu_model"`
	Arch     string  `json:"arch"` // x86_64 (default) or arm64
	OnDemand float64 `json:"on_demand"`
}

// Image is an AMI.
type Image struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Arch  string `json:"arch"`  // x86_64 or arm64
	Owner string `json:"owner"` // default: Config.Account
}

// Subnet is a subnet in a zone.
type Subnet struct {
	ID   string `json:"id"`
	Zone string `json:"zone"`
}

// SpotPrice is one point of the spot price history.
type SpotPrice struct {
	Type  string    `json:"type"`
	Zone  string    `json:"zone"`
	Price string    `json:"price"` // $/h as EC2 writes it: "0.301800"
	Time  time.Time `json:"time"`
}

// Quota codes of Service Quotas the stand-in answers (ServiceCode ec2).
const (
	QuotaOnDemandStandard = "L-1216C47A" // running on-demand standard instances, vCPUs
	QuotaSpotStandard     = "L-34B43A08" // all standard spot instance requests, vCPUs
)

var quotaNames = map[string]string{
	QuotaOnDemandStandard: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
	QuotaSpotStandard:     "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests",
	"L-DB2E81BA":          "Running On-Demand G and VT instances",
	"L-3819A6DF":          "All G and VT Spot Instance Requests",
	"L-417A185B":          "Running On-Demand P instances",
	"L-7212CCBC":          "All P Spot Instance Requests",
}

// Duration is a time.Duration written as "2m" in JSON.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"2s\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadConfig reads a JSON config file over the defaults.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, err
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("ec2-standin (test double): config %s: %v", path, err)
		}
	}
	return c.withDefaults(time.Now())
}

// withDefaults fills what c leaves empty.
func (c Config) withDefaults(now time.Time) (Config, error) {
	if c.AccessKeyID == "" {
		c.AccessKeyID = "AKIASTANDIN000000000"
	}
	if c.SecretAccessKey == "" {
		c.SecretAccessKey = "standin/secret/key/of/the/ec2/test/double"
	}
	if c.Account == "" {
		c.Account = "000000000000"
	}
	if len(c.Regions) == 0 {
		c.Regions = []string{"us-east-1", "eu-west-2"}
	}
	if len(c.Types) == 0 {
		for _, t := range cost.Default().Types {
			c.Types = append(c.Types, TypeInfo{Name: t.Name, VCPUs: t.VCPUs, MemMiB: t.MemBytes >> 20, GPUs: t.GPUs, GPUModel: t.GPUModel, OnDemand: t.OnDemand})
		}
	}
	for i := range c.Types {
		if c.Types[i].Arch == "" {
			c.Types[i].Arch = "x86_64"
		}
	}
	if len(c.Images) == 0 {
		c.Images = []Image{
			{ID: "ami-0a000000000000001", Name: "standin-ubuntu-24.04-amd64", Arch: "x86_64"},
			{ID: "ami-0a000000000000002", Name: "standin-ubuntu-24.04-arm64", Arch: "arm64"},
		}
	}
	for i := range c.Images {
		if c.Images[i].Owner == "" {
			c.Images[i].Owner = c.Account
		}
	}
	if len(c.Subnets) == 0 {
		for ri, r := range c.Regions {
			for zi, z := range []string{"a", "b"} {
				c.Subnets = append(c.Subnets, Subnet{ID: fmt.Sprintf("subnet-0%016x", (ri+1)*16+zi), Zone: r + z})
			}
		}
	}
	if c.Quotas == nil {
		c.Quotas = map[string]float64{}
	}
	for code, v := range map[string]float64{QuotaOnDemandStandard: 256, QuotaSpotStandard: 256, "L-DB2E81BA": 64, "L-3819A6DF": 64, "L-417A185B": 128, "L-7212CCBC": 128} {
		if _, ok := c.Quotas[code]; !ok {
			c.Quotas[code] = v
		}
	}
	if len(c.SpotPrices) == 0 {
		at := now.Add(-time.Hour).UTC().Truncate(time.Second)
		for _, r := range c.Regions {
			for _, t := range c.Types {
				for z, share := range map[string]float64{"a": 0.30, "b": 0.32} {
					p := math.Round(t.OnDemand*share*1e6) / 1e6
					c.SpotPrices = append(c.SpotPrices, SpotPrice{Type: t.Name, Zone: r + z, Price: strconv.FormatFloat(p, 'f', 6, 64), Time: at})
				}
			}
		}
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(2 * time.Second)
	}
	for _, p := range c.SpotPrices {
		if _, err := strconv.ParseFloat(p.Price, 64); err != nil {
			return c, fmt.Errorf("ec2-standin (test double): spot price %q of %s in %s is not a number", p.Price, p.Type, p.Zone)
		}
	}
	return c, nil
}

// typeInfo is the offered type called name.
func (c *Config) typeInfo(name string) (TypeInfo, bool) {
	for _, t := range c.Types {
		if t.Name == name {
			return t, true
		}
	}
	return TypeInfo{}, false
}

func (c *Config) image(id string) (Image, bool) {
	for _, im := range c.Images {
		if im.ID == id {
			return im, true
		}
	}
	return Image{}, false
}

func (c *Config) hasRegion(r string) bool {
	for _, x := range c.Regions {
		if x == r {
			return true
		}
	}
	return false
}
