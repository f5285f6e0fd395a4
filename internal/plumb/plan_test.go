package plumb

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func stages(par ...int) *burst.PipeSpec {
	p := &burst.PipeSpec{}
	for i, n := range par {
		p.Stages = append(p.Stages, burst.PipeStage{Name: string(rune('a' + i)), Argv: []string{"x"}, Parallel: n})
	}
	return p
}

var addr = map[string]string{"m1": "h1:1", "m2": "h2:2"}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

// keys hands out "k1", "k2", ... : which stream got which key shows.
func keys() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("k%d", n) }
}

func TestPlanOneMachineIsOSPipes(t *testing.T) {
	got := Plan(stages(1, 1, 1), 7, 1, []string{"m1", "m1", "m1"}, addr, keys())
	want := []client.Plumbing{
		{Stage: "a", Stdout: client.End{Stream: "7.1.1"}},
		{Stage: "b", Stdin: client.End{Stream: "7.1.1"}, Stdout: client.End{Stream: "7.1.2"}},
		{Stage: "c", Stdin: client.End{Stream: "7.1.2"}},
	}
	for i := range want {
		if js(got[i]) != js(want[i]) {
			t.Errorf("task %d: got %s, want %s", i, js(got[i]), js(want[i]))
		}
	}
}

func TestPlanAcrossMachinesDialsTheConsumer(t *testing.T) {
	p := stages(1, 1)
	p.Stdin, p.Stdout, p.Append = "/in", "/out", true
	got := Plan(p, 7, 2, []string{"m1", "m2"}, addr, keys())
	want := []client.Plumbing{
		{Stage: "a", Stdin: client.End{File: "/in"}, Stdout: client.End{Stream: "7.2.1", Dial: "h2:2", Key: "k1"}},
		{Stage: "b", Stdin: client.End{Stream: "7.2.1", Accept: true, Key: "k1"}, Stdout: client.End{File: "/out", Append: true}},
	}
	for i := range want {
		if js(got[i]) != js(want[i]) {
			t.Errorf("task %d: got %s, want %s", i, js(got[i]), js(want[i]))
		}
	}
}

// TestPlanParallel: every stream has exactly one producer and one consumer,
// and the junction of a split runs beside its producer.
func TestPlanParallel(t *testing.T) {
	p := stages(1, 3, 2)
	p.Stdout = "/out"
	at := []string{"m1", "m1", "m2", "m2", "m1", "m2"}
	got := Plan(p, 9, 1, at, addr, keys())
	prod, cons := map[string]int{}, map[string]int{}
	keyOf := map[string]string{} // stream -> its key; a key serves one stream
	streamOf := map[string]string{}
	count := func(e client.End, m map[string]int) {
		if e.Stream != "" {
			m[e.Stream]++
		}
		if e.Dial != "" || e.Accept {
			if e.Key == "" {
				t.Errorf("stream %s between machines has no key", e.Stream)
			}
			if k, ok := keyOf[e.Stream]; ok && k != e.Key {
				t.Errorf("stream %s: its ends carry different keys %s, %s", e.Stream, k, e.Key)
			}
			if s, ok := streamOf[e.Key]; ok && s != e.Stream {
				t.Errorf("key %s serves two streams, %s and %s", e.Key, s, e.Stream)
			}
			keyOf[e.Stream], streamOf[e.Key] = e.Key, e.Stream
		} else if e.Key != "" {
			t.Errorf("stream %s on one machine carries a key", e.Stream)
		}
	}
	for _, pl := range got {
		count(pl.Stdout, prod)
		count(pl.Stdin, cons)
		for _, j := range pl.Junctions {
			for _, e := range j.In {
				count(e, cons)
			}
			for _, e := range j.Out {
				count(e, prod)
			}
		}
	}
	if len(prod) != (1+3)+(3+2)+2 || len(prod) != len(cons) {
		t.Fatalf("streams: %d produced, %d consumed: %v %v", len(prod), len(cons), prod, cons)
	}
	for k := range prod {
		if prod[k] != 1 || cons[k] != 1 {
			t.Errorf("stream %s: %d producers, %d consumers", k, prod[k], cons[k])
		}
	}
	if len(got[0].Junctions) != 1 || len(got[0].Junctions[0].Out) != 3 {
		t.Errorf("the split junction should run with stage a: %s", js(got[0]))
	}
	// The merge of c's two copies runs with c's first copy (task 4, on m1)
	// and writes the file; the second copy (m2) dials m1.
	if len(got[4].Junctions) != 2 || js(got[4].Junctions[1].Out) != `[{"file":"/out"}]` {
		t.Errorf("the merge junction should run with c's first copy: %s", js(got[4]))
	}
	if got[5].Stdout.Dial != "h1:1" {
		t.Errorf("c's second copy on m2 should dial m1: %s", js(got[5]))
	}
	if !strings.HasPrefix(got[1].Stdin.Stream, "9.1.") || got[2].Stdin.Dial != "" || !got[2].Stdin.Accept {
		t.Errorf("b's copies: %s %s", js(got[1]), js(got[2]))
	}
}
