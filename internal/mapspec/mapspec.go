package mapspec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/shellquote"
)

// ErrTooLarge is wrapped by a readFile error for an input file larger than
// a map can take: its message names the file and the fix, and Parse passes
// it on as it is (a path to check or ::: would not help).
var ErrTooLarge = errors.New("input file too large")

// Source is one input list: the values of one ::: or :::: group.
type Source []string

const (
	sepArgs      = ":::"
	sepFiles     = "::::"
	sepArgsLink  = ":::+"
	sepFilesLink = "::::+"
)

func isSep(a string) bool {
	return a == sepArgs || a == sepFiles || a == sepArgsLink || a == sepFilesLink
}

// Parse splits `burst map` positional arguments (everything after --) into the command template and input
// groups, as GNU parallel does: "CMD ARGS... ::: a b c ::: x y" or ":::: file" (one input per line of the file;
// each file after a :::: is an input group of its own, as parallel's `:::: f1 f2` is `-a f1 -a f2`: all
// combinations of their lines). readFile is called for
// :::: arguments ("-" means standard input, which the caller's readFile handles). Lines: each ends at its "\n",
// which is stripped (a "\r" before it stays, as parallel 20221122 keeps it); a final empty line ignored; empty
// lines in the middle are inputs (parallel keeps them).
// Errors for people (one line, naming the fix): no command before the first :::, a file that cannot be read
// (wrap readFile's error with the path). A ::: with no values is an empty group (so Count 0), as in parallel.
// It is legal to have no ::: at all (inputs come from elsewhere, e.g. --over): then sources is empty.
//
// No arguments at all is an error (no command). A :::: group whose files are all empty gives an empty Source
// (and so Count 0), as in parallel.
// Parallel's linked groups (:::+ and ::::+) are rejected rather than silently taken as values: ParseLinked
// takes them.
func Parse(args []string, readFile func(path string) ([]byte, error)) (template []string, sources []Source, err error) {
	if first := slices.IndexFunc(args, isSep); first == 0 {
		return nil, nil, fmt.Errorf("no command before the first %s: put the command first, e.g. `burst map -- ./simulate {} ::: 1 2 3`", args[0])
	} else if len(args) == 0 {
		return nil, nil, errors.New("no command given: put it after --, e.g. `burst map -- ./simulate {} ::: 1 2 3`")
	}
	template, sources, linked, err := ParseLinked(args, readFile, Lines)
	if err == nil {
		if i := slices.Index(linked, true); i >= 0 {
			return nil, nil, fmt.Errorf("input group %d is linked to the one before it (:::+ or ::::+), which is not taken here: use ::: for the cartesian product", i+1)
		}
	}
	return template, sources, err
}

// ParseLinked is Parse that takes GNU parallel's linked groups too: linked[i] says source i came after :::+
// or ::::+ (each file after a ::::+ is linked to the group before it), and is paired with the group before
// it rather than combined with it (Combine). Unlike Parse it takes no command at all (an empty template:
// GNU parallel then runs each input as a command). With delim (parallel's -d, Delimiter's; NUL for its -0)
// a file's inputs each end at delim instead of at a line end, and may hold newlines, and a ::: value is cut
// at delim where it is cut at its newlines without one (argValues). "" is line ends (Lines).
func ParseLinked(args []string, readFile func(path string) ([]byte, error), delim string) (template []string, sources []Source, linked []bool, err error) {
	return ParseSeparated(args, readFile, delim, sepArgs, sepFiles)
}

// Separators reports whether a word is one of ParseSeparated's separators: argSep, fileSep, or either
// followed by + (linking).
func Separators(argSep, fileSep string) func(string) bool {
	return func(a string) bool { return a == argSep || a == fileSep || a == argSep+"+" || a == fileSep+"+" }
}

// ParseSeparated is ParseLinked with argSep in place of ::: and fileSep in place of :::: (argSep+"+" and
// fileSep+"+" linking), as GNU parallel's --arg-sep and --arg-file-sep: ::: is then a value as any other
// (parallel --arg-sep ,, echo ,, a ::: b echoes a, :::, b).
func ParseSeparated(args []string, readFile func(path string) ([]byte, error), delim, argSep, fileSep string) (template []string, sources []Source, linked []bool, err error) {
	isSep := Separators(argSep, fileSep)
	split := appendLines
	if delim != Lines {
		split = func(src Source, data []byte) Source { return appendRecords(src, data, delim) }
	}
	first := slices.IndexFunc(args, isSep)
	if first < 0 {
		first = len(args)
	}
	template = slices.Clone(args[:first])
	read := 0 // inputs read from files
	for i := first; i < len(args); {
		sep := args[i]
		j := i + 1
		for j < len(args) && !isSep(args[j]) {
			j++
		}
		vals := args[i+1 : j]
		// A first group after :::+ or ::::+ has none to link to, and is
		// one as after ::: or ::::, as in parallel (man parallel_examples:
		// parallel echo {1} - {2} ::::+ <(head -n -1 in.txt) <(tail -n +2 in.txt)).
		link := sep == argSep+"+" || sep == fileSep+"+"
		switch sep {
		case argSep, argSep + "+":
			// A ::: with no values (`::: $(ls *.none)`) is an empty group: no task runs, as in parallel.
			linked = append(linked, link && len(sources) > 0)
			sources = append(sources, argValues(vals, delim))
		default: // :::: and ::::+
			if len(vals) == 0 {
				return nil, nil, nil, fmt.Errorf("%s needs at least one file after it: write `%s inputs.txt` (one input per line), or `%s -` for standard input", sep, sep, sep)
			}
			if readFile == nil {
				return nil, nil, nil, fmt.Errorf("%s input files cannot be read here: pass the inputs with ::: instead", sep)
			}
			for _, p := range vals {
				data, err := readFile(p)
				if errors.Is(err, ErrTooLarge) {
					return nil, nil, nil, fmt.Errorf("%s %s", sep, oneLine(err)) // it names the file and the fix
				}
				if err != nil {
					return nil, nil, nil, fmt.Errorf("%s cannot read inputs from %s: %s; check the path or give the inputs with :::", sep, fileName(p), oneLine(err))
				}
				n := records(data, delim)
				if read += n; read > burst.MaxMapInputs {
					return nil, nil, nil, fmt.Errorf("%s %s: more than %d inputs, the most a map reads: split them over several `burst map` runs", sep, fileName(p), burst.MaxMapInputs)
				}
				linked = append(linked, link && len(sources) > 0)
				sources = append(sources, split(make(Source, 0, n), data))
			}
		}
		i = j
	}
	return template, sources, linked, nil
}

