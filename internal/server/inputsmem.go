package server

import (
	"fmt"
	"os"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/web"
)

// A map's inputs in memory. The server holds each unfinished map's inputs
// (jobRT.sources) to build its tasks' commands, from the map's submission,
// or the server's start, to the map's end. What they take is bounded at
// admission, as Slurm bounds the jobs it holds (MaxJobCount): a map whose
// inputs would take the total past the limit is refused, naming what to do.
// Maps already accepted are always loaded again at a restart, whatever the
// limit is then: refusing them there would lose accepted work.

// MinInputsMemory is the least the default limit on the maps' inputs held
// in memory is; above it the default is a sixteenth of the host's memory.
const MinInputsMemory = 256 << 20

// inputsLimit is the limit on the maps' inputs held in memory: set (a
// Config's InputsMemory), or the default for a host of hostMem bytes.
func inputsLimit(set, hostMem int64) int64 {
	if set > 0 {
		return set
	}
	return max(MinInputsMemory, hostMem/16)
}

// InputsMemoryConfig reads BURST_INPUTS_MEMORY (a size such as 2G; 0 or
// unset: the default); the error names the variable and the fix.
func InputsMemoryConfig() (int64, error) {
	v := os.Getenv("BURST_INPUTS_MEMORY")
	if v == "" || v == "0" {
		return 0, nil
	}
	n, err := burst.ParseMem(v)
	if err != nil || n < 1<<20 {
		return 0, fmt.Errorf("BURST_INPUTS_MEMORY=%s: give a size of 1M or more, e.g. 4G (what the inputs of unfinished maps may take in the server's memory), or 0 for the default", v)
	}
	return n, nil
}

// roomInMemory refuses a map whose inputs would take those the server
// holds past its limit (inputsLimit). Checked before the map is written:
// two maps submitted at once may both pass, each bounded by the request
// body's cap.
func (s *Server) roomInMemory(spec *burst.JobSpec, sources [][]string) error {
	if spec.Map == nil {
		return nil
	}
	size := inputsSize(sources)
	s.mu.Lock()
	held, limit := s.heldInputs, s.inputsLimit
	s.mu.Unlock()
	if held+size <= limit {
		return nil
	}
	fix := "put large inputs in files and map over their paths (`burst map CMD :::: paths.txt`, each task reading its file)"
	if spec.Map.Array {
		fix = "submit fewer tasks at once (--array)"
	}
	return &apierr.Busy{Msg: fmt.Sprintf(
		"the map's inputs would take %s of the server's memory, where the inputs of unfinished maps already take %s of the %s it allows them: "+
			"wait for some of those maps to end (`burst jobs`), %s, or start the server with a higher limit (`burst server --inputs-memory SIZE`, or BURST_INPUTS_MEMORY)",
		web.Bytes(size), web.Bytes(held), web.Bytes(limit), fix)}
}
