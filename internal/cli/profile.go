package cli

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of this process to $BURST_CPUPROFILE.NAME
// (NAME: server, agent, map for `burst map`'s own process, or storage for
// `burst storage get`)
// until the returned function is called: for finding where the server's or
// an agent's time goes (`go tool pprof`).
func startProfile(name string) func() {
	base := os.Getenv("BURST_CPUPROFILE")
	if base == "" {
		return func() {}
	}
	f, err := os.Create(base + "." + name)
	if err != nil {
		return func() {}
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