// FileGroups is GNU parallel's --header 0: each input file of args (after
// fileSep or fileSep+"+", as ParseSeparated reads them) names a position,
// the path as written ({data/a.txt} for :::: data/a.txt): the file's
// number among the files, from 1. parallel 20221122 counts no ::: group
// there, so a file's name after one stands for an earlier position, as
// here; a file given twice names the first of its positions.
func FileGroups(args []string, argSep, fileSep string) map[string]int {
	isSep := Separators(argSep, fileSep)
	names := map[string]int{}
	first := slices.IndexFunc(args, isSep)
	if first < 0 {
		return names
	}
	files, sep := 0, ""
	for _, a := range args[first:] {
		switch {
		case isSep(a):
			sep = a
		case sep == fileSep || sep == fileSep+"+":
			files++
			if _, dup := names[a]; !dup {
				names[a] = files
			}
		}
	}
	return names
}

// argValues is the source of a ::: group's values. GNU parallel reads them
// as it reads an input file's lines ("parallel gzip ::: file1 file2" is
// "(echo file1; echo file2) | parallel gzip", man parallel): a value holding
// a newline is several inputs, one per line ($'x\ny' is x and y; $'x\n' is
// x and an empty one), each line kept as it is (a "\r" too). With a
// delimiter (-d) a value is cut at it in the same way (-d , reads 'x,' as
// x and an empty input), and its newlines are its own; with -0's NUL, which
// no argument holds, each value is one input.
func argValues(vals []string, delim string) Source {
	if delim == Lines {
		delim = "\n"
	}
	src := make(Source, 0, len(vals))
	for _, v := range vals {
		if !strings.Contains(v, delim) {
			src = append(src, v) // one input, no slice made for it (::: $(seq 1000000))
			continue
		}
		src = append(src, strings.Split(v, delim)...)
	}
	return src
}

// Lines is ParseLinked's delimiter for inputs that end at line ends: GNU
// parallel's default, and its -d '\n'.
const Lines = ""

// Delimiter reads GNU parallel's -d DELIM (--delimiter) as parallel
// 20221122 does (its unquote_printf): \t, \n and \r are a tab, a newline
// and a carriage return, and a backslash and one or three digits an octal
// byte (\0 and \000 are NUL, \011 a tab); any other text is itself, of any
// length (-d XY, -d '\r\n'). A newline alone is Lines. The empty
// delimiter, which parallel reads as Perl's paragraph mode, is refused.
func Delimiter(s string) (string, error) {
	if s == "" {
		return "", errors.New("--delimiter '': an empty delimiter is not taken (GNU parallel reads it as Perl's paragraph mode); give the text that ends each input, e.g. -d , or -d '\\t'")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; {
		case n == 't':
			b.WriteByte('\t')
		case n == 'n':
			b.WriteByte('\n')
		case n == 'r':
			b.WriteByte('\r')
		case n >= '0' && n <= '9':
			digits := 1
			if i+3 < len(s) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				digits = 3
			}
			// Perl's "\NNN": octal digits, up to three, an 8 or 9 ending
			// them ("\089" is NUL, 8, 9); "\8" is 8.
			v, k := 0, 0
			for ; k < digits && s[i+1+k] >= '0' && s[i+1+k] <= '7'; k++ {
				v = v*8 + int(s[i+1+k]-'0')
			}
			switch {
			case k == 0:
			case v > 0xff:
				b.WriteRune(rune(v)) // "\400": Perl's wide character
			default:
				b.WriteByte(byte(v))
			}
			b.WriteString(s[i+1+k : i+1+digits])
			i += digits
			continue
		default:
			b.WriteByte(c)
			continue
		}
		i++
	}
	if d := b.String(); d != "\n" {
		return d, nil
	}
	return Lines, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// oneLine renders err on a single line so the caller's message stays one line.
func oneLine(err error) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(err.Error())
}

// fileName is how a message names the input file p.
func fileName(p string) string {
	if p == "-" {
		return "standard input (-)"
	}
	return strconv.Quote(p)
}

// records is how many inputs appendLines (delim Lines) or appendRecords
// finds in data, counted without making them.
func records(data []byte, delim string) int {
	if delim == Lines {
		delim = "\n"
	}
	n := bytes.Count(data, []byte(delim))
	if len(data) > 0 && !bytes.HasSuffix(data, []byte(delim)) {
		n++
	}
	return n
}

// appendLines appends the lines of data to src, split at "\n" as GNU parallel splits them: each line's "\n"
// is stripped and a "\r" before it kept (printf 'a\r\n' | parallel echo {} prints a, \r, \n), the empty
// text after a final newline is not a line, and empty lines elsewhere are kept as empty inputs.
func appendLines(src Source, data []byte) Source {
	s := string(data)
	for len(s) > 0 {
		line, rest, _ := strings.Cut(s, "\n")
		src = append(src, line)
		s = rest
	}
	return src
}

// ContinueLines is src with each input that ends in white space (Perl's
// \s) joined with the one after it, as GNU parallel's -L and -l read
// their lines ("Trailing blanks cause an input line to be logically
// continued on the next input line", man parallel): 'a ' then 'b' is one
// input, 'a b'; a last one keeps its white space.
func ContinueLines(src Source) Source {
	out := src[:0:0]
	pending, continued := "", false
	for _, v := range src {
		if continued {
			v = pending + v
		}
		if pending, continued = v, v != "" && strings.ContainsRune(perlSpace, rune(v[len(v)-1])); !continued {
			out = append(out, v)
		}
	}
	if continued {
		out = append(out, pending)
	}
	return out
}

// ColumnSep joins the columns of one input in a source that Combine made: NUL, which no argument can hold,
// so that no input's own text is ever taken for a separator.
const ColumnSep = "\x00"

