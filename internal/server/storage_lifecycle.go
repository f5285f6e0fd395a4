package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/blob"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// Lifecycle rules (docs/storage.md): a project's blobs move to a cheaper
// tier, or are deleted, an age after they were first referenced. The
// server's storage loop reads a snapshot (the blobs of projects with
// rules, the rules, now), asks lifecycle what to do, and does it the way
// `burst storage tier` and `burst storage rm` do, each with its audit
// event (actor "lifecycle").

// lifecycleTick is how often rules are applied: an age is reached within
// one tick.
const lifecycleTick = 5 * time.Second

// lifecycleAct is one thing a rule does: move a project's digest to To,
// or delete it (To "").
type lifecycleAct struct {
	Project, Digest, To string
	Rule                store.StorageRule
}

// lifecycle is what rules do to blobs at now: per project and digest, the
// delete rule once its age is reached (not for an input of a job not yet
// ended: its turn comes once the job ends), else the tier rule of the
// greatest age reached, when that tier is cheaper than where the blob is
// (a rule never moves a blob to a dearer tier). Pure: no clock, no store.
func lifecycle(blobs []store.StoredBlob, rules []store.StorageRule, tiers []cost.Tier, now time.Time) []lifecycleAct {
	price := map[string]float64{}
	for _, t := range tiers {
		price[t.Name] = t.PerGBMonth
	}
	byProject := map[string][]store.StorageRule{}
	for _, r := range rules {
		byProject[r.Project] = append(byProject[r.Project], r)
	}
	type key struct{ project, digest string }
	seen := map[key]bool{}
	live := map[key]bool{}
	for _, b := range blobs {
		if b.LiveJob > 0 {
			live[key{b.Project, b.Digest}] = true
		}
	}
	var out []lifecycleAct
	for _, b := range blobs {
		k := key{b.Project, b.Digest}
		rs := byProject[b.Project]
		if seen[k] || len(rs) == 0 {
			continue
		}
		seen[k] = true
		age := now.Sub(b.CreatedAt)
		var del, move *store.StorageRule
		for i := range rs {
			r := &rs[i]
			if age < r.After {
				continue
			}
			if r.Action == store.RuleDelete {
				del = r
			} else if _, known := price[r.Action]; known && (move == nil || r.After > move.After) {
				move = r
			}
		}
		switch {
		case del != nil && !live[k]:
			out = append(out, lifecycleAct{Project: b.Project, Digest: b.Digest, Rule: *del})
		case move != nil && move.Action != b.Tier && price[move.Action] < price[b.Tier]:
			out = append(out, lifecycleAct{Project: b.Project, Digest: b.Digest, To: move.Action, Rule: *move})
		}
	}
	slices.SortFunc(out, func(a, b lifecycleAct) int {
		if a.Project != b.Project {
			return strings.Compare(a.Project, b.Project)
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	return out
}

// storageLoop finishes deletions a crash left queued and fills the tier
// of references recorded before tiers were, then applies the lifecycle
// rules every tick, until ctx ends.
func (s *Server) storageLoop(ctx context.Context) {
	s.mu.Lock()
	logs := s.catalog.LogsTier
	s.mu.Unlock()
	if err := s.st.Write(ctx, func(tx *store.Tx) error { return tx.FillBlobTiers(logs) }); err != nil {
		s.log.Warn("storage: tiers of old blob references not filled", "err", err)
	}
	s.sweepBlobs(ctx)
	s.sweepStaging(ctx, time.Now())
	swept := time.Now()
	every(ctx, lifecycleTick, false, nil, func() {
		now := time.Now()
		s.applyLifecycle(ctx, now.UTC())
		if now.Sub(swept) >= stagingSweepEvery {
			s.sweepStaging(ctx, now)
			swept = now
		}
	})
}

// stagingSweepEvery is how often the stores are swept of what failed
// uploads left (sweepStaging), besides at start; stagingAge is how old
// such a leftover must be: no upload takes a day between its first byte
// and its commit.
const (
	stagingSweepEvery = time.Hour
	stagingAge        = 24 * time.Hour
)

// sweepStaging removes from the stores what uploads left under their
// staging names more than stagingAge ago (blob.Sweeper: the store or the
// server gone in the middle of one), so that none of it is kept, and
// billed, for good.
func (s *Server) sweepStaging(ctx context.Context, now time.Time) {
	for _, st := range s.blobs.opened() {
		sw, ok := st.(blob.Sweeper)
		if !ok {
			continue
		}
		objects, uploads, err := sw.SweepStaging(ctx, now.Add(-stagingAge))
		if err != nil {
			s.log.Warn("storage: leftovers of failed uploads not swept; tried again in an hour", "where", st.Describe(), "err", err)
		}
		if objects+uploads > 0 {
			s.log.Info("storage: swept what failed uploads left", "where", st.Describe(), "objects", objects, "uploads", uploads)
		}
	}
}

// sweepBlobs deletes the blobs queued for deletion that no project holds.
func (s *Server) sweepBlobs(ctx context.Context) {
	pending, err := s.st.BlobDeletes(ctx)
	if err != nil {
		s.log.Warn("storage: queued blob deletions not read", "err", err)
		return
	}
	for _, d := range pending {
		if err := s.deleteBlob(ctx, d); err != nil {
			s.log.Warn("storage: blob delete failed; retried at the next start", "digest", d.Digest, "where", d.Location, "err", err)
		} else {
			s.log.Info("storage: deleted a blob no project holds", "digest", d.Digest, "where", d.Location)
		}
	}
}

// applyLifecycle applies the rules to the blobs as they are at now.
func (s *Server) applyLifecycle(ctx context.Context, now time.Time) {
	rules, err := s.st.StorageRules(ctx)
	if err != nil || len(rules) == 0 {
		return
	}
	var projects []string
	youngest := rules[0].After
	for _, r := range rules {
		if !slices.Contains(projects, r.Project) {
			projects = append(projects, r.Project)
		}
		youngest = min(youngest, r.After)
	}
	// Only blobs old enough for some rule: the others cannot be due.
	blobs, err := s.st.StoredBlobs(ctx, store.BlobFilter{Projects: projects, Before: now.Add(-youngest)})
	if err != nil {
		s.log.Warn("storage: lifecycle: blobs not read", "err", err)
		return
	}
	s.mu.Lock()
	tiers := s.catalog.Tiers
	s.mu.Unlock()
	for _, a := range lifecycle(blobs, rules, tiers, now) {
		sel := store.RefSel{Digests: []string{a.Digest}}
		if a.To == "" {
			_, err = s.removeBlobs(ctx, "lifecycle", "storage.lifecycle", "by rule "+ruleText(a.Rule), a.Project, sel, false)
		} else {
			_, err = s.moveBlobs(ctx, "lifecycle", "storage.lifecycle", "by rule "+ruleText(a.Rule), a.Project, sel, a.To, false)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("storage: lifecycle rule not applied", "project", a.Project, "digest", a.Digest, "rule", ruleText(a.Rule), "err", err)
		}
	}
}
