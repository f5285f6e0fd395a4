package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// The lifecycle is a pure function of the blobs, the rules, the tiers and
// now: a blob moves once it reached a tier rule's age, to the rule of the
// greatest age reached, never to a dearer tier; a delete rule wins once
// reached, except for an input of a job not yet ended; a project without
// rules is left alone.
func TestLifecycle(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	blob := func(project, digest, tier string, age time.Duration, live int64) store.StoredBlob {
		return store.StoredBlob{Project: project, Kind: "output", Digest: digest, Size: 10, Tier: tier, CreatedAt: now.Add(-age), LiveJob: live}
	}
	rules := []store.StorageRule{
		{Project: "mars", Action: "cold_hdd", After: 30 * day},
		{Project: "mars", Action: "archive", After: 180 * day},
		{Project: "mars", Action: store.RuleDelete, After: 365 * day},
		{Project: "venus", Action: "ssd", After: day}, // dearer than where venus's blobs are
	}
	blobs := []store.StoredBlob{
		blob("mars", "young", "ssd", 29*day, 0),
		blob("mars", "month", "ssd", 30*day, 0),
		blob("mars", "half", "ssd", 200*day, 0),
		blob("mars", "cold", "cold_hdd", 31*day, 0),
		blob("mars", "old", "cold_hdd", 400*day, 0),
		blob("mars", "oldinput", "archive", 400*day, 7),
		blob("venus", "v", "cold_hdd", 10*day, 0),
		blob("earth", "e", "ssd", 1000*day, 0),
	}
	got := lifecycle(blobs, rules, cost.Default().Tiers, now)
	want := []lifecycleAct{
		{Project: "mars", Digest: "half", To: "archive"},
		{Project: "mars", Digest: "month", To: "cold_hdd"},
		{Project: "mars", Digest: "old", To: ""},
	}
	if len(got) != len(want) {
		t.Fatalf("lifecycle: %+v; want %+v", got, want)
	}
	for i, w := range want {
		if got[i].Project != w.Project || got[i].Digest != w.Digest || got[i].To != w.To {
			t.Fatalf("act %d: %+v; want %+v", i, got[i], w)
		}
	}
	if got[2].Rule.Action != store.RuleDelete || got[0].Rule.After != 180*day {
		t.Fatalf("acts name the wrong rules: %+v", got)
	}
	// A day earlier, "month" was not due yet.
	if again := lifecycle(blobs, rules, cost.Default().Tiers, now.Add(-day)); len(again) != 2 {
		t.Fatalf("a day earlier: %+v; want half and old only", again)
	}
}

// Moving bytes between tiers at an instant charges the time before it at
// the old tier's price and the time after at the new one's, each once; and
// storage too small to cost a nano-dollar per tick is still charged, the
// fractions carried from tick to tick.
func TestStorageAccrualAtTierBoundary(t *testing.T) {
	h := newHarness(t)
	s := h.srv
	p := h.c.projects["default"]
	p.bytes["ssd"] = 730e9 // 730 GB: ssd 0.08 $/GB-month = 0.08 $/h, cold_hdd 0.015 $/h
	t0 := h.now
	s.accrueStorage(t0)
	s.applyStorage("default", []store.StorageChange{{Kind: "output", Digest: "d", Size: 730e9, From: "ssd", To: "cold_hdd"}}, t0.Add(time.Hour))
	s.accrueStorage(t0.Add(2 * time.Hour))
	key := func(tier string) store.CostKey {
		return store.CostKey{Day: t0.Format("2006-01-02"), Project: "default", Machine: "storage:" + tier, Kind: "storage"}
	}
	if ssd, cold := s.unflushed[key("ssd")], s.unflushed[key("cold_hdd")]; ssd != 80_000_000 || cold != 15_000_000 {
		t.Fatalf("charged ssd %d n$, cold_hdd %d n$; want 80000000 (an hour on ssd) and 15000000 (an hour on cold_hdd)", ssd, cold)
	}
	if p.storage != 95_000_000 || p.bytes["ssd"] != 0 || p.bytes["cold_hdd"] != 730e9 {
		t.Fatalf("project storage %d n$, bytes %v", p.storage, p.bytes)
	}

	// 1 GB on ssd for 1000 ticks of 200 ms: 0.006 n$ a tick, 6088.03 n$ in all.
	h2 := newHarness(t)
	q := h2.c.projects["default"]
	q.bytes["ssd"] = 1e9
	at := h2.now
	h2.srv.accrueStorage(at)
	for range 1000 {
		at = at.Add(meterTick)
		h2.srv.accrueStorage(at)
	}
	if got := h2.srv.unflushed[key("ssd")]; got != 6088 {
		t.Fatalf("1 GB on ssd for 200 s charged %d n$, want 6088", got)
	}
}
