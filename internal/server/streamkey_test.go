package server

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// TestPipeStreamKeys: a stream between two machines gets a key of its own
// (32 random bytes), given to its two ends in their assignments and to no
// one else: no row the server commits (tasks, jobs, machines, events)
// holds it; the next key drawn is another.
func TestPipeStreamKeys(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	h.register("b", 1)
	spec := &burst.JobSpec{Kind: burst.KindPipe, Name: "p", Project: "default", Tasks: 2,
		Pipe: &burst.PipeSpec{Text: "gen | sum", Stages: []burst.PipeStage{
			{Name: "gen", Argv: []string{"gen"}, Resources: burst.Resources{CPUs: 1}},
			{Name: "sum", Argv: []string{"sum"}, Resources: burst.Resources{CPUs: 1}}}}}
	id := h.nextID
	h.nextID++
	h.submitSpec(id, spec)
	h.place()
	var ends []client.End
	for _, m := range []string{"a", "b"} {
		l := h.lease(m, 0)
		if l == nil || len(l.Tasks) != 1 || l.Tasks[0].Pipe == nil {
			t.Fatalf("machine %s: want one stage, got %+v", m, l)
		}
		p := l.Tasks[0].Pipe
		for _, e := range []client.End{p.Stdin, p.Stdout} {
			if e.Stream != "" {
				ends = append(ends, e)
			}
		}
	}
	if len(ends) != 2 || ends[0].Stream != ends[1].Stream {
		t.Fatalf("want the two ends of one stream: %+v", ends)
	}
	key := ends[0].Key
	if b, err := hex.DecodeString(key); err != nil || len(b) != 32 || ends[1].Key != key {
		t.Fatalf("the ends carry keys %q and %q: want one key of 32 bytes, hex", ends[0].Key, ends[1].Key)
	}
	var tasks []any
	for _, r := range h.tasks {
		tasks = append(tasks, r)
	}
	rows, err := json.Marshal([]any{tasks, h.jobs, h.events, h.machines})
	if err != nil || len(tasks) != 2 || len(h.jobs) != 1 {
		t.Fatalf("the committed rows: %v (%d tasks, %d jobs)", err, len(tasks), len(h.jobs))
	}
	if strings.Contains(string(rows), key) {
		t.Fatal("a committed row holds the stream's key")
	}
	if other := streamKey(); other == key || len(other) != 64 {
		t.Fatalf("a second key %q: want another 32 bytes", other)
	}
}
