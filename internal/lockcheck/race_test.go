//go:build race

package lockcheck

// raceEnabled: this test binary is built with the race detector, which
// makes the analysis (loading, SSA and the call graph of about 80,000
// functions, all on one goroutine) several times slower and finds nothing
// in it.
const raceEnabled = true
