package agent

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestJunctionKeepsLinesWhole: lines from several inputs, some longer than
// a junction block and one without its newline at the end, come out of
// several outputs whole, each exactly once.
func TestJunctionKeepsLinesWhole(t *testing.T) {
	var want []string
	line := func(tag string, i, size int) string {
		return tag + strings.Repeat(string(rune('a'+i%26)), size)
	}
	inputs := [][]string{}
	for in := 0; in < 2; in++ {
		var ls []string
		for i := 0; i < 6; i++ {
			size := 10
			if i%2 == 0 {
				size = junctionBlock*2 + 7 // longer than a read
			}
			ls = append(ls, line(string(rune('A'+in)), i, size))
		}
		inputs = append(inputs, ls)
		want = append(want, ls...)
	}
	j := &junction{}
	var feed sync.WaitGroup
	for k, ls := range inputs {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		j.in = append(j.in, r)
		feed.Add(1)
		go func() {
			defer feed.Done()
			defer w.Close()
			text := strings.Join(ls, "\n")
			if k == 0 {
				text += "\n" // the second input's last line has no newline
			}
			io.WriteString(w, text)
		}()
	}
	var got []string
	var mu sync.Mutex
	var drain sync.WaitGroup
	for range 3 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		j.out = append(j.out, w)
		drain.Add(1)
		go func() {
			defer drain.Done()
			b, _ := io.ReadAll(r)
			mu.Lock()
			for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				if l != "" {
					got = append(got, l)
				}
			}
			mu.Unlock()
		}()
	}
	j.run()
	feed.Wait()
	drain.Wait()
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("%d lines out, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal([]byte(got[i]), []byte(want[i])) {
			t.Fatalf("line %d differs (len %d, want %d): a line was cut or mixed", i, len(got[i]), len(want[i]))
		}
	}
}

// records cuts b after each newline, as GNU parallel's --pipe cuts records
// (--recend '\n', man parallel): the last record keeps no newline it did
// not have, and empty input has none.
func records(b []byte) []string {
	var rs []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		rs = append(rs, string(b[:i]))
		b = b[i:]
	}
	return rs
}

// runJunction feeds each of ins to an input of a junction with nout
// outputs and returns what each output received.
func runJunction(t *testing.T, ins [][]byte, nout int) [][]byte {
	t.Helper()
	j := &junction{}
	var feed sync.WaitGroup
	for _, in := range ins {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		j.in = append(j.in, r)
		feed.Add(1)
		go func() {
			defer feed.Done()
			defer w.Close()
			// Odd-sized writes, so that reads end anywhere in a line.
			for b := in; len(b) > 0; {
				n := min(len(b), 70001)
				if _, err := w.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
		}()
	}
	outs := make([][]byte, nout)
	var drain sync.WaitGroup
	for k := range nout {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		j.out = append(j.out, w)
		drain.Add(1)
		go func() {
			defer drain.Done()
			outs[k], _ = io.ReadAll(r)
			r.Close()
		}()
	}
	j.run()
	feed.Wait()
	drain.Wait()
	return outs
}

// junctionCases are inputs a line dealer must pass on byte for byte.
func junctionCases() map[string][]byte {
	rnd := rand.New(rand.NewPCG(14, 9))
	random := make([]byte, 3<<20) // any byte, NUL and \r included
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	long := bytes.Repeat([]byte("x"), 3*junctionBlock+5)
	return map[string][]byte{
		"empty":                 nil,
		"one newline":           []byte("\n"),
		"no newline at all":     []byte("abc"),
		"last line unended":     []byte("a\nb\nc"),
		"crlf":                  []byte("a\r\nb\r\n\r\nlast\r"),
		"nul bytes":             []byte("\x00\x00\n\x00a\x00\n\x00"),
		"empty lines":           []byte("\n\n\nx\n\n"),
		"random binary":         random,
		"random binary, ended":  append(append([]byte(nil), random...), '\n'),
		"long line unended":     long,
		"long line then short":  append(append(append([]byte(nil), long...), '\n'), "short"...),
		"not utf-8":             []byte("\xff\xfe\xc3\x28\n\xe2\x82\n\xf0\x90"),
		"long line, ended once": append(append([]byte("first\n"), long...), '\n'),
	}
}

// TestJunctionSplitIsByteExact: a split (one input dealt to several copies,
// as `--parallel 3` after a single stage) hands out every record exactly
// once, adds no byte (before, a last line without a newline got one: 5,000,000
// bytes in, 5,000,001 out) and cuts no record, as GNU parallel --pipe passes
// "the final partial record" on as it is (man parallel, --pipe and --recend).
func TestJunctionSplitIsByteExact(t *testing.T) {
	for name, in := range junctionCases() {
		t.Run(name, func(t *testing.T) {
			outs := runJunction(t, [][]byte{in}, 3)
			var got []string
			total := 0
			for _, o := range outs {
				total += len(o)
				got = append(got, records(o)...)
			}
			if total != len(in) {
				t.Fatalf("%d bytes in, %d out", len(in), total)
			}
			want := records(in)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("the records out (%d) are not the records in (%d)", len(got), len(want))
			}
		})
	}
}

// TestJunctionMergeIsByteExact: a merge (several copies' outputs into one,
// as the output of a --parallel last stage) writes each input's bytes once,
// in its own order, never joins two inputs' lines, and writes a last line
// without a newline after every whole line, as it came.
func TestJunctionMergeIsByteExact(t *testing.T) {
	cases := junctionCases()
	names := slices.Sorted(maps.Keys(cases))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			// The case's input, beside two inputs of whole lines.
			ins := [][]byte{[]byte("a1\na2\n"), cases[name], bytes.Repeat([]byte("b\n"), 100000)}
			out := runJunction(t, ins, 1)[0]
			want := 0
			for _, in := range ins {
				want += len(in)
			}
			if len(out) != want {
				t.Fatalf("%d bytes in, %d out", want, len(out))
			}
			got := records(out)
			var all []string
			for _, in := range ins {
				all = append(all, records(in)...)
			}
			if tail := records(cases[name]); len(tail) > 0 && !strings.HasSuffix(tail[len(tail)-1], "\n") {
				if got[len(got)-1] != tail[len(tail)-1] {
					t.Fatalf("the last line without a newline should come last, whole; the output ends %q", got[len(got)-1][:min(20, len(got[len(got)-1]))])
				}
			}
			sort.Strings(got)
			sort.Strings(all)
			if !slices.Equal(got, all) {
				t.Fatalf("the records out (%d) are not the records in (%d): a line was cut or joined", len(got), len(all))
			}
		})
	}
}

// TestJunctionJoinsUnendedLastLines: when two inputs both end without a
// newline, their last pieces are written together at the end (input order),
// as `cat a b` joins them: no byte added.
func TestJunctionJoinsUnendedLastLines(t *testing.T) {
	out := runJunction(t, [][]byte{[]byte("x\ny"), []byte("z")}, 1)[0]
	if string(out) != "x\nyz" {
		t.Fatalf("got %q, want %q", out, "x\nyz")
	}
}
