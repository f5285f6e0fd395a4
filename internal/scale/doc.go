// Package scale holds the autoscaler's decisions and cluster schedules as
// pure functions: Plan looks at a snapshot of clusters, machines and waiting
// work and says which machines to start and which to stop, and Schedule says
// whether a cluster should be on at a given time ("on ice for the weekend").
//
// Nothing here does I/O or reads the clock: the caller passes the current
// time in. The server gathers the snapshot, applies the actions through the
// providers, records them in the audit trail and persists them.
package scale
