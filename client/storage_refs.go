package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// StoredBlob is one blob a project holds as one kind (GET
// /v1/storage/blobs): charged once on Tier, however many jobs reference
// it.
type StoredBlob struct {
	Project   string    `json:"project"`
	Kind      string    `json:"kind"`
	Digest    string    `json:"digest"`
	Size      int64     `json:"size"`
	Tier      string    `json:"tier"`
	Location  string    `json:"location"` // where its bytes are: embedded, s3://bucket/prefix
	Jobs      []int64   `json:"jobs"`     // jobs that reference it; 0: the project itself
	CreatedAt time.Time `json:"created_at"`
}

// TierTotal is what a project keeps on one tier, and what that costs.
type TierTotal struct {
	Project       string  `json:"project"`
	Tier          string  `json:"tier"`
	Bytes         int64   `json:"bytes"`
	USDPerGBMonth float64 `json:"usd_per_gb_month"`
	USDPerMonth   float64 `json:"usd_per_month"`
	StorageClass  string  `json:"s3_class,omitempty"`
}

// StorageList is GET /v1/storage/blobs: the blobs that match, and every
// listed project's storage per tier (all of it, not only what matched).
type StorageList struct {
	Blobs  []StoredBlob  `json:"blobs"`
	Totals []TierTotal   `json:"totals"`
	Rules  []StorageRule `json:"rules"`
}

// StorageQuery narrows a StorageList; zero fields match everything.
type StorageQuery struct {
	Project, Kind, Tier string
	Job                 int64
	NoBlobs             bool // totals and rules only
}

// StorageBlobs lists the blobs of the projects the caller may read.
func (c *Client) StorageBlobs(ctx context.Context, q StorageQuery) (*StorageList, error) {
	v := url.Values{}
	for k, s := range map[string]string{"project": q.Project, "kind": q.Kind, "tier": q.Tier} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Job > 0 {
		v.Set("job", strconv.FormatInt(q.Job, 10))
	}
	if q.NoBlobs {
		v.Set("blobs", "none")
	}
	var out StorageList
	return &out, c.do(ctx, "GET", "/v1/storage/blobs?"+v.Encode(), nil, &out)
}

// StorageChange is what a removal or a move did to one blob of a project.
type StorageChange struct {
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	From   string `json:"from"`
	To     string `json:"to,omitempty"` // "" for a blob the project no longer holds
}

// StorageEdit is POST /v1/storage/rm and /v1/storage/tier: what to remove
// or move, of one project. One of Digests, Job, OlderThanS, All is set.
type StorageEdit struct {
	Project    string   `json:"project"`
	Digests    []string `json:"digests,omitempty"`
	Job        int64    `json:"job,omitempty"`
	OlderThanS int64    `json:"older_than_s,omitempty"`
	All        bool     `json:"all,omitempty"`
	To         string   `json:"to,omitempty"` // the tier (tier only)
	DryRun     bool     `json:"dry_run,omitempty"`
}

// StorageEdited is what a StorageEdit did (or would do, on a dry run).
type StorageEdited struct {
	Changes []StorageChange `json:"changes"`
	Deleted []string        `json:"deleted"` // digests no project holds any more, deleted from the store
	DryRun  bool            `json:"dry_run,omitempty"`
}

// StorageRemove drops a project's references; blobs nobody holds then are
// deleted from the store.
func (c *Client) StorageRemove(ctx context.Context, e StorageEdit) (*StorageEdited, error) {
	var out StorageEdited
	return &out, c.do(ctx, "POST", "/v1/storage/rm", e, &out)
}

// StorageTier moves a project's blobs to another tier.
func (c *Client) StorageTier(ctx context.Context, e StorageEdit) (*StorageEdited, error) {
	var out StorageEdited
	return &out, c.do(ctx, "POST", "/v1/storage/tier", e, &out)
}

// StorageRule is a project's lifecycle rule: its blobs move to tier
// Action, or are deleted (Action "delete"), AfterS seconds after they were
// first referenced.
type StorageRule struct {
	Project string     `json:"project"`
	Action  string     `json:"action"`
	AfterS  int64      `json:"after_s"`
	SetBy   string     `json:"set_by,omitempty"`
	SetAt   *time.Time `json:"set_at,omitempty"`
}

// Words is the rule as `burst storage rule` takes it: "to cold_hdd after
// 30d", "delete after 90d".
func (r StorageRule) Words() string {
	age := FormatAge(time.Duration(r.AfterS) * time.Second)
	if r.Action == "delete" {
		return "delete after " + age
	}
	return "to " + r.Action + " after " + age
}

// SetStorageRule sets one of a project's lifecycle rules (its owner, or an
// admin); AfterS 0 removes the project's rule of that action (or all of
// its rules when Action is "").
func (c *Client) SetStorageRule(ctx context.Context, r StorageRule) ([]StorageRule, error) {
	var out []StorageRule
	return out, c.do(ctx, "PUT", "/v1/storage/rules", r, &out)
}

// ParseAge reads an age as people write it: 30d, 12h, 90m, 45s (or a Go
// duration, 1h30m).
func ParseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.ParseFloat(n, 64); err == nil && d > 0 {
			return time.Duration(d * 24 * float64(time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("age %q: use a number with d, h, m or s, e.g. 30d or 12h", s)
}

// FormatAge writes an age as ParseAge reads it, in its largest whole unit.
func FormatAge(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