// Trim is GNU parallel's --trim: which ends of each input (with --colsep, of each column) lose their white
// space (Perl's \s: space, tab, newline, carriage return, form feed, vertical tab).
type Trim uint8

const (
	TrimNone  Trim = 0
	TrimLeft  Trim = 1
	TrimRight Trim = 2
	TrimBoth       = TrimLeft | TrimRight
)

// ParseTrim reads --trim's value as parallel does: n, l, r, lr or rl.
func ParseTrim(s string) (Trim, error) {
	switch s {
	case "n":
		return TrimNone, nil
	case "l":
		return TrimLeft, nil
	case "r":
		return TrimRight, nil
	case "lr", "rl":
		return TrimBoth, nil
	}
	return 0, fmt.Errorf("--trim %q: give n (none), l (left), r (right) or lr (both ends)", s)
}

const perlSpace = " \t\n\r\f\v"

// Apply is v with the white space at t's ends removed.
func (t Trim) Apply(v string) string {
	if t&TrimLeft != 0 {
		v = strings.TrimLeft(v, perlSpace)
	}
	if t&TrimRight != 0 {
		v = strings.TrimRight(v, perlSpace)
	}
	return v
}

// Combine applies GNU parallel's linking and --colsep to sources, as parsed (linked as ParseLinked gives
// it; nil: none linked): with colsep set, each input is split where colsep matches, each part a column
// (an input of its own to the command: {1}, {2}, ... number the columns of all groups in turn); a group
// linked to the one before it is paired with it, input by input, as many as the shorter has (:::+); with
// linkAll every group is paired (--link), as many as the longest has, the shorter ones starting over. A
// source of several columns holds them joined by ColumnSep; columns says whether any does (then the
// tasks' inputs are Columns of Tuple's). trim applies to each input, or split by colsep, to each column
// (GNU parallel's --trim, which is lr with --colsep unless given).
func Combine(sources []Source, linked []bool, linkAll bool, colsep *regexp.Regexp, trim Trim) (out []Source, columns bool) {
	if colsep != nil {
		split := make([]Source, len(sources))
		for i, src := range sources {
			split[i] = make(Source, len(src))
			for j, v := range src {
				cols := SplitColumns(colsep, v)
				for k := range cols {
					cols[k] = trim.Apply(cols[k])
				}
				split[i][j] = strings.Join(cols, ColumnSep)
			}
		}
		sources, columns = split, true
	} else if trim != TrimNone {
		trimmed := make([]Source, len(sources))
		for i, src := range sources {
			trimmed[i] = make(Source, len(src))
			for j, v := range src {
				trimmed[i][j] = trim.Apply(v)
			}
		}
		sources = trimmed
	}
	for i := 0; i < len(sources); {
		j := i + 1
		for j < len(sources) && (linkAll || j < len(linked) && linked[j]) {
			j++
		}
		block := sources[i:j]
		i = j
		if len(block) == 1 {
			out = append(out, block[0])
			continue
		}
		columns = true
		n := len(block[0])
		for _, src := range block[1:] {
			if linkAll {
				n = max(n, len(src))
			} else {
				n = min(n, len(src))
			}
		}
		if slices.ContainsFunc(block, func(s Source) bool { return len(s) == 0 }) {
			n = 0 // an empty group pairs with nothing
		}
		paired := make(Source, n)
		parts := make([]string, len(block))
		for r := range n {
			for k, src := range block {
				parts[k] = src[r%len(src)]
			}
			paired[r] = strings.Join(parts, ColumnSep)
		}
		out = append(out, paired)
	}
	return out, columns
}

// SplitColumns splits v where colsep matches, as regexp.Split does, and,
// as Perl's split (which GNU parallel's --colsep is), makes what each
// capture group of a separator matched a column of its own: --colsep
// '(,)' splits "x,y" into x , y (a group that took no part: empty).
// An empty colsep splits v into its bytes and an empty column after
// them, as parallel 20221122's split //, $_, -1 does: an empty --colsep makes
// "ab" a, b and "", and an é two columns, a byte each (Perl reads its
// input as bytes).
func SplitColumns(colsep *regexp.Regexp, v string) []string {
	if colsep.String() == "" {
		if v == "" {
			return nil
		}
		out := make([]string, 0, len(v)+1)
		for i := range len(v) {
			out = append(out, v[i:i+1])
		}
		return append(out, "")
	}
	if colsep.NumSubexp() == 0 {
		return colsep.Split(v, -1)
	}
	var out []string
	beg, end := 0, 0
	for _, m := range colsep.FindAllStringSubmatchIndex(v, -1) {
		end = m[0]
		if m[1] != 0 {
			out = append(out, v[beg:end])
			for g := 2; g+1 < len(m); g += 2 {
				if m[g] < 0 {
					out = append(out, "")
				} else {
					out = append(out, v[m[g]:m[g+1]])
				}
			}
		}
		beg = m[1]
	}
	if end != len(v) {
		out = append(out, v[beg:])
	}
	return out
}

// Chunk is src's inputs n at a time (the last chunk may hold fewer), each
// chunk one input of columns (parallel's -N: {1} ... {n} are a task's n
// inputs).
func Chunk(src Source, n int) []Source { return Fill(src, n, 0, 0, nil) }

// Fill is src's inputs a task at a time, as GNU parallel's -m and -X give
// them: as many as most (at least 1), but, with limit > 0, no more than
// keep the task's command line within limit bytes, base being what the line
// takes with no input and size(v) what input v adds to it (an input that
// alone passes the limit still makes a task). Each task's inputs are one
// input of columns, as Chunk's.
func Fill(src Source, most, limit, base int, size func(string) int) []Source {
	most = max(most, 1)
	out := make(Source, 0, (len(src)+most-1)/most)
	for i := 0; i < len(src); {
		j, line := i, base
		for ; j < len(src) && j-i < most; j++ {
			if limit > 0 {
				if line += size(src[j]); j > i && line > limit {
					break
				}
			}
		}
		out = append(out, strings.Join(src[i:j], ColumnSep))
		i = j
	}
	return []Source{out}
}

