// Package e2e is burst's end-to-end test suite.
//
// TestMain builds the real burst binary once (go build ./cmd/burst) and every
// test runs it as a subprocess, as a researcher would: each test gets its own
// BURST_HOME, so its own control-plane server (auto-started by the first
// command, as in real use), its own agent process, real task processes in
// their own process groups, and a real SQLite store on disk. Nothing is
// mocked and no server runs in the test process; the only stand-in is a fake
// nvidia-smi for the GPU test, because CI machines have no GPU.
//
// Tests kill server and agent with SIGKILL, cancel process trees and check
// /proc for leftovers, so they need Linux. Every process a test starts carries
// a per-test E2E_TAG in its environment; cleanup kills whatever still has it.
//
// Run with: go test -count=1 ./e2e/
package e2e
