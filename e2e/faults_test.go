package e2e

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The fault suite. Each attack or fault burst must survive (a connection
// flood, a full filesystem, a copied or corrupted store, an escaped process
// tree, a kill -9 at a random moment, hostile input) is an ordinary e2e test
// that, besides its own checks, records one row here: how many tasks it ran,
// and how many of them were lost, run twice, or failed for a fault that was
// not theirs. A row with any count above zero fails its test. The table is
// printed when the suite ends, and written to the file BURST_FAULT_TABLE
// names (make test sets it and prints the file: go test hides the output of
// a package that passed). docs/guarantees.md lists what each row proves.

// faultRow is one fault's outcome.
type faultRow struct {
	Fault string
	// Tasks is how many tasks ran through the fault.
	Tasks int
	// Lost: accepted and never run to an end (no result, or a result saying lost).
	Lost int
	// Duplicated: recorded twice, or run again after it had ended.
	Duplicated int
	// FailedWrongly: ended failed for a reason of the machine or the fault,
	// not of the task's own command.
	FailedWrongly int
}

var faultTable struct {
	sync.Mutex
	rows []faultRow
}

// recordFault adds r to the table, and fails t when any count is above zero.
func recordFault(t *testing.T, r faultRow) {
	t.Helper()
	faultTable.Lock()
	faultTable.rows = append(faultTable.rows, r)
	faultTable.Unlock()
	t.Logf("fault %q: %d tasks, %d lost, %d duplicated, %d failed wrongly", r.Fault, r.Tasks, r.Lost, r.Duplicated, r.FailedWrongly)
	if r.Lost != 0 || r.Duplicated != 0 || r.FailedWrongly != 0 {
		t.Errorf("fault %q: %d lost, %d duplicated, %d failed wrongly; want all zero", r.Fault, r.Lost, r.Duplicated, r.FailedWrongly)
	}
}

// printFaults writes the table (if any fault test ran) to stdout and to the
// file named by BURST_FAULT_TABLE.
func printFaults() {
	faultTable.Lock()
	rows := append([]faultRow(nil), faultTable.rows...)
	faultTable.Unlock()
	if len(rows) == 0 {
		return
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Fault < rows[j].Fault })
	var b strings.Builder
	writeFaults(&b, rows)
	fmt.Print(b.String())
	if path := os.Getenv("BURST_FAULT_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: writing the fault table:", err)
		}
	}
}

func writeFaults(w io.Writer, rows []faultRow) {
	width := len("fault")
	for _, r := range rows {
		width = max(width, len(r.Fault))
	}
	fmt.Fprintf(w, "%-*s  %6s  %5s  %10s  %14s\n", width, "fault", "tasks", "lost", "duplicated", "failed wrongly")
	var sum faultRow
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %6d  %5d  %10d  %14d\n", width, r.Fault, r.Tasks, r.Lost, r.Duplicated, r.FailedWrongly)
		sum.Tasks += r.Tasks
		sum.Lost += r.Lost
		sum.Duplicated += r.Duplicated
		sum.FailedWrongly += r.FailedWrongly
	}
	fmt.Fprintf(w, "%-*s  %6d  %5d  %10d  %14d\n", width, "all", sum.Tasks, sum.Lost, sum.Duplicated, sum.FailedWrongly)
}