// Inputs is task i's inputs: Tuple's, each one's columns (Combine) inputs of their own when columns.
func Inputs(sources []Source, i int64, columns bool) []string {
	t := Tuple(sources, i)
	if columns {
		return Columns(t)
	}
	return t
}

// Task is task i's inputs (Inputs') and its number, its {#}: i+1, or, when numbered, the last column of
// its input, which is then no input (a map of some of another's tasks: burst.MapSpec.Numbered).
func Task(sources []Source, i int64, columns, numbered bool) ([]string, int64) {
	in := Inputs(sources, i, columns)
	if !numbered || len(in) == 0 {
		return in, i + 1
	}
	seq, err := strconv.ParseInt(in[len(in)-1], 10, 64)
	if err != nil {
		seq = i + 1 // never: the spec's validation checks each number
	}
	return in[:len(in)-1], seq
}

// Columns is a task's inputs (Tuple's) with each one's columns (Combine) made inputs of their own.
func Columns(inputs []string) []string {
	var out []string
	for _, in := range inputs {
		out = append(out, strings.Split(in, ColumnSep)...)
	}
	return out
}

// appendRecords appends the inputs of data that each end at delim, as Perl reads records that end at $/
// (the last may end at the data's end; the empty text after a final delim is not an input).
func appendRecords(src Source, data []byte, delim string) Source {
	s := string(data)
	for len(s) > 0 {
		in, rest, _ := strings.Cut(s, delim)
		src = append(src, in)
		s = rest
	}
	return src
}

// FillEmpty gives each empty source one empty value when some source is not empty, as GNU parallel does
// (`parallel echo {1}-{2} ::: a b :::: empty-file` runs "a-" and "b-"); when every source is empty it
// returns them as they are (no task runs). It changes sources in place and returns them.
func FillEmpty(sources []Source) []Source {
	if !slices.ContainsFunc(sources, func(s Source) bool { return len(s) > 0 }) {
		return sources
	}
	for i, s := range sources {
		if len(s) == 0 {
			sources[i] = Source{""}
		}
	}
	return sources
}

// Count is the number of tasks: the product of the sources' lengths (cartesian product), or 0 if no source.
// It returns an error if the product overflows int64 or exceeds limit.
//
// A limit <= 0 means no limit other than int64. A source with no values makes the product 0, which is
// never an error.
func Count(sources []Source, limit int64) (int64, error) {
	if len(sources) == 0 {
		return 0, nil
	}
	for _, s := range sources {
		if len(s) == 0 {
			return 0, nil
		}
	}
	n := int64(1)
	for _, s := range sources {
		l := int64(len(s))
		if n > math.MaxInt64/l {
			return 0, fmt.Errorf("the input groups (%s values) make more than %d tasks: use fewer or shorter ::: groups", sizes(sources), int64(math.MaxInt64))
		}
		n *= l
	}
	if limit > 0 && n > limit {
		return 0, fmt.Errorf("the input groups (%s values) make %d tasks, more than the limit of %d: split the inputs over several `burst map` runs", sizes(sources), n, limit)
	}
	return n, nil
}

// sizes renders the group lengths as "3 x 4 x 5", shortened when there are many groups.
func sizes(sources []Source) string {
	const most = 8
	parts := make([]string, 0, most+1)
	for i, s := range sources {
		if i == most {
			parts = append(parts, fmt.Sprintf("... (%d groups)", len(sources)))
			break
		}
		parts = append(parts, strconv.Itoa(len(s)))
	}
	return strings.Join(parts, " x ")
}

// Tuple returns the inputs of task i (0-based) of the cartesian product, the LAST source varying fastest
// (GNU parallel order: "::: a b ::: 1 2" gives (a,1) (a,2) (b,1) (b,2)). O(len(sources)), no allocation besides
// the result.
//
// i must be in [0, Count(sources)); Tuple panics otherwise, as indexing out of range does.
func Tuple(sources []Source, i int64) []string {
	if i < 0 {
		panic("mapspec.Tuple: negative task index")
	}
	out := make([]string, len(sources))
	for k := len(sources) - 1; k >= 0; k-- {
		l := int64(len(sources[k]))
		if l == 0 {
			panic("mapspec.Tuple: a source has no values, so there are no tasks")
		}
		out[k] = sources[k][i%l]
		i /= l
	}
	if i != 0 {
		panic("mapspec.Tuple: task index beyond the number of tasks")
	}
	return out
}

// token kinds.
const (
	kAll     = iota // {} {.} {/} {//} {/.}: every input of the task
	kPos            // {n} {n.} ... and {-n} ...: one input
	kSeq            // {#}
	kSlot           // {%}
	kTotal          // {##}: the map's number of tasks
	kSeqPad         // {0#}: {#} zero-padded to {##}'s width
	kSlotPad        // {0%}: {%} zero-padded to the width of the most slots
)

// token is one replacement string found in a template argument.
type token struct {
	kind int
	pos  int    // for kPos: n for {n}, -n for {-n}, 0 for {0}; saturates at ±maxPos
	mod  string // one of modifiers
	// op is --plus's bash-like string (plusForm's: "%" for {%re} ...),
	// a and b its text; "" for none.
	op, a, b string
}

// apply is v as t gives it: t's modifier or bash-like string applied.
func (t token) apply(v string) string {
	if t.op != "" {
		return applyPlus(t, v)
	}
	return modify(v, t.mod)
}

// modifiers are what may follow {, or the number of {n, before }: GNU parallel's {} {.} {/} {//} {/.}, and
// those of its --plus ({..} {...} {/..} {/...} {+/} {+.} {+..} {+...}).
var modifiers = [...]string{"", ".", "/", "//", "/.", "..", "...", "/..", "/...", "+/", "+.", "+..", "+..."}

const maxPos = 1 << 30

