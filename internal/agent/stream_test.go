package agent

import (
	"bytes"
	"io"
	"os"
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
