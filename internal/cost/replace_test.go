package cost

import "testing"

// TestReplace decides at each side of the budget: on demand only with the
// fallback and a forecast that fits (equal fits), and says why either way.
func TestReplace(t *testing.T) {
	budget := USD(100)
	cases := []struct {
		name     string
		fallback bool
		budget   NUSD
		forecast NUSD
		onDemand bool
		why      string
	}{
		{"no fallback", false, budget, USD(10), false, "replacing m-3 (spot interruption) with spot"},
		{"fallback, well under", true, budget, USD(10), true,
			"replacing m-3 (spot interruption) with on-demand: --fallback on-demand and the forecast $10.00 fits the budget $100.00"},
		{"fallback, exactly at", true, budget, budget, true,
			"replacing m-3 (spot interruption) with on-demand: --fallback on-demand and the forecast $100.00 fits the budget $100.00"},
		{"fallback, a nano-dollar over", true, budget, budget + 1, false,
			"replacing m-3 (spot interruption) with spot: on-demand would forecast $100.00 over the budget $100.00"},
		{"fallback, far over", true, budget, USD(250), false,
			"replacing m-3 (spot interruption) with spot: on-demand would forecast $250.00 over the budget $100.00"},
		{"fallback, no budget", true, 0, USD(250), true,
			"replacing m-3 (spot interruption) with on-demand: --fallback on-demand and the project has no budget (forecast $250.00)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Replace(ReplaceAsk{Machine: "m-3", Fallback: c.fallback, Budget: c.budget, OnDemandForecast: c.forecast})
			if r.OnDemand != c.onDemand || r.Why != c.why {
				t.Errorf("Replace = %+v, want on-demand %v, %q", r, c.onDemand, c.why)
			}
		})
	}
}