// matchToken reports whether s starts with a replacement string, and how long it is. The grammar is
// exactly: {#} {%} {##} {0#} {0%}, and {MOD} and {NMOD} with MOD one of modifiers and N an optionally
// negative decimal number; with plus, --plus's bash-like strings too ({%.gz} {2/a/b}: plusForm). Anything
// else (e.g. "{foo}", "{", "{1", "{ 1}") is literal text.
func matchToken(s string, plus bool) (t token, n int, ok bool) {
	if len(s) < 2 || s[0] != '{' {
		return token{}, 0, false
	}
	if plus {
		i, neg := 1, s[1] == '-'
		if neg {
			i++
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if op, a, b, n, ok := plusForm(s[j:]); ok && (j > i || !neg) {
			t := token{kind: kAll, op: op, a: a, b: b}
			if j > i {
				pos := 0
				for _, c := range s[i:j] {
					if pos < maxPos {
						pos = pos*10 + int(c-'0')
					}
				}
				if pos = min(pos, maxPos); neg {
					pos = -pos
				}
				t.kind, t.pos = kPos, pos
			}
			return t, j + n, true
		}
	}
	if len(s) >= 4 && s[3] == '}' {
		switch s[1:3] {
		case "##":
			return token{kind: kTotal}, 4, true
		case "0#":
			return token{kind: kSeqPad}, 4, true
		case "0%":
			return token{kind: kSlotPad}, 4, true
		}
	}
	i := 1
	switch s[i] {
	case '#', '%':
		if len(s) > 2 && s[2] == '}' {
			if s[i] == '#' {
				return token{kind: kSeq}, 3, true
			}
			return token{kind: kSlot}, 3, true
		}
		return token{}, 0, false
	}
	neg := false
	if s[i] == '-' {
		neg = true
		i++
	}
	digits := i
	pos := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if pos < maxPos {
			pos = pos*10 + int(s[i]-'0')
		}
		i++
	}
	pos = min(pos, maxPos)
	kind := kPos
	if i == digits {
		if neg {
			return token{}, 0, false
		}
		kind = kAll
	}
	if neg {
		pos = -pos
	}
	rest := s[i:]
	for _, m := range modifiers {
		if len(rest) > len(m) && rest[:len(m)] == m && rest[len(m)] == '}' {
			return token{kind: kind, pos: pos, mod: m}, i + len(m) + 1, true
		}
	}
	return token{}, 0, false
}

// pieces calls lit for each run of literal text and tok for each replacement string of arg, in order
// (with plus, --plus's bash-like strings among them).
func pieces(arg string, plus bool, lit func(string), tok func(token, string)) {
	start := 0
	for i := 0; i < len(arg); {
		if arg[i] != '{' {
			i++
			continue
		}
		t, n, ok := matchToken(arg[i:], plus)
		if !ok {
			i++
			continue
		}
		if i > start {
			lit(arg[start:i])
		}
		tok(t, arg[i:i+n])
		i += n
		start = i
	}
	if start < len(arg) {
		lit(arg[start:])
	}
}

// ReplaceWith makes r stand for the input in template, where {} does (GNU parallel's -I r): each r in its
// literal text becomes {}; replacement strings ({#}, {.} ...) are left whole, r inside them too.
func ReplaceWith(template []string, r string) []string {
	out := make([]string, len(template))
	for k, arg := range template {
		var b strings.Builder
		pieces(arg, false, func(lit string) { b.WriteString(strings.ReplaceAll(lit, r, "{}")) }, func(_ token, raw string) { b.WriteString(raw) })
		out[k] = b.String()
	}
	return out
}

// IsInput reports whether s is, whole, a replacement string that stands for an input as it is: {} or {n}
// ({-n} too), no modifier.
func IsInput(s string) bool {
	t, n, ok := matchToken(s, false)
	return ok && n == len(s) && t.mod == "" && (t.kind == kAll || t.kind == kPos)
}

// HasReplacement reports whether s holds a replacement string ({}, {1.}, {#} ...).
func HasReplacement(s string) bool { return hasReplacement([]string{s}, false) }

// HasReplacementWith is HasReplacement that, with plus, finds --plus's
// bash-like strings too ({%.gz} ...).
func HasReplacementWith(s string, plus bool) bool { return hasReplacement([]string{s}, plus) }

// UsesSlot says whether template asks for the task's job slot: {%}, or $PARALLEL_JOBSLOT in its text.
func UsesSlot(template []string) bool {
	uses := false
	for _, a := range template {
		if strings.Contains(a, "PARALLEL_JOBSLOT") {
			return true
		}
		pieces(a, false, func(string) {}, func(t token, _ string) { uses = uses || t.kind == kSlot || t.kind == kSlotPad })
	}
	return uses
}

