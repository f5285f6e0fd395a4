package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/mapspec"
)

// results is GNU parallel's --results NAME: each task's stdout, stderr and
// sequence number saved in files instead of printed.
//
//   - NAME without replacement strings is a directory tree:
//     NAME/<column>/<value>/.../{seq,stdout,stderr}, a <column> being the
//     number of each input (or --header's name for it; named columns go in
//     their names' order), a <value> the input with \ written \\ and /
//     written \_, cut to 255 bytes.
//   - NAME with replacement strings names, for each task, the file of its
//     stdout (stderr in NAME.err, the number in NAME.seq), or, when it
//     ends in /, the directory that holds seq, stdout and stderr.
type results struct {
	name     string
	task     func(i int) ([]string, int64) // task i's inputs, a column each, and its number
	numbers  func(seq int64, slot int) mapspec.Numbers
	header   []string // --header's names of the columns, if any
	oneGroup bool     // -N: every input is of group 1
	// paths: each task's stdout file is named on stdout (its tag first)
	// as the task is saved, as parallel --lb --results prints them.
	paths bool
}

// newResults checks --results' NAME: parallel's CSV, TSV and JSON files
// are refused, naming the directory form.
func newResults(name string) (*results, error) {
	switch {
	case name == "":
		return nil, usage("--results: give the directory to save each task's output in, such as --results out")
	case strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".tsv") || strings.HasSuffix(name, ".json"):
		return nil, usage("--results %s: burst saves results as a directory tree, not CSV, TSV or JSON: give a directory (--results out), and --joblog FILE for a table of the tasks", name)
	}
	return &results{name: name}, nil
}

// resultFiles are one task's open result files.
type resultFiles struct {
	stdout, stderr *os.File
}

func (f *resultFiles) close() error {
	return errors.Join(f.stdout.Close(), f.stderr.Close())
}

// open makes the result files of task i, run in job slot slot, its seq
// written.
func (r *results) open(i, slot int) (*resultFiles, error) {
	var out, errPath, seqPath string
	inputs, seq := r.task(i)
	if n := r.numbers(seq, slot); mapspec.HasReplacementWith(r.name, n.Plus) {
		p := strings.Join(mapspec.ExpandWith([]string{r.name}, inputs, n, false, false, false), " ")
		if strings.HasSuffix(p, "/") {
			out, errPath, seqPath = p+"stdout", p+"stderr", p+"seq"
		} else {
			out, errPath, seqPath = p, p+".err", p+".seq"
		}
	} else {
		type column struct{ name, value string }
		var cols []column
		for k, v := range inputs {
			name := strconv.Itoa(k + 1)
			switch {
			case k < len(r.header):
				name = r.header[k]
			case r.oneGroup:
				name = "1" // as parallel names -N's inputs
			}
			cols = append(cols, column{name, v})
		}
		if len(r.header) > 0 { // named columns go in their names' order, as parallel 20221122 puts them
			slices.SortStableFunc(cols, func(a, b column) int { return perlOrder(a.name, b.name) })
		}
		// Joined as parallel joins them (NAME/ gives NAME//1/a/stdout),
		// the path --lb prints.
		parts := make([]string, 0, 2*len(cols))
		for _, c := range cols {
			parts = append(parts, resultsComponent(c.name), resultsComponent(c.value))
		}
		dir := r.name + "/" + strings.Join(parts, "/") + "/"
		out, errPath, seqPath = dir+"stdout", dir+"stderr", dir+"seq"
	}
	for _, p := range []string{out, errPath, seqPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("--results: %w", err)
		}
	}
	if err := os.WriteFile(seqPath, []byte(strconv.FormatInt(seq, 10)), 0o644); err != nil {
		return nil, fmt.Errorf("--results: %w", err)
	}
	f := &resultFiles{}
	var err error
	if f.stdout, err = os.Create(out); err != nil {
		return nil, fmt.Errorf("--results: %w", err)
	}
	if f.stderr, err = os.Create(errPath); err != nil {
		f.stdout.Close()
		return nil, fmt.Errorf("--results: %w", err)
	}
	return f, nil
}

// tagWords is --tagstring's STR filled for a task under -X or -N, as
// parallel fills it: each word (what spaces and tabs part) that holds {}
// repeated for each of the task's inputs, as a command's (x{}y: xay xby),
// the spaces and tabs between words kept.
func tagWords(ts string, in []string, n mapspec.Numbers) string {
	var b strings.Builder
	for ts != "" {
		end := strings.IndexAny(ts, " \t")
		if end == 0 {
			b.WriteByte(ts[0])
			ts = ts[1:]
			continue
		}
		if end < 0 {
			end = len(ts)
		}
		w := ts[:end]
		if mapspec.HasReplacementWith(w, n.Plus) {
			w = strings.Join(mapspec.ExpandWith([]string{w}, in, n, false, true, true), " ")
		}
		b.WriteString(w)
		ts = ts[end:]
	}
	return b.String()
}

// resultsTemplate is --results' NAME (or --tagstring's STR) as the
// command's words are read: -I's string and --header's names stand for
// what they stand for there.
func resultsTemplate(name, replace string, byName map[string]int) string {
	if replace != "" {
		name = mapspec.ReplaceWith([]string{name}, replace)[0]
	}
	if byName != nil {
		name = mapspec.Named([]string{name}, byName)[0]
	}
	return name
}

// perlOrder is Perl's `$a <=> $b or $a cmp $b`, how parallel orders named
// columns: by the number each begins with (0 for none), then as text.
func perlOrder(a, b string) int {
	return cmp.Or(cmp.Compare(leadingNumber(a), leadingNumber(b)), strings.Compare(a, b))
}

// leadingNumber is the number s begins with, as Perl reads a string in a
// numeric comparison (0 when none).
func leadingNumber(s string) float64 {
	s = strings.TrimLeft(s, " \t\n")
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || end == 0 && (s[end] == '-' || s[end] == '+')) {
		end++
	}
	for ; end > 0; end-- {
		if f, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return f
		}
	}
	return 0
}

// resultsComponent is a column's name or value as one path element, as
// parallel writes it: \ as \\, / as \_, a tab as \t, at most 255 bytes.
func resultsComponent(v string) string {
	v = strings.NewReplacer(`\`, `\\`, "/", `\_`, "\t", `\t`).Replace(v)
	if len(v) > 255 {
		v = v[:255]
	}
	return v
}

// writers are the writers of task t's stdout and stderr, the path of its
// stdout file, and what closes them, for a map saved with --results;
// printed (no path), when r is nil.
func (r *results) writers(t burst.Task, stdout, stderr io.Writer) (io.Writer, io.Writer, string, func() error, error) {
	switch {
	case r == nil:
		return stdout, stderr, "", func() error { return nil }, nil
	case t.State == burst.Cancelled: // parallel saves nothing of a job its --halt killed
		return io.Discard, io.Discard, "", func() error { return nil }, nil
	}
	f, err := r.open(t.Index, t.Slot)
	if err != nil {
		return nil, nil, "", nil, err
	}
	return f.stdout, f.stderr, f.stdout.Name(), f.close, nil
}
