package cost

import "fmt"

// ReplaceAsk is a spot machine lost to an interruption, and what its
// replacement would cost the project it is charged to.
type ReplaceAsk struct {
	Machine string // the interrupted machine, for the message
	// Fallback: the cluster allows an on-demand replacement (burst cluster
	// create --fallback on-demand).
	Fallback bool
	Budget   NUSD // the project's budget; 0: none
	// OnDemandForecast is the project's forecast with the replacement
	// running on demand: what it will have spent by its end date.
	OnDemandForecast NUSD
}

// Replacement is how an interrupted spot machine is replaced.
type Replacement struct {
	OnDemand bool   // start it on demand; false: spot again
	Why      string // the event's text: "replacing m-3 (spot interruption) with ..."
}

// Replace decides how to replace an interrupted spot machine: spot again,
// unless the cluster falls back on demand and the project's forecast with
// an on-demand machine still fits its budget. Hidden fallbacks that
// silently raise the cost are what it avoids: the reason names the
// forecast and the budget either way.
func Replace(a ReplaceAsk) Replacement {
	head := fmt.Sprintf("replacing %s (spot interruption)", a.Machine)
	switch {
	case !a.Fallback:
		return Replacement{Why: head + " with spot"}
	case a.Budget <= 0:
		return Replacement{OnDemand: true, Why: fmt.Sprintf("%s with on-demand: --fallback on-demand and the project has no budget (forecast %s)",
			head, a.OnDemandForecast)}
	case a.OnDemandForecast <= a.Budget:
		return Replacement{OnDemand: true, Why: fmt.Sprintf("%s with on-demand: --fallback on-demand and the forecast %s fits the budget %s",
			head, a.OnDemandForecast, a.Budget)}
	}
	return Replacement{Why: fmt.Sprintf("%s with spot: on-demand would forecast %s over the budget %s",
		head, a.OnDemandForecast, a.Budget)}
}