// Named rewrites the column names of GNU parallel's --header in template as the positional replacement
// strings they stand for: with names {"x": 1, "y": 2}, "{y}" is "{2}" and "{x/.}" is "{1/.}" (each of
// the modifiers . / // /. may follow a name). Text that already is a replacement string ({1}, {#}) keeps
// its meaning, so a column named 1 is {1} only where it is the first column. Braces around any other
// text are left as they are.
func Named(template []string, names map[string]int) []string {
	out := make([]string, len(template))
	for k, arg := range template {
		var b strings.Builder
		for {
			i := strings.IndexByte(arg, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(arg[i+1:], '}')
			if j < 0 {
				break
			}
			inner := arg[i+1 : i+1+j]
			b.WriteString(arg[:i])
			arg = arg[i+1+j+1:]
			if _, _, ok := matchToken("{"+inner+"}", false); !ok {
				if pos, mod, ok := named(inner, names); ok {
					b.WriteString("{" + strconv.Itoa(pos) + mod + "}")
					continue
				}
			}
			b.WriteString("{" + inner + "}")
		}
		b.WriteString(arg)
		out[k] = b.String()
	}
	return out
}

// named finds inner, a header name and perhaps a modifier after it, in names.
func named(inner string, names map[string]int) (pos int, mod string, ok bool) {
	if pos, ok := names[inner]; ok {
		return pos, "", true
	}
	for _, m := range [...]string{"/.", "//", "/", "."} {
		if n, found := strings.CutSuffix(inner, m); found {
			if pos, ok := names[n]; ok {
				return pos, m, true
			}
		}
	}
	return 0, "", false
}

// hasReplacement reports whether any argument contains a replacement string, valid or not (with plus,
// --plus's bash-like strings are ones).
func hasReplacement(template []string, plus bool) bool {
	for _, a := range template {
		for i := strings.IndexByte(a, '{'); i >= 0; {
			if _, _, ok := matchToken(a[i:], plus); ok {
				return true
			}
			j := strings.IndexByte(a[i+1:], '{')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return false
}

// Expand builds task i's argv from the template: GNU parallel replacement strings inside each argument, as text
// substitution within that argument; an input is never shell text:
//
//	{}    the task's inputs, one argument per input group, as parallel gives one quoted word per input source
//	      ("x{}y" over inputs a and 1 gives "xa" and "1y"); for one group: the input
//	{.}   input without its extension: the last ".ext" of the last path element ("a.tar.gz" -> "a.tar")
//	{/}   basename (everything after the last "/"); {//} dirname (Perl's, as parallel: "a" -> ".", "dir/" -> ".")
//	{/.}  basename without extension
//	{#}   sequence number of the task, 1-based (seq is passed as is)
//	{n} {n.} {n/} {n//} {n/.}   the same for the n-th input (1-based); {-n} counts from the last source
//
// If the template contains no replacement string at all, the task's inputs are appended as extra arguments
// (parallel's default).
// With shell=true the script is the template arguments joined by single spaces with each replacement string
// replaced by the shell-quoted value ({} by each input quoted, joined by spaces), and inputs appended
// shell-quoted when there is no replacement string; quoted as GNU parallel quotes (shellquote.AsParallel: a value
// of letters, digits and _ . + / - as it is, anything else in single quotes). The literal text of the template is shell text; both modes
// give the command the same arguments. The script runs in $PARALLEL_SHELL, else $SHELL, as parallel's does
// (man parallel, $PARALLEL_SHELL; the step "the shell that started parallel" is left out), when that (in the
// task's environment) names an executable POSIX shell (sh, bash, dash, ksh, mksh, yash or zsh; their quoting is
// the one shellquote.Always writes), and in sh otherwise: the result is sh -c LAUNCHER sh SCRIPT, LAUNCHER
// choosing.
//
// {%} is the task's job slot (GNU parallel's: the lowest number, from 1, that no other task of the map running
// at the same time holds), known only when the task is handed out: slot 0 (not known, as for --dry-run) leaves it as written,
// as are the strings Validate rejects ({0}); {n} beyond the inputs (a column an input of a --colsep map does not
// have; Validate rejects them elsewhere) is empty, as in parallel, and a word of nothing else none (ExpandWith).
//
// With perInput (GNU parallel's -N: a task of several inputs of one group), a word holding {} (or {.}, {/}, ...)
// is repeated whole for each input, its other text around each: "pict{}.jpg" over a, b gives "picta.jpg" and
// "pictb.jpg", as parallel -N repeats the context of its replacement strings.
func Expand(template []string, inputs []string, seq int64, slot int, shell, perInput bool) []string {
	return ExpandWith(template, inputs, Numbers{Seq: seq, Slot: slot}, shell, perInput, false)
}

// Numbers are what a task's numbering replacement strings stand for: {#} is Seq, {%} Slot (0: not known,
// left as written); with Total > 0, {##} is Total, {0#} Seq zero-padded to Total's digits and {0%} Slot to
// Slots' (Total's when 0), as GNU parallel's --plus pads them. Total 0 leaves those three as written.
type Numbers struct {
	Seq   int64
	Slot  int
	Total int64
	Slots int
	// Plus: the template was given with GNU parallel's --plus, and its
	// bash-like strings ({%.gz} {/a/b} ...) are filled; without, they are
	// text, as parallel leaves them.
	Plus bool
}

// ExpandWith is Expand with the task's numbers n, {##} {0#} and {0%} among them, and quoted: the template's
// words were given as GNU parallel -q's. A word made only of replacement strings for values a task lacks ({2}
// in a task of one input of -N 2, {3} of an input of two --colsep columns) is no argument, as parallel's shell
// drops the empty word it writes, unless quoted (parallel -q gives an empty argument); in shell text it is
// nothing.
func ExpandWith(template []string, inputs []string, n Numbers, shell, perInput, quoted bool) []string {
	words, lacking := Words(template, inputs, n, shell, perInput)
	if shell {
		return []string{"sh", "-c", ShellLauncher, "sh", strings.Join(words, " ")}
	}
	if quoted || len(lacking) == 0 {
		return words // every map task's command goes through here: no copy where none is dropped
	}
	out := words[:0:0]
	for k, w := range words {
		if !slices.Contains(lacking, k) {
			out = append(out, w)
		}
	}
	return out
}

// Words is the words of a task's command as ExpandWith makes them (with shell, the script's, to be joined by
// spaces), each kept, and lacking the indices of those made only of replacement strings for values the task
// lacks: each is "", no argument unless quoted, and written as nothing by parallel's --dry-run.
func Words(template []string, inputs []string, n Numbers, shell, perInput bool) (words []string, lacking []int) {
	has := hasReplacement(template, n.Plus)
	quote, text := func(s string) string { return s }, func(string) {}
	if shell {
		// as GNU parallel quotes (`$(({}*2))` computes), and data wherever
		// the template's own quotes leave it ('{}', "{} n", `echo {}`)
		var ctx shellquote.Context
		quote, text = ctx.Quote, ctx.Write
	}
	lit := func(b *strings.Builder) func(string) {
		return func(s string) { b.WriteString(s); text(s) }
	}
	words = make([]string, 0, len(template)+len(inputs))
	var b strings.Builder
	for k, arg := range template {
		if k > 0 {
			text(" ")
		}
		if perInput && len(inputs) > 1 && holdsAll(arg, n.Plus) {
			for i, in := range inputs {
				if i > 0 {
					text(" ")
				}
				b.Reset()
				pieces(arg, n.Plus, lit(&b), func(t token, raw string) {
					v, ok := t.apply(in), true
					if t.kind != kAll {
						v, ok = value(t, inputs, n)
					}
					if !ok {
						lit(&b)(raw)
						return
					}
					b.WriteString(quote(v))
				})
				words = append(words, b.String())
			}
			continue
		}
		b.Reset()
		missing := true // arg is only replacement strings for values the task lacks
		write := lit(&b)
		pieces(arg, n.Plus, func(s string) { missing = false; write(s) }, func(t token, raw string) {
			if t.kind == kPos && t.pos != 0 {
				if _, ok := resolve(t.pos, len(inputs)); !ok {
					return // nothing, as parallel writes it in its shell text
				}
			}
			if t.kind == kAll && len(inputs) == 0 {
				return // {} of a task of no input (-n 0): the same
			}
			missing = false
			if t.kind == kAll && len(inputs) > 1 {
				for i, in := range inputs {
					switch {
					case i == 0:
					case shell:
						lit(&b)(" ")
					default: // a new argument per input group
						words = append(words, b.String())
						b.Reset()
					}
					b.WriteString(quote(t.apply(in)))
				}
				return
			}
			v, ok := value(t, inputs, n)
			if !ok {
				lit(&b)(raw)
				return
			}
			b.WriteString(quote(v))
		})
		if missing {
			lacking = append(lacking, len(words))
		}
		words = append(words, b.String())
	}
	if !has {
		for _, in := range inputs {
			text(" ")
			words = append(words, quote(in))
		}
	}
	return words, lacking
}

// holdsAll reports whether a word of a template holds {} or one of its forms ({.}, {/}, ...; with plus,
// --plus's {%.gz} ...).
func holdsAll(arg string, plus bool) bool {
	found := false
	pieces(arg, plus, func(string) {}, func(t token, _ string) { found = found || t.kind == kAll })
	return found
}

// ShellLauncher runs the script in $1 with $PARALLEL_SHELL, else $SHELL, when that is an executable POSIX
// shell, else with sh. An agent that can choose the shell itself does (Launch): sh drops the environment
// entries that are no shell variable's, among them bash's exported functions (BASH_FUNC_f%%), which a
// script run with parallel --env or export -f calls.
var ShellLauncher = `s=${PARALLEL_SHELL:-$SHELL}; case ${s##*/} in ` + strings.Join(posixShells, "|") + `) [ -x "$s" ] || s=sh;; *) s=sh;; esac; exec "$s" -c "$1"`

// posixShells are the shells, by file name, that ShellLauncher and Launch take from $PARALLEL_SHELL or
// $SHELL; any other (csh, fish, ...) runs the script in sh.
var posixShells = []string{"sh", "bash", "dash", "ksh", "mksh", "yash", "zsh"}

// AsCommand is the command of a task whose inputs are the command (a map given none, as GNU parallel runs
// its inputs then): the inputs joined by spaces, run as shell text as --shell's scripts are.
func AsCommand(inputs []string) []string {
	return []string{"sh", "-c", ShellLauncher, "sh", strings.Join(inputs, " ")}
}

// Launch is argv with ShellLauncher's choice made here, for env (the task's environment) on a machine where
// executable says whether a path can be run: sh -c LAUNCHER sh SCRIPT becomes SHELL -c SCRIPT, the shell
// chosen as the launcher chooses it. Any other argv is returned as it is.
func Launch(argv, env []string, executable func(string) bool) []string {
	if len(argv) != 5 || argv[0] != "sh" || argv[1] != "-c" || argv[2] != ShellLauncher || argv[3] != "sh" {
		return argv
	}
	get := func(name string) string {
		for i := len(env) - 1; i >= 0; i-- { // the last one counts, as in exec
			if v, ok := strings.CutPrefix(env[i], name+"="); ok {
				return v
			}
		}
		return ""
	}
	sh := get("PARALLEL_SHELL")
	if sh == "" {
		sh = get("SHELL")
	}
	if slices.Contains(posixShells, sh[strings.LastIndexByte(sh, '/')+1:]) && executable(sh) {
		return []string{sh, "-c", argv[4]}
	}
	return []string{"sh", "-c", argv[4]}
}

// value is the text of replacement string t for a task, or false when t has none (unsupported or out of range).
func value(t token, inputs []string, n Numbers) (string, bool) {
	digits := func(v int64) int { return len(strconv.FormatInt(max(v, 1), 10)) }
	switch t.kind {
	case kSeq:
		return strconv.FormatInt(n.Seq, 10), true
	case kSlot:
		return strconv.Itoa(n.Slot), n.Slot > 0
	case kTotal:
		return strconv.FormatInt(n.Total, 10), n.Total > 0
	case kSeqPad:
		return fmt.Sprintf("%0*d", digits(n.Total), n.Seq), n.Total > 0
	case kSlotPad:
		return fmt.Sprintf("%0*d", digits(int64(cmp.Or(n.Slots, int(min(n.Total, math.MaxInt32))))), n.Slot), n.Slot > 0 && n.Total > 0
	case kAll: // several inputs are several arguments: see Expand
		if len(inputs) == 0 {
			return "", true
		}
		return t.apply(inputs[0]), true
	}
	if t.pos == 0 {
		return "", false
	}
	idx, ok := resolve(t.pos, len(inputs))
	if !ok {
		return "", true // a column an input does not have (--colsep): empty, as in parallel
	}
	return t.apply(inputs[idx]), true
}

// resolve maps a positional number to an index into n inputs.
func resolve(pos, n int) (int, bool) {
	switch {
	case pos > 0 && pos <= n:
		return pos - 1, true
	case pos < 0 && pos >= -n:
		return n + pos, true
	}
	return 0, false
}

func modify(s, mod string) string {
	switch mod {
	case ".":
		return stripExt(s)
	case "/":
		return basename(s)
	case "//":
		return dirname(s)
	case "/.":
		return stripExt(basename(s))
	case "..", "...":
		return stripExts(s, len(mod))
	case "/..", "/...":
		return stripExts(basename(s), len(mod)-1)
	case "+/": // parallel's s:/[^/]*$:: || s:.*$::
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			return s[:i]
		}
		return ""
	case "+.": // s:.*\.:: || s:.*$:: (past a / too, as Perl's .* goes)
		if i := strings.LastIndexByte(s, '.'); i >= 0 {
			return s[i+1:]
		}
		return ""
	case "+..", "+...":
		if i := extsAt(s, len(mod)-1); i >= 0 {
			return s[i+1:]
		}
		return ""
	}
	return s
}

// stripExts is s without its last k extensions, as parallel's {..} (k 2: s:\.[^/.]*\.[^/.]*$::) and
// {...}: unchanged when it has fewer.
func stripExts(s string, k int) string {
	if i := extsAt(s, k); i >= 0 {
		return s[:i]
	}
	return s
}

// extsAt is where the last k extensions of s begin, (\.[^/.]*){k} at its end, or -1 when it has fewer.
func extsAt(s string, k int) int {
	i := len(s)
	for range k {
		j := strings.LastIndexAny(s[:i], "./")
		if j < 0 || s[j] != '.' {
			return -1
		}
		i = j
	}
	return i
}

// stripExt is parallel's s:\.[^/.]*$:: — drop the last "." and what follows, unless a "/" follows it.
// Like parallel, ".bashrc" gives "" and "a." gives "a".
func stripExt(s string) string { return stripExts(s, 1) }

// basename is parallel's s:.*/:: — everything after the last "/" ("dir/" gives "").
func basename(s string) string {
	return s[strings.LastIndexByte(s, '/')+1:]
}

// dirname is Perl's File::Basename::dirname on Unix, which parallel uses for {//}: trailing slashes are
// ignored, no slash gives ".", and the root stays "/". Unlike path.Dir it does not clean the path.
func dirname(s string) string {
	dir, base := fileparse(s)
	dir = stripTrailingSep(dir)
	if base == "" {
		dir, _ = fileparse(dir)
		dir = stripTrailingSep(dir)
	}
	return dir
}

// fileparse is File::Basename::fileparse for Unix: m{^(.*/)?(.*)}s, with "./" for an empty directory part.
func fileparse(s string) (dir, base string) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "./", s
	}
	return s[:i+1], s[i+1:]
}

