//go:build race

package store

// raceEnabled: the race detector slows SQLite (pure Go) about 25 times.
const raceEnabled = true
