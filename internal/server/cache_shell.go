package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/cache"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// The result cache, the shell's part: loading it at start, and the API's
// listings and edits (docs/cache.md). Rules live in cache.go.

// loadCache reads the cache's entries into memory, before jobs are
// restored.
func (s *Server) loadCache(ctx context.Context) error {
	st, err := s.st.LoadCache(ctx)
	if err != nil {
		return err
	}
	tally, err := s.st.CacheTally(ctx)
	if err != nil {
		return fmt.Errorf("load cache: %w", err)
	}
	shared := make(map[string]cache.Parts, len(st.Shared))
	for d, raw := range st.Shared {
		var p cache.Parts
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("load cache: shared parts %s: %w", d, err)
		}
		shared[d] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.control.cache.init()
	for p, v := range st.Defaults {
		s.control.cache.defaults[p] = v
	}
	for p, t := range tally {
		s.control.cache.saved[p] = cacheSaved{t.Hits, t.SavedNUSD}
	}
	for _, row := range st.Entries {
		e := &cacheEntry{row: *row, shared: shared[row.Shared]}
		if err := json.Unmarshal(row.Parts, &e.own); err != nil {
			return fmt.Errorf("load cache entry %s: %w", row.Key, err)
		}
		s.control.cacheAdd(e)
	}
	return nil
}

// forgetBlobs drops the cache entries whose outputs were deleted from the
// blob store.
func (s *Server) forgetBlobs(digests []string) {
	if len(digests) == 0 {
		return
	}
	s.mu.Lock()
	var b batch
	s.control.cacheForget(digests, &b)
	s.apply(&b) // unlocks
}

// CacheUses lists job's hits and misses.
func (s *Server) CacheUses(ctx context.Context, job int64) ([]client.CacheUse, error) {
	return s.st.CacheUses(ctx, job)
}

// CacheList lists the entries of project (or of every project the caller
// sees), newest first.
func (s *Server) CacheList(ctx context.Context, project string) ([]client.CacheEntry, error) {
	p := auth.From(ctx)
	var out []client.CacheEntry
	s.mu.Lock()
	for _, e := range s.control.cache.entries {
		r := e.row
		if project != "" && r.Project != project || !auth.Sees(p, r.Project) {
			continue
		}
		out = append(out, client.CacheEntry{Key: r.Key, Project: r.Project, Name: r.Name, Job: r.Job, Task: r.Task,
			Outputs: len(r.Result.Outputs), CostUSD: cost.NUSD(r.CostNUSD).Dollars(), Hits: r.Hits,
			SavedUSD: cost.NUSD(r.SavedNUSD).Dollars(), CostNUSD: r.CostNUSD, SavedNUSD: r.SavedNUSD, CreatedAt: r.CreatedAt})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, k int) bool {
		if !out[i].CreatedAt.Equal(out[k].CreatedAt) {
			return out[i].CreatedAt.After(out[k].CreatedAt)
		}
		return out[i].Key < out[k].Key
	})
	return out, nil
}

// CacheStats gives, per project the caller sees (or project alone), its
// entries, hits, misses and the money hits saved.
func (s *Server) CacheStats(ctx context.Context, project string) ([]client.CacheStats, error) {
	tally, err := s.st.CacheTally(ctx)
	if err != nil {
		return nil, err
	}
	p := auth.From(ctx)
	s.mu.Lock()
	for _, e := range s.control.cache.entries {
		st := tally[e.row.Project]
		if st == nil {
			st = &client.CacheStats{Project: e.row.Project}
			tally[e.row.Project] = st
		}
		st.Entries++
	}
	for name, v := range s.control.cache.defaults {
		if tally[name] == nil {
			tally[name] = &client.CacheStats{Project: name}
		}
		tally[name].Default = v
	}
	s.mu.Unlock()
	if project != "" && tally[project] == nil {
		tally[project] = &client.CacheStats{Project: project}
	}
	var out []client.CacheStats
	for name, st := range tally {
		if project != "" && name != project || !auth.Sees(p, name) {
			continue
		}
		if st.Default == "" {
			st.Default = burst.CacheOff
		}
		out = append(out, *st)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Project < out[k].Project })
	return out, nil
}

// CacheRemove removes entries of r.Project: those whose key begins with
// one of r.Keys, or all.
func (s *Server) CacheRemove(ctx context.Context, actor string, r *client.CacheRemove) (*client.CacheRemoved, error) {
	if !r.All && len(r.Keys) == 0 {
		return nil, badRequest("name the entries to remove (keys from `burst cache ls`), or give --all")
	}
	if err := s.refuseWrite(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	keys := s.control.cacheRemove(r.Project, r.All, r.Keys, &b)
	if len(keys) == 0 {
		s.mu.Unlock()
		return nil, badRequest("no cache entry of project %s matches: see `burst cache ls --project %s`", r.Project, r.Project)
	}
	b.event(eventAt(now, actor, "cache.rm", r.Project, "project "+r.Project, fmt.Sprintf("%s removed from the cache", burst.Plural(len(keys), "result"))))
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	return &client.CacheRemoved{Removed: len(keys)}, nil
}

// SetCacheDefault sets whether project's staged jobs that say neither
// --cache nor --no-cache use the cache.
func (s *Server) SetCacheDefault(ctx context.Context, actor string, d *client.CacheDefault) (*client.CacheStats, error) {
	if d.Cache != burst.CacheOn && d.Cache != burst.CacheOff {
		return nil, badRequest("--cache %q: give on or off", d.Cache)
	}
	if err := s.hasProject(d.Project); err != nil {
		return nil, err
	}
	s.mu.Lock()
	now := time.Now().UTC()
	s.control.cache.init()
	s.control.cache.defaults[d.Project] = d.Cache
	var b batch
	project, v := d.Project, d.Cache
	b.cacheWrite(func(tx *store.Tx) error { return store.SetCacheDefault(tx, project, v) })
	b.event(eventAt(now, actor, "cache.default", project, "project "+project, "the cache is "+v+" by default for staged jobs"))
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	st, err := s.CacheStats(ctx, project)
	if err != nil || len(st) == 0 {
		return &client.CacheStats{Project: project, Default: v}, err
	}
	return &st[0], nil
}