// stripTrailingSep is s{(.)/*\z}{$1}s: drop trailing slashes but keep the first character.
func stripTrailingSep(s string) string {
	t := strings.TrimRight(s, "/")
	if t == "" && s != "" {
		return s[:1]
	}
	return t
}

// ShellSafe (plus: --plus's bash-like strings are replacement strings) refuses a command run as shell text (a map's --shell, or one
// written for GNU parallel's shell) that puts a replacement string in a
// here-document's body: $ and ` expand there whatever the quotes, and a
// line of an input could end the body early, so no quoting keeps an input
// data (shellquote.Context.InHereDoc).
func ShellSafe(template []string, plus bool) error {
	var ctx shellquote.Context
	for k, arg := range template {
		if k > 0 {
			ctx.Write(" ")
		}
		bad, unsure := false, false
		pieces(arg, plus, ctx.Write, func(_ token, _ string) {
			bad, unsure = bad || ctx.InHereDoc(), unsure || ctx.Unsure()
			ctx.Quote("x") // a value, as ExpandWith puts it
		})
		if unsure {
			return fmt.Errorf("%q: a replacement string after bash's $[ ] is not taken: bash reads it as arithmetic and sh as text, so no quoting keeps an input data in both; write $(( )) instead", strings.Join(template, " "))
		}
		if bad {
			return fmt.Errorf("%q: a replacement string in a here-document's body (after <<) is not taken: its $ and ` would expand an input's text as shell code; write the body with printf into a file, or pass the input as an argument", strings.Join(template, " "))
		}
	}
	if ctx.Write(" "); !hasReplacement(template, plus) && (ctx.InHereDoc() || ctx.Unsure()) {
		return fmt.Errorf("%q: the inputs, appended to a command that names none ({}), would land in a here-document's body (after <<) or after bash's $[, where no quoting keeps them data: put {} where each goes", strings.Join(template, " "))
	}
	return nil
}

