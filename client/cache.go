package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// CacheResult is what a cached task left: its outputs and where its logs
// are (burst's own log files, with the byte range that is its output). A
// task given it from the cache ends as that task ended.
type CacheResult struct {
	Outputs    []OutputFile `json:"outputs,omitempty"`
	Stdout     string       `json:"stdout_path,omitempty"`
	Stderr     string       `json:"stderr_path,omitempty"`
	StdoutFrom int64        `json:"stdout_from,omitempty"`
	StderrFrom int64        `json:"stderr_from,omitempty"`
	StdoutTo   int64        `json:"stdout_to,omitempty"`
	StderrTo   int64        `json:"stderr_to,omitempty"`
}

// CacheUse says whether a task of a job run with the cache was given an
// earlier result (a hit) or computed (a miss), and why
// (GET /v1/jobs/{id}/cache).
type CacheUse struct {
	Task     int     `json:"task"`
	Hit      bool    `json:"hit"`
	Why      string  `json:"why"`
	SavedUSD float64 `json:"saved_usd,omitempty"`
	// SavedNUSD is SavedUSD exactly, in nano-dollars: what the run whose
	// result a hit reused had cost.
	SavedNUSD int64 `json:"saved_nusd,omitempty"`
}

// CacheEntry is one result in the cache (GET /v1/cache).
type CacheEntry struct {
	Key       string    `json:"key"`
	Project   string    `json:"project"`
	Name      string    `json:"name"`
	Job       int64     `json:"job"`
	Task      int       `json:"task"`
	Outputs   int       `json:"outputs"`
	CostUSD   float64   `json:"cost_usd"`
	Hits      int64     `json:"hits"`
	SavedUSD  float64   `json:"saved_usd"`
	CostNUSD  int64     `json:"cost_nusd"`  // CostUSD exactly
	SavedNUSD int64     `json:"saved_nusd"` // SavedUSD exactly
	CreatedAt time.Time `json:"created_at"`
}

// CacheStats is a project's cache at a glance (GET /v1/cache/stats).
type CacheStats struct {
	Project  string  `json:"project"`
	Default  string  `json:"default"` // on or off: for staged jobs that say neither
	Entries  int     `json:"entries"`
	Hits     int64   `json:"hits"`
	Misses   int64   `json:"misses"`
	SavedUSD float64 `json:"saved_usd"`
	// SavedNUSD is SavedUSD exactly, in nano-dollars.
	SavedNUSD int64 `json:"saved_nusd"`
}

// CacheRemove is POST /v1/cache/rm: the entries of Keys (full keys or
// unique prefixes), or All of Project's.
type CacheRemove struct {
	Project string   `json:"project,omitempty"`
	Keys    []string `json:"keys,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// CacheRemoved says how many entries went.
type CacheRemoved struct {
	Removed int `json:"removed"`
}

// CacheDefault is PUT /v1/cache/default: a project's default (on, off).
type CacheDefault struct {
	Project string `json:"project"`
	Cache   string `json:"cache"`
}

// CacheUses lists the hits and misses of job id's tasks.
func (c *Client) CacheUses(ctx context.Context, id int64) ([]CacheUse, error) {
	var out []CacheUse
	return out, c.do(ctx, "GET", "/v1/jobs/"+strconv.FormatInt(id, 10)+"/cache", nil, &out)
}

// CacheList lists the cache's entries (of project, or of every project the
// caller may see).
func (c *Client) CacheList(ctx context.Context, project string) ([]CacheEntry, error) {
	var out []CacheEntry
	return out, c.do(ctx, "GET", "/v1/cache?"+url.Values{"project": {project}}.Encode(), nil, &out)
}

// CacheStats gives each project's figures (of project alone if set).
func (c *Client) CacheStats(ctx context.Context, project string) ([]CacheStats, error) {
	var out []CacheStats
	return out, c.do(ctx, "GET", "/v1/cache/stats?"+url.Values{"project": {project}}.Encode(), nil, &out)
}

// CacheRemove removes entries.
func (c *Client) CacheRemove(ctx context.Context, r CacheRemove) (*CacheRemoved, error) {
	var out CacheRemoved
	return &out, c.do(ctx, "POST", "/v1/cache/rm", r, &out)
}

// SetCacheDefault sets a project's default.
func (c *Client) SetCacheDefault(ctx context.Context, d CacheDefault) (*CacheStats, error) {
	var out CacheStats
	return &out, c.do(ctx, "PUT", "/v1/cache/default", d, &out)
}
