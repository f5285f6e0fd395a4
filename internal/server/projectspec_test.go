package server

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/store"
)

// TestApplyProjectSpec: burst project create/set takes the fields given
// and leaves the others; bad values are refused naming the fix, and a
// refusal changes nothing.
func TestApplyProjectSpec(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	str := func(s string) *string { return &s }
	usd := func(v float64) *float64 { return &v }
	tags := func(t ...string) *[]string { return &t }
	ends := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	base := store.ProjectRow{Project: burst.Project{Name: "mars", Description: "old", Tags: []string{"a"},
		OnExhausted: burst.OnExhaustedStop, Ends: &ends, Warn: []float64{0.5}}, BudgetNUSD: 5e9}
	for _, c := range []struct {
		name    string
		spec    burst.ProjectSpec
		refused string
		check   func(r store.ProjectRow) bool
	}{
		{"nothing given", burst.ProjectSpec{}, "", func(r store.ProjectRow) bool {
			return r.Description == "old" && len(r.Tags) == 1 && r.BudgetNUSD == 5e9 && r.Ends != nil && len(r.Warn) == 1 && r.OnExhausted == burst.OnExhaustedStop
		}},
		{"a description", burst.ProjectSpec{Description: str("new")}, "", func(r store.ProjectRow) bool { return r.Description == "new" }},
		{"tags, trimmed, once each", burst.ProjectSpec{Tags: tags(" x ", "", "y", "x")}, "", func(r store.ProjectRow) bool {
			return strings.Join(r.Tags, ",") == "x,y"
		}},
		{"a budget", burst.ProjectSpec{BudgetUSD: usd(12.5)}, "", func(r store.ProjectRow) bool { return r.BudgetNUSD == 12_500_000_000 }},
		{"no budget", burst.ProjectSpec{BudgetUSD: usd(0)}, "", func(r store.ProjectRow) bool { return r.BudgetNUSD == 0 }},
		{"a negative budget", burst.ProjectSpec{BudgetUSD: usd(-1)}, "give a positive amount", nil},
		{"a budget of NaN", burst.ProjectSpec{BudgetUSD: usd(math.NaN())}, "give a positive amount", nil},
		{"an end date", burst.ProjectSpec{Ends: str("2027-01-31")}, "", func(r store.ProjectRow) bool {
			return r.Ends != nil && r.Ends.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC))
		}},
		{"no end date", burst.ProjectSpec{Ends: str("")}, "", func(r store.ProjectRow) bool { return r.Ends == nil }},
		{"an end date past", burst.ProjectSpec{Ends: str("2026-02-01")}, "in the past", nil},
		{"an end date of another form", burst.ProjectSpec{Ends: str("31/01/2027")}, "YYYY-MM-DD", nil},
		{"warnings", burst.ProjectSpec{Warn: str("80%,95%")}, "", func(r store.ProjectRow) bool {
			return len(r.Warn) == 2 && r.Warn[0] == 0.8 && r.Warn[1] == 0.95
		}},
		{"cancel when spent", burst.ProjectSpec{OnExhausted: str(burst.OnExhaustedCancel)}, "", func(r store.ProjectRow) bool {
			return r.OnExhausted == burst.OnExhaustedCancel
		}},
		{"an unknown action when spent", burst.ProjectSpec{OnExhausted: str("pause")}, "use stop", nil},
	} {
		row := base
		row.Tags = append([]string(nil), base.Tags...)
		err := applyProjectSpec(&row, &c.spec, now)
		switch {
		case c.refused != "":
			if err == nil || !strings.Contains(err.Error(), c.refused) {
				t.Errorf("%s: %v; want refused saying %q", c.name, err, c.refused)
			}
			if row.Description != base.Description || row.BudgetNUSD != base.BudgetNUSD || row.Ends != base.Ends {
				t.Errorf("%s: refused, yet the row changed: %+v", c.name, row)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.check(row):
			t.Errorf("%s: row %+v", c.name, row)
		}
	}
}