// Validate checks the template against the number of sources before any task runs. It rejects an empty
// template and replacement strings that Expand cannot fill: {0}, and {n} or {-n} beyond nsources, and,
// with plus (GNU parallel's --plus: its bash-like strings are read), a bash-like string whose regular
// expression Go's RE2 cannot run ({%(.)\1}). Only text matching the replacement grammar exactly is a
// replacement string; everything else, like "{foo}", "{", "}", "{1" and "a{b", is literal text and valid.
func Validate(template []string, nsources int, plus bool) error {
	if len(template) == 0 {
		return errors.New("no command given: put it after --, e.g. `burst map -- ./simulate {} ::: 1 2 3`")
	}
	// {= ... =} in one word, or unquoted and so split into words ({= s/.gz// =}).
	if all := strings.Join(template, " "); strings.Contains(all, "{=") {
		i := strings.Index(all, "{=")
		if j := strings.Index(all[i+2:], "=}"); j >= 0 {
			return fmt.Errorf("%q: {= ... =} is GNU parallel's Perl expression, which burst map does not run: use {.} {/} {//} {/.} for "+
				"extensions, basenames and directories, or compute the value in the command with --shell (e.g. $(basename {} .gz))", all[i:i+2+j+2])
		}
	}
	for _, arg := range template {
		var err error
		pieces(arg, plus, func(string) {}, func(t token, raw string) {
			if err != nil {
				return
			}
			if err = checkPlus(t, raw); err == nil {
				err = checkToken(t, raw, nsources)
			}
		})
		if err != nil {
			return fmt.Errorf("%q: %w", arg, err)
		}
	}
	return nil
}

func checkToken(t token, raw string, nsources int) error {
	switch t.kind {
	case kSeq, kAll, kSlot, kTotal, kSeqPad, kSlotPad:
		return nil
	}
	if t.pos == 0 {
		return fmt.Errorf("%s refers to no input: input groups are numbered from {1}", raw)
	}
	if _, ok := resolve(t.pos, nsources); ok {
		return nil
	}
	if nsources == 0 {
		return fmt.Errorf("%s needs an input group: add `::: VALUES` or `:::: FILE` after the command", raw)
	}
	if t.pos < 0 {
		return fmt.Errorf("%s counts back from the last input group, but there %s: use {-1} to {-%d}", raw, groups(nsources), nsources)
	}
	n := raw[1 : len(raw)-1-len(t.mod)]
	if t.op != "" {
		n = strconv.Itoa(t.pos)
	}
	return fmt.Errorf("%s refers to input group %s, but there %s: use {1} to {%d}", raw, n, groups(nsources), nsources)
}

func groups(n int) string {
	if n == 1 {
		return "is only 1 (::: or ::::)"
	}
	return "are only " + strconv.Itoa(n) + " (::: or ::::)"
}
