package pipe

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/suggest"
)

// Pipeline is a parsed pipe.
type Pipeline struct {
	Stages []Stage
	Stdin  string // path after < (first stage); "" = none
	Stdout string // path after > or >> (last stage); "" = none
	Append bool   // >> rather than >
}

// Stage is one command of a pipeline and the resources it asks for.
type Stage struct {
	Name      string // --name, else the base name of Argv[0]; made unique with -2, -3... ("cat", "cat-2")
	Argv      []string
	CPUs      int           // 0: not given (the caller's default applies)
	MemBytes  int64         // 0: not given
	GPUs      int           // 0: none
	TimeLimit time.Duration // 0: none
	Cluster   string        // --on; "": the pipe's default
	Parallel  int           // copies; 0 or 1: one
	Stack     string        // --stack: the software stack it runs inside (NAME, NAME:V, NAME@sha256:HEX); "": none
	Keep      bool          // --keep-changes: a writable root whose changes are kept, for burst stack commit (needs Stack)
	Col       int           // 1-based column where the stage's text starts (for messages); 0 for stages from a file
}

// Options provide the environment for expansion; nil functions disable that
// expansion (the text is then kept as written, quotes removed).
type Options struct {
	// Getenv looks up $NAME and ${NAME}; an unset variable expands to "".
	Getenv func(name string) (string, bool)
	// Glob expands a word holding unquoted *, ? or [. The pattern is in
	// path.Match syntax, with quoted characters backslash-escaped. A
	// path.ErrBadPattern or filepath.ErrBadPattern leaves the word as written.
	Glob func(pattern string) ([]string, error)
	// Home replaces a leading ~ or ~/; "" leaves ~ as written.
	Home string
}

// Error is a syntax or usage error at a column of the input.
type Error struct {
	Input string // the whole input line(s)
	Col   int    // 1-based rune column on its line
	Line  int    // 1-based line
	Msg   string // what is wrong, lower case, no trailing period
	Hint  string // how to fix it; may be ""
}

// Error renders the error for a terminal: the position and message on the
// first line, then the offending line with a caret under the column, then
// the hint when there is one.
func (e *Error) Error() string {
	var b strings.Builder
	lines := strings.Split(e.Input, "\n")
	oneLine := e.Line <= 1 && !strings.Contains(strings.TrimSuffix(e.Input, "\n"), "\n")
	if !oneLine {
		fmt.Fprintf(&b, "line %d, ", e.Line)
	}
	fmt.Fprintf(&b, "column %d: %s", e.Col, e.Msg)
	if e.Line >= 1 && e.Line <= len(lines) {
		var text, caret strings.Builder
		n := 0
		for _, r := range lines[e.Line-1] {
			switch {
			case r == '\t':
				text.WriteRune(r)
			case r < ' ' || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0):
				text.WriteRune('?') // keep control characters off the terminal, one column each
			default:
				text.WriteRune(r)
			}
			if n < e.Col-1 {
				if r == '\t' {
					caret.WriteRune('\t')
				} else {
					caret.WriteRune(' ')
				}
			}
			n++
		}
		for ; n < e.Col-1; n++ {
			caret.WriteRune(' ')
		}
		b.WriteString("\n  ")
		b.WriteString(text.String())
		b.WriteString("\n  ")
		b.WriteString(caret.String())
		b.WriteString("^")
	}
	if e.Hint != "" {
		b.WriteString("\n")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Hints shared by several errors.
const (
	hintOnePipeline = "burst pipe runs one pipeline: join commands with |, or run the others as separate jobs or from a script"
	hintStderr      = "each stage's stderr is kept separately: burst logs JOB --stage NAME"
	hintCmdSubst    = "command substitution is not supported; run it first and pass the result, or quote with single quotes to pass it literally"
	hintSpecial     = "positional and special parameters ($1, $@, $*, $#, $?, $$, $!, $-, $0) do not exist in burst pipe; quote with single quotes to pass them literally"
	hintBraceParam  = "parameter operators such as ${NAME:-default} are not supported; write $NAME or ${NAME}, or quote with single quotes to pass the text literally"
	hintStageOpts   = "stage options are --cpus N, --mem SIZE, --gpus N, --time DUR, --on CLUSTER, --parallel N, --stack STACK, --keep-changes and --name NAME, written before the command; to run a program whose name starts with --, write -- before it"
)

// ---------------------------------------------------------------------------
// Lexing

type tokKind int

const (
	tWord   tokKind = iota
	tPipe           // |
	tIn             // <
	tOut            // >
	tAppend         // >>
	tNL             // an unquoted newline
	tEOF
)

type token struct {
	kind tokKind
	at   int // rune index of the token's first character
	w    *word
}

// part is a run of a word: literal text (quoted or not) or a parameter.
type part struct {
	lit bool   // literal text; else a parameter
	s   string // the text, or the parameter's name
	raw string // a parameter as written ($NAME or ${NAME}), kept when expansion is off
	q   bool   // quoted (for a parameter: inside double quotes)
	at  []int  // literal: the rune index of each rune of s
	buf []byte // literal: s while the word is being read
}

// word is a shell word before expansion.
type word struct {
	parts []part
	start int // rune index of its first character
}

func (w *word) addRune(r rune, at int, q bool) {
	if n := len(w.parts); n > 0 && w.parts[n-1].lit && w.parts[n-1].q == q {
		p := &w.parts[n-1]
		p.buf = utf8.AppendRune(p.buf, r)
		p.at = append(p.at, at)
		return
	}
	w.parts = append(w.parts, part{lit: true, buf: utf8.AppendRune(nil, r), q: q, at: []int{at}})
}

// done fixes the text of the word's literal parts.
func (w *word) done() {
	for i := range w.parts {
		if w.parts[i].lit {
			w.parts[i].s, w.parts[i].buf = string(w.parts[i].buf), nil
		}
	}
}

// addQuoted records that the word holds quotes, so that empty quotes yield an
// empty argument.
func (w *word) addQuoted() {
	if n := len(w.parts); n > 0 && w.parts[n-1].lit && w.parts[n-1].q {
		return
	}
	w.parts = append(w.parts, part{lit: true, q: true})
}

// plain reports whether the word is exactly the unquoted text s.
func (w *word) plain(s string) bool {
	return len(w.parts) == 1 && w.parts[0].lit && !w.parts[0].q && w.parts[0].s == s
}

// optionLike reports whether the word starts with an unquoted --.
func (w *word) optionLike() bool {
	return len(w.parts) > 0 && w.parts[0].lit && !w.parts[0].q && strings.HasPrefix(w.parts[0].s, "--")
}

type lexer struct {
	*source
	pos  int
	toks []token
}

// source maps rune indexes to lines and columns.
type source struct {
	src string
	r   []rune
	nl  []int // rune indexes of the newlines
}

func newSource(src string) *source {
	s := &source{src: src, r: []rune(src)}
	for i, c := range s.r {
		if c == '\n' {
			s.nl = append(s.nl, i)
		}
	}
	return s
}

func (s *source) lineCol(i int) (line, col int) {
	lo, hi := 0, len(s.nl) // count newlines before i
	for lo < hi {
		m := (lo + hi) / 2
		if s.nl[m] < i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	start := 0
	if lo > 0 {
		start = s.nl[lo-1] + 1
	}
	return lo + 1, i - start + 1
}

func (s *source) col(i int) int {
	_, c := s.lineCol(i)
	return c
}

func (s *source) errAt(i int, msg, hint string) *Error {
	line, col := s.lineCol(i)
	return &Error{Input: s.src, Line: line, Col: col, Msg: msg, Hint: hint}
}

func (l *lexer) at(i int) rune {
	if i >= 0 && i < len(l.r) {
		return l.r[i]
	}
	return -1
}

// skip returns i moved past any line continuations (backslash-newline).
func (l *lexer) skip(i int) int {
	for i+1 < len(l.r) && l.r[i] == '\\' && l.r[i+1] == '\n' {
		i += 2
	}
	return i
}

// next returns the index of the character after the one at i, past line
// continuations.
func (l *lexer) next(i int) int { return l.skip(i + 1) }

func (l *lexer) emit(k tokKind, at int, w *word) {
	l.toks = append(l.toks, token{kind: k, at: at, w: w})
}

func lex(s *source) ([]token, *Error) {
	l := &lexer{source: s}
	for {
		l.pos = l.skip(l.pos)
		c := l.at(l.pos)
		switch c {
		case -1:
			l.emit(tEOF, l.pos, nil)
			return l.toks, nil
		case ' ', '\t':
			l.pos++
		case '\n':
			l.emit(tNL, l.pos, nil)
			l.pos++
		case '#': // a comment: to the end of the line
			for l.pos < len(l.r) && l.r[l.pos] != '\n' {
				l.pos++
			}
		case '|':
			j := l.next(l.pos)
			switch l.at(j) {
			case '|':
				return nil, l.errAt(l.pos, "|| is not supported", hintOnePipeline)
			case '&':
				return nil, l.errAt(l.pos, "|& is not supported", hintStderr)
			}
			l.emit(tPipe, l.pos, nil)
			l.pos = j
		case '&':
			switch l.at(l.next(l.pos)) {
			case '&':
				return nil, l.errAt(l.pos, "&& is not supported", hintOnePipeline)
			case '>':
				return nil, l.errAt(l.pos, "&> is not supported", hintStderr)
			}
			return nil, l.errAt(l.pos, "& (running in the background) is not supported",
				"burst pipe already runs the pipeline as a job; remove the &, or quote it to pass it literally")
		case ';':
			return nil, l.errAt(l.pos, "; is not supported", hintOnePipeline)
		case '(', ')':
			return nil, l.errAt(l.pos, fmt.Sprintf("%c (a subshell) is not supported", c),
				"put shell code in a script and run the script as a stage, or quote the parenthesis to pass it literally")
		case '<':
			j := l.next(l.pos)
			switch l.at(j) {
			case '<':
				if l.at(l.next(j)) == '<' {
					return nil, l.errAt(l.pos, "<<< (a here-string) is not supported", "put the text in a file and read it with < FILE")
				}
				return nil, l.errAt(l.pos, "<< (a here-document) is not supported", "put the text in a file and read it with < FILE")
			case '>':
				return nil, l.errAt(l.pos, "<> is not supported", "read a file with < FILE in the first stage and write one with > FILE in the last")
			case '&':
				return nil, l.errAt(l.pos, "<& is not supported", "read a file with < FILE in the first stage")
			case '(':
				return nil, l.errAt(l.pos, "<( ) (process substitution) is not supported", "run the other command as a stage of the pipeline, or write its output to a file first")
			}
			l.emit(tIn, l.pos, nil)
			l.pos = j
		case '>':
			j := l.next(l.pos)
			switch l.at(j) {
			case '>':
				l.emit(tAppend, l.pos, nil)
				l.pos = l.next(j)
				continue
			case '|':
				return nil, l.errAt(l.pos, ">| is not supported", "write > FILE")
			case '&':
				return nil, l.errAt(l.pos, ">& is not supported", hintStderr)
			case '(':
				return nil, l.errAt(l.pos, ">( ) (process substitution) is not supported", "run the other command as a stage of the pipeline (use tee to send the output to both)")
			}
			l.emit(tOut, l.pos, nil)
			l.pos = j
		default:
			if err := l.word(); err != nil {
				return nil, err
			}
		}
	}
}

func isDigit(c rune) bool     { return c >= '0' && c <= '9' }
func isNameStart(c rune) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c rune) bool  { return isNameStart(c) || isDigit(c) }

// word reads one word starting at l.pos.
func (l *lexer) word() *Error {
	w := &word{start: l.pos}
loop:
	for {
		l.pos = l.skip(l.pos)
		c := l.at(l.pos)
		switch c {
		case -1, ' ', '\t', '\n', '|', '&', ';', '(', ')':
			break loop
		case '<', '>':
			if len(w.parts) == 1 && w.parts[0].lit && !w.parts[0].q {
				s := string(w.parts[0].buf) // the word is still being read
				if strings.Trim(s, "0123456789") == "" {
					return l.errAt(w.start, fmt.Sprintf("%s%c redirects file descriptor %s, which is not supported", s, c, s),
						"write plain < FILE or > FILE; "+hintStderr)
				}
				if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && shellquote.IsName(s[1:len(s)-1]) {
					return l.errAt(w.start, fmt.Sprintf("%s%c is not supported", s, c), "write plain < FILE or > FILE; "+hintStderr)
				}
			}
			break loop
		case '\\':
			if l.pos+1 >= len(l.r) {
				return l.errAt(l.pos, "backslash at the end of the input", `remove it, or write \\ for a literal backslash`)
			}
			w.addRune(l.r[l.pos+1], l.pos+1, true)
			l.pos += 2
		case '\'':
			end := -1
			for i := l.pos + 1; i < len(l.r); i++ {
				if l.r[i] == '\'' {
					end = i
					break
				}
			}
			if end < 0 {
				return l.errAt(l.pos, "unterminated single quote", "close it with '")
			}
			w.addQuoted()
			for i := l.pos + 1; i < end; i++ {
				w.addRune(l.r[i], i, true)
			}
			l.pos = end + 1
		case '"':
			if err := l.dquote(w); err != nil {
				return err
			}
		case '`':
			return l.errAt(l.pos, "` (command substitution) is not supported", hintCmdSubst)
		case '$':
			if err := l.dollar(w, false); err != nil {
				return err
			}
		default:
			w.addRune(c, l.pos, false)
			l.pos++
		}
	}
	w.done()
	if err := l.braces(w); err != nil {
		return err
	}
	l.emit(tWord, w.start, w)
	return nil
}

func (l *lexer) dquote(w *word) *Error {
	open := l.pos
	l.pos++
	w.addQuoted()
	for {
		c := l.at(l.pos)
		switch c {
		case -1:
			return l.errAt(open, "unterminated double quote", `close it with "`)
		case '"':
			l.pos++
			return nil
		case '\\':
			switch n := l.at(l.pos + 1); n {
			case -1:
				return l.errAt(open, "unterminated double quote", `close it with "`)
			case '\n':
				l.pos += 2
			case '$', '`', '"', '\\':
				w.addRune(n, l.pos+1, true)
				l.pos += 2
			default:
				w.addRune('\\', l.pos, true)
				l.pos++
			}
		case '`':
			return l.errAt(l.pos, "` (command substitution) is not supported", hintCmdSubst)
		case '$':
			if err := l.dollar(w, true); err != nil {
				return err
			}
		default:
			w.addRune(c, l.pos, true)
			l.pos++
		}
	}
}

// dollar reads what follows a $ at l.pos.
func (l *lexer) dollar(w *word, inDQ bool) *Error {
	d := l.pos
	j := l.next(d)
	c := l.at(j)
	special := func(name string) *Error {
		return l.errAt(d, "$"+name+" is not supported", hintSpecial)
	}
	switch {
	case c == '(':
		if l.at(l.next(j)) == '(' {
			return l.errAt(d, "$(( )) (arithmetic expansion) is not supported",
				"compute the value first and pass the result, or quote with single quotes to pass it literally")
		}
		return l.errAt(d, "$( ) (command substitution) is not supported", hintCmdSubst)
	case c == '[':
		return l.errAt(d, "$[ ] (arithmetic expansion) is not supported",
			"compute the value first and pass the result, or quote with single quotes to pass it literally")
	case c == '\'' && !inDQ:
		return l.errAt(d, "$'...' quoting is not supported", `use '...' or "..." quoting`)
	case c == '"' && !inDQ:
		return l.errAt(d, `$"..." quoting is not supported`, `use "..." quoting`)
	case isDigit(c) || strings.ContainsRune("@*#?$!-", c):
		return special(string(c))
	case isNameStart(c):
		var name []rune
		k := j
		for isNameChar(l.at(k)) {
			name = append(name, l.r[k])
			k = l.next(k)
		}
		w.parts = append(w.parts, part{s: string(name), raw: "$" + string(name), q: inDQ})
		l.pos = k
		return nil
	case c == '{':
		k := l.next(j)
		var name []rune
		if c := l.at(k); isDigit(c) || strings.ContainsRune("@*#?$!-", c) {
			if c == '#' && isNameStart(l.at(l.next(k))) {
				return l.errAt(d, "${#NAME} is not supported", hintBraceParam)
			}
			return special(string(c))
		}
		for isNameChar(l.at(k)) {
			name = append(name, l.r[k])
			k = l.next(k)
		}
		switch l.at(k) {
		case '}':
			if len(name) == 0 {
				return l.errAt(d, "${} names no variable", "write ${NAME}")
			}
			w.parts = append(w.parts, part{s: string(name), raw: "${" + string(name) + "}", q: inDQ})
			l.pos = k + 1
			return nil
		case -1:
			return l.errAt(d, "${ has no closing }", "write ${NAME}")
		}
		return l.errAt(d, "only ${NAME} is supported inside ${ }", hintBraceParam)
	}
	// A $ that cannot start an expansion is literal, as in sh.
	w.addRune('$', d, inDQ)
	l.pos = d + 1
	return nil
}

// braces refuses bash brace expansion ({a,b} and {1..3}) in unquoted text:
// sh would pass it literally and bash would expand it, so either reading
// would surprise someone.
func (l *lexer) braces(w *word) *Error {
	type ch struct {
		r  rune
		at int
	}
	var cs []ch // unquoted literal characters; quoted text and parameters as 0
	for _, p := range w.parts {
		if !p.lit || p.q {
			cs = append(cs, ch{0, -1})
			continue
		}
		i := 0
		for _, r := range p.s {
			cs = append(cs, ch{r, p.at[i]})
			i++
		}
	}
	type open struct {
		at    int
		found bool // a , or .. directly inside
	}
	var stack []open
	bad := -1
	for k, c := range cs {
		switch {
		case c.r == '{':
			stack = append(stack, open{at: c.at})
		case len(stack) == 0:
		case c.r == ',' || (c.r == '.' && k+1 < len(cs) && cs[k+1].r == '.'):
			stack[len(stack)-1].found = true
		case c.r == '}':
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if o.found && (bad < 0 || o.at < bad) {
				bad = o.at
			}
		}
	}
	if bad >= 0 {
		return l.errAt(bad, "brace expansion {a,b} or {1..3} is not supported",
			"it is a bash feature; write the words out, or quote the word to pass the braces literally")
	}
	return nil
}

// ---------------------------------------------------------------------------
// Parsing

type mode int

const (
	modePipe mode = iota // the full language
	modeRun              // one command, no stage options, no redirections (a file's run:)
)

// Parse parses a pipeline. Errors are *Error.
func Parse(src string, opt Options) (*Pipeline, error) {
	p, err := parse(src, opt, modePipe)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func parse(src string, opt Options, m mode) (*Pipeline, *Error) {
	if err := checkText(src); err != nil {
		return nil, err
	}
	s := newSource(src)
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	toks, e := joinLines(s, toks)
	if e != nil {
		return nil, e
	}
	ps := &parser{source: s, opt: opt, mode: m}
	return ps.pipeline(toks)
}

// checkText refuses text that cannot become arguments: invalid UTF-8 and NUL.
func checkText(src string) *Error {
	bad := -1
	msg := ""
	for i, r := range src {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(src[i:]); n == 1 {
				bad, msg = i, "the input is not valid UTF-8"
				break
			}
		}
		if r == 0 {
			bad, msg = i, "the input holds a NUL character"
			break
		}
	}
	if bad < 0 {
		return nil
	}
	pre := src[:bad]
	line := strings.Count(pre, "\n") + 1
	col := utf8.RuneCountInString(pre[strings.LastIndexByte(pre, '\n')+1:]) + 1
	return &Error{Input: src, Line: line, Col: col, Msg: msg, Hint: "arguments must be text; remove the character or put it in a file"}
}

// joinLines drops the newlines that do not end a command: blank lines, those
// after a |, those before a line that starts with |, and trailing ones. Any
// other newline would start a second command, which is refused.
func joinLines(s *source, toks []token) ([]token, *Error) {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tNL {
			out = append(out, t)
			continue
		}
		if len(out) == 0 || out[len(out)-1].kind == tPipe {
			continue
		}
		k := i
		for toks[k].kind == tNL {
			k++
		}
		if toks[k].kind == tPipe || toks[k].kind == tEOF {
			continue
		}
		line, _ := s.lineCol(toks[k].at)
		return nil, s.errAt(toks[k].at, fmt.Sprintf("a second command starts on line %d", line),
			`burst pipe runs one pipeline: end a line with | (or start the next with |) to pipe into the next command, or end it with \ to continue the command`)
	}
	return out, nil
}

type parser struct {
	*source
	opt  Options
	mode mode
}

type redir struct {
	kind tokKind
	at   int
	w    *word
}

func (ps *parser) pipeline(toks []token) (*Pipeline, *Error) {
	var stages [][]token
	var cur []token
	lastPipe := -1
	for _, t := range toks {
		switch t.kind {
		case tPipe:
			if ps.mode == modeRun {
				return nil, ps.errAt(t.at, "| is not allowed in run:", "a stage runs one command; write each command as its own stage")
			}
			if len(cur) == 0 {
				return nil, ps.errAt(t.at, "empty stage before |", "every stage needs a command: a | b | c")
			}
			stages = append(stages, cur)
			cur = nil
			lastPipe = t.at
		case tEOF:
			if len(cur) == 0 {
				if lastPipe >= 0 {
					return nil, ps.errAt(lastPipe, "empty stage after |", "every stage needs a command: a | b | c")
				}
				if ps.mode == modeRun {
					return nil, ps.errAt(0, "no command", "write the command to run, e.g. run: sort -k3")
				}
				return nil, ps.errAt(0, "empty pipeline", "write commands joined by |, e.g. gen | filter > out.txt")
			}
			stages = append(stages, cur)
		default:
			cur = append(cur, t)
		}
	}

	p := &Pipeline{}
	explicit := make([]bool, len(stages))
	names := map[string]bool{}
	var in, out *redir
	for i, st := range stages {
		s, named, rs, err := ps.stage(st, names)
		if err != nil {
			return nil, err
		}
		explicit[i] = named
		for _, r := range rs {
			switch r.kind {
			case tIn:
				if i > 0 {
					return nil, ps.errAt(r.at, fmt.Sprintf("< in stage %d of %d", i+1, len(stages)),
						"only the first stage can read a file with <: the other stages read the output of the stage before; give the file to the program as an argument instead")
				}
				if in != nil {
					return nil, ps.errAt(r.at, "a second <", "read one file with <; to read several, start with cat A B | ...")
				}
				in = &r
			default:
				if i < len(stages)-1 {
					return nil, ps.errAt(r.at, fmt.Sprintf("%s in stage %d of %d", opText(r.kind), i+1, len(stages)),
						"only the last stage can write to a file with >: the output of the others goes to the next stage; use tee FILE to keep a copy as well")
				}
				if out != nil {
					return nil, ps.errAt(r.at, "a second "+opText(r.kind), "write one file with > or >>; use tee FILE to write another as well")
				}
				out = &r
			}
		}
		p.Stages = append(p.Stages, s)
	}
	if in != nil {
		v, err := ps.expandOne(in.w)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, ps.errAt(in.w.start, "the file name after < is empty", "")
		}
		p.Stdin = v
	}
	if out != nil {
		v, err := ps.expandOne(out.w)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, ps.errAt(out.w.start, "the file name after "+opText(out.kind)+" is empty", "")
		}
		p.Stdout = v
		p.Append = out.kind == tAppend
	}
	assignNames(p.Stages, explicit)
	return p, nil
}

func opText(k tokKind) string {
	switch k {
	case tIn:
		return "<"
	case tAppend:
		return ">>"
	}
	return ">"
}

// reserved are the words sh treats as syntax at the start of a command.
var reserved = map[string]bool{
	"!": true, "{": true, "}": true, "case": true, "do": true, "done": true, "elif": true, "else": true,
	"esac": true, "fi": true, "for": true, "if": true, "in": true, "then": true, "until": true, "while": true,
	"[[": true, "]]": true, "function": true, "select": true, "coproc": true,
}

// assignment reports whether a command word would be a variable assignment
// in sh (NAME=... with the name unquoted).
func (w *word) assignment() bool {
	if len(w.parts) == 0 || !w.parts[0].lit || w.parts[0].q {
		return false
	}
	i := strings.IndexByte(w.parts[0].s, '=')
	return i > 0 && shellquote.IsName(w.parts[0].s[:i])
}

func (ps *parser) stage(toks []token, names map[string]bool) (Stage, bool, []redir, *Error) {
	s := Stage{Col: ps.col(toks[0].at)}
	var words []*word
	var rs []redir
	seen := map[string]bool{}
	named := false
	inOpts := true
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if t.kind != tWord {
			op := opText(t.kind)
			if ps.mode == modeRun {
				return s, false, nil, ps.errAt(t.at, op+" is not allowed in run:", "give the file with the stdin: or stdout: key of the pipeline")
			}
			if k+1 >= len(toks) || toks[k+1].kind != tWord {
				return s, false, nil, ps.errAt(t.at, op+" needs a file name", "write "+op+" FILE")
			}
			rs = append(rs, redir{kind: t.kind, at: t.at, w: toks[k+1].w})
			k++
			continue
		}
		w := t.w
		if inOpts && len(w.parts) > 0 && w.parts[0].lit && !w.parts[0].q && len(w.parts[0].s) > 1 &&
			w.parts[0].s[0] == '-' && w.parts[0].s[1] != '-' {
			// -c 2 as burst run takes it: here it would be run as a
			// program named -c.
			return s, false, nil, ps.errAt(w.start, "stage options are written long: "+ps.text(w)+" is not one",
				"write e.g. --cpus 2: stage options are --cpus N, --mem SIZE, --gpus N, --time DUR, --on CLUSTER, --parallel N, --stack STACK, --keep-changes and --name NAME, before the command; to run a program whose name starts with -, write -- before it")
		}
		if !inOpts || !w.optionLike() {
			inOpts = false
			words = append(words, w)
			continue
		}
		if w.plain("--") {
			inOpts = false
			continue
		}
		if ps.mode == modeRun {
			return s, false, nil, ps.errAt(w.start, "stage options are not allowed in run:",
				"give them as keys of the stage (cpus: 4, mem: 8G, ...); to run a program whose name starts with --, write -- before it")
		}
		// --opt=VALUE or --opt VALUE
		p0 := w.parts[0]
		name := p0.s
		var val *word
		eq := strings.IndexByte(p0.s, '=')
		if eq >= 0 {
			name = p0.s[:eq]
			rest := p0.s[eq+1:]
			val = &word{}
			if rest != "" {
				off := utf8.RuneCountInString(p0.s[:eq+1])
				val.parts = append(val.parts, part{lit: true, s: rest, at: p0.at[off:]})
			}
			val.parts = append(val.parts, w.parts[1:]...)
			val.start = firstAt(val.parts, w.start)
		} else if len(w.parts) > 1 {
			name = ps.text(w)
		}
		if !knownOption[name] {
			return s, false, nil, ps.errAt(w.start, "unknown stage option "+name+didYouMean(name), hintStageOpts)
		}
		if seen[name] {
			return s, false, nil, ps.errAt(w.start, name+" is given twice", "give each stage option once per stage")
		}
		seen[name] = true
		if name == "--keep-changes" { // a switch: it takes no value
			if eq >= 0 {
				return s, false, nil, ps.errAt(w.start, name+" takes no value", "write --keep-changes alone (with --stack STACK)")
			}
			s.Keep = true
			continue
		}
		if eq >= 0 && len(val.parts) == 0 {
			return s, false, nil, ps.errAt(w.start, name+" needs a value", "write "+name+" "+optExample[name[2:]])
		}
		if val == nil {
			if k+1 >= len(toks) || toks[k+1].kind != tWord {
				return s, false, nil, ps.errAt(w.start, name+" needs a value", "write "+name+" "+optExample[name[2:]])
			}
			val = toks[k+1].w
			k++
		}
		v, err := ps.expandOne(val)
		if err != nil {
			return s, false, nil, err
		}
		if msg, hint := setOption(&s, name[2:], v, names, false); msg != "" {
			return s, false, nil, ps.errAt(val.start, msg, hint)
		}
		if name == "--name" {
			named = true
		}
	}
	if s.Keep && s.Stack == "" {
		return s, false, nil, ps.errAt(toks[0].at, "--keep-changes keeps what the stage changes in its stack, and it runs in none",
			"give it one with --stack NAME, e.g. --stack tools --keep-changes")
	}
	if len(words) == 0 {
		msg := "stage has no command"
		if ps.mode == modeRun {
			msg = "no command"
		}
		return s, false, nil, ps.errAt(toks[0].at, msg, "write the command after the stage options, e.g. --cpus 4 sort -k3")
	}
	cmd := words[0]
	if cmd.assignment() {
		return s, false, nil, ps.errAt(cmd.start, "variable assignment "+ps.text(cmd)+" is not supported",
			"pass environment with env VAR=value cmd, which is an ordinary program")
	}
	if len(cmd.parts) == 1 && cmd.parts[0].lit && !cmd.parts[0].q && reserved[cmd.parts[0].s] {
		return s, false, nil, ps.errAt(cmd.start, fmt.Sprintf("%q is shell syntax, which is not supported", cmd.parts[0].s),
			"burst pipe runs programs, not shell code: put shell code in a script and run the script, or quote the word to run a program of that name")
	}
	for _, w := range words {
		fs, err := ps.fields(w, true)
		if err != nil {
			return s, false, nil, err
		}
		if len(s.Argv) == 0 && len(fs) > 0 && fs[0] == "" {
			return s, false, nil, ps.errAt(w.start, "the command name is empty", "write the program to run first")
		}
		s.Argv = append(s.Argv, fs...)
	}
	if len(s.Argv) == 0 {
		return s, false, nil, ps.errAt(cmd.start, "the command expands to nothing", "set the variable, or write the program to run")
	}
	return s, named, rs, nil
}

func firstAt(ps []part, def int) int {
	for _, p := range ps {
		if len(p.at) > 0 {
			return p.at[0]
		}
	}
	return def
}

// text is a word as written, for messages.
func (ps *parser) text(w *word) string {
	var b strings.Builder
	for _, p := range w.parts {
		if p.lit {
			b.WriteString(p.s)
		} else {
			b.WriteString(p.raw)
		}
	}
	return b.String()
}

var knownOption = map[string]bool{
	"--cpus": true, "--mem": true, "--gpus": true, "--time": true, "--on": true, "--parallel": true, "--name": true,
	"--stack": true, "--keep-changes": true,
}

// didYouMean is " (did you mean --cpus?)" for an unknown stage option
// close to a known one (--cpu), else "".
func didYouMean(opt string) string {
	var names []string
	for o := range knownOption {
		names = append(names, strings.TrimPrefix(o, "--"))
	}
	slices.Sort(names) // the map's order would make ties come out by chance
	close := suggest.Closest(strings.TrimPrefix(opt, "--"), names)
	if len(close) == 0 {
		return ""
	}
	return " (did you mean --" + strings.Join(close, " or --") + "?)"
}

var optExample = map[string]string{
	"cpus": "8", "mem": "8G", "gpus": "1", "time": "2h", "on": "CLUSTER", "parallel": "4", "name": "NAME",
	"stack": "tools:2",
}

// wholeNumber parses a non-negative decimal integer of plain digits.
func wholeNumber(v string) (int, bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// setOption checks and sets one stage option; key is its name without
// dashes. yamlStyle words the messages for a pipeline file's keys.
func setOption(s *Stage, key, v string, names map[string]bool, yamlStyle bool) (msg, hint string) {
	label, ex := "--"+key, "--"+key+" "
	if yamlStyle {
		label, ex = key+":", key+": "
	}
	switch key {
	case "cpus", "gpus", "parallel":
		n, ok := wholeNumber(v)
		least := 1
		if key == "gpus" {
			least = 0
		}
		if !ok || n < least {
			return fmt.Sprintf("%s wants a whole number of at least %d, not %q", label, least, v), "e.g. " + ex + optExample[key]
		}
		switch key {
		case "cpus":
			s.CPUs = n
		case "gpus":
			s.GPUs = n
		default:
			if n > 1 { // one copy is the default: keep 0, as String leaves --parallel 1 out
				s.Parallel = n
			}
		}
	case "mem":
		b, err := burst.ParseMem(v)
		if err != nil {
			return fmt.Sprintf("%s %q is not a memory size", label, v), "write e.g. " + ex + "512M or " + ex + "8G"
		}
		if b <= 0 {
			return label + " must be more than 0", "write e.g. " + ex + "512M or " + ex + "8G, or leave it out"
		}
		s.MemBytes = b
	case "time":
		d, err := burst.ParseTimeLimit(v)
		if err != nil {
			return fmt.Sprintf("%s %q is not a time limit", label, v), "write e.g. " + ex + "90s, " + ex + "2h or " + ex + "1:30:00"
		}
		if d <= 0 {
			return label + " must be more than 0", "leave " + label + " out for no limit"
		}
		if d%time.Second != 0 {
			return fmt.Sprintf("%s %q is not a whole number of seconds", label, v), "write e.g. " + ex + "90s"
		}
		s.TimeLimit = d
	case "keep-changes": // a pipeline file's key (the stage option is a switch)
		switch v {
		case "true", "yes", "on":
			s.Keep = true
		case "false", "no", "off":
			s.Keep = false
		default:
			return fmt.Sprintf("%s %q is neither true nor false", label, v), "write " + ex + "true (with stack: NAME)"
		}
	case "stack":
		if _, err := burst.ParseStackRef(v); err != nil {
			return fmt.Sprintf("%s: %v", label, err), "e.g. " + ex + optExample[key] + " (see `burst stack list`)"
		}
		s.Stack = v
	case "on":
		if !burst.ValidName(v) {
			return fmt.Sprintf("%s %q is not a cluster name", label, v), "cluster names use letters, digits, '-', '_' or '.' (at most 64)"
		}
		s.Cluster = v
	case "name":
		if !burst.ValidName(v) {
			return fmt.Sprintf("%s %q is not a valid stage name", label, v), "stage names use letters, digits, '-', '_' or '.' (at most 64)"
		}
		if names[v] {
			return fmt.Sprintf("stage name %q is used twice", v), "give each stage its own " + label
		}
		names[v] = true
		s.Name = v
	default:
		return "unknown stage option " + label, ""
	}
	return "", ""
}

// ---------------------------------------------------------------------------
// Expansion

type fchar struct {
	r      rune
	active bool // unquoted: may be a pattern character
}

type fieldBuilder struct {
	out []field
	cur []fchar
	has bool
}

type field struct {
	cs []fchar
}

func (f *fieldBuilder) add(s string, active bool) {
	for _, r := range s {
		f.cur = append(f.cur, fchar{r, active})
		f.has = true
	}
}

// split adds an unquoted expansion result, splitting it into fields at
// spaces, tabs and newlines.
func (f *fieldBuilder) split(s string) {
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' {
			f.flush()
			continue
		}
		f.cur = append(f.cur, fchar{r, true})
		f.has = true
	}
}

func (f *fieldBuilder) flush() {
	if f.has {
		f.out = append(f.out, field{f.cur})
	}
	f.cur, f.has = nil, false
}

// tilde decides how a leading ~ expands: it returns the home directory to
// put in place of the first rune, or ok=false to leave the word as written.
func (ps *parser) tilde(w *word) (home string, ok bool, err *Error) {
	if len(w.parts) == 0 || !w.parts[0].lit || w.parts[0].q || !strings.HasPrefix(w.parts[0].s, "~") {
		return "", false, nil
	}
	s := w.parts[0].s
	prefix := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		prefix = s[:i]
	} else if len(w.parts) > 1 {
		return "", false, nil // the prefix runs into quoted text or a parameter: literal, as in sh
	}
	if prefix != "~" {
		return "", false, ps.errAt(w.start, prefix+" is not supported",
			"only ~ and ~/... expand (to your home directory); write the full path, or quote the word to pass it literally")
	}
	if ps.opt.Home == "" {
		return "", false, nil
	}
	return ps.opt.Home, true, nil
}

// build expands a word's tilde and parameters; split says whether unquoted
// parameter results are split into fields.
func (ps *parser) build(w *word, split bool) (*fieldBuilder, *Error) {
	home, tilde, err := ps.tilde(w)
	if err != nil {
		return nil, err
	}
	f := &fieldBuilder{}
	for i, p := range w.parts {
		if p.lit {
			s := p.s
			if i == 0 && tilde {
				f.add(home, false)
				s = s[1:]
			}
			f.add(s, !p.q)
			if p.q {
				f.has = true
			}
			continue
		}
		if ps.opt.Getenv == nil {
			f.add(p.raw, false)
			continue
		}
		v, _ := ps.opt.Getenv(p.s)
		switch {
		case p.q:
			f.add(v, false)
			f.has = true
		case split:
			f.split(v)
		default:
			f.add(v, true)
		}
	}
	f.flush()
	return f, nil
}

// expandOne expands a word that stays one word: a redirection target or a
// stage option's value (no field splitting, no pathname expansion).
func (ps *parser) expandOne(w *word) (string, *Error) {
	f, err := ps.build(w, false)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, fl := range f.out {
		for _, c := range fl.cs {
			b.WriteRune(c.r)
		}
	}
	return b.String(), nil
}

// fields expands a command word into its fields.
func (ps *parser) fields(w *word, glob bool) ([]string, *Error) {
	f, err := ps.build(w, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, fl := range f.out {
		text := make([]rune, len(fl.cs))
		meta := false
		for i, c := range fl.cs {
			text[i] = c.r
			if c.active && (c.r == '*' || c.r == '?' || c.r == '[') {
				meta = true
			}
		}
		if glob && meta && ps.opt.Glob != nil {
			pat := pattern(fl.cs)
			m, gerr := ps.opt.Glob(pat)
			if gerr != nil && !errors.Is(gerr, path.ErrBadPattern) && !errors.Is(gerr, filepath.ErrBadPattern) {
				return nil, ps.errAt(w.start, fmt.Sprintf("cannot expand %s: %v", string(text), gerr), "quote the word to pass it literally")
			}
			if gerr == nil && len(m) > 0 {
				out = append(out, m...)
				continue
			}
		}
		out = append(out, string(text))
	}
	return out, nil
}

// pattern writes a field as a path.Match pattern: quoted characters are
// escaped, and a bracket expression's leading ! (sh) becomes ^.
func pattern(cs []fchar) string {
	var b strings.Builder
	inBr, neg := false, false
	n := 0 // characters in the bracket expression so far
	for _, c := range cs {
		switch {
		case !c.active || c.r == '\\' || (inBr && c.r == '['):
			if strings.ContainsRune(`*?[]\-^!`, c.r) {
				b.WriteByte('\\')
			}
			b.WriteRune(c.r)
			n++
		case !inBr && c.r == '[':
			b.WriteByte('[')
			inBr, neg, n = true, false, 0
		case inBr && n == 0 && !neg && (c.r == '!' || c.r == '^'):
			b.WriteByte('^')
			neg = true
		case inBr && c.r == ']' && n == 0:
			b.WriteString(`\]`)
			n++
		case inBr && c.r == ']':
			b.WriteByte(']')
			inBr = false
		default:
			b.WriteRune(c.r)
			n++
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Names

// defaultBase is the name a stage gets from its command: the base name of
// Argv[0] with characters a name cannot hold replaced by _.
func defaultBase(argv0 string) string {
	if i := strings.LastIndexByte(argv0, '/'); i >= 0 {
		argv0 = argv0[i+1:]
	}
	var b strings.Builder
	for _, r := range argv0 {
		if r < 0x80 && (r == '.' || burst.ValidName(string(r))) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() == 64 {
			break
		}
	}
	// A name starting with - would read as a flag in burst logs --stage NAME;
	// "." and ".." are no names (a program named so: `. env.sh | ...`).
	if n := strings.TrimLeft(b.String(), "-"); n != "" && n != "." && n != ".." {
		return n
	}
	return "stage"
}

func suffixed(base string, k int) string {
	s := "-" + strconv.Itoa(k)
	if len(base)+len(s) > 64 {
		base = base[:64-len(s)]
	}
	return base + s
}

// namer hands out default names: a base, then base-2, base-3... skipping
// the names taken.
type namer struct {
	taken map[string]bool
	next  map[string]int // per base: every candidate before this one is taken
}

func newNamer() *namer { return &namer{taken: map[string]bool{}, next: map[string]int{}} }

// free is the first candidate for base that is not taken.
func (nm *namer) free(base string) string {
	for k := max(nm.next[base], 1); ; k++ {
		n := base
		if k > 1 {
			n = suffixed(base, k)
		}
		if !nm.taken[n] {
			nm.next[base] = k
			return n
		}
	}
}

func argv0(s Stage) string {
	if len(s.Argv) > 0 {
		return s.Argv[0]
	}
	return ""
}

// defaultNames gives the stages without an explicit name theirs, in order,
// avoiding the explicit names and each other.
func defaultNames(stages []Stage, explicit []bool) []string {
	nm := newNamer()
	for i, s := range stages {
		if explicit[i] {
			nm.taken[s.Name] = true
		}
	}
	out := make([]string, len(stages))
	for i, s := range stages {
		if explicit[i] {
			out[i] = s.Name
			continue
		}
		out[i] = nm.free(defaultBase(argv0(s)))
		nm.taken[out[i]] = true
	}
	return out
}

func assignNames(stages []Stage, explicit []bool) {
	for i, n := range defaultNames(stages, explicit) {
		stages[i].Name = n
	}
}

// ---------------------------------------------------------------------------
// Printing

// String is the canonical text of the pipeline; Parse(p.String(), Options{})
// gives p back (but for the Col fields).
func (p *Pipeline) String() string {
	// A stage shows --name when its name is not the one it would get by
	// default after the stages before it. (Parse also reserves the explicit
	// names of later stages first, but that cannot change a default that
	// matched: every candidate before it was taken already, and names are
	// unique.)
	explicit := make([]bool, len(p.Stages))
	nm := newNamer()
	for i, s := range p.Stages {
		if nm.free(defaultBase(argv0(s))) != s.Name {
			explicit[i] = true
		}
		nm.taken[s.Name] = true
	}
	var b strings.Builder
	for i, s := range p.Stages {
		if i > 0 {
			b.WriteString(" | ")
		}
		var ws []string
		if explicit[i] {
			ws = append(ws, "--name", quote(s.Name))
		}
		if s.CPUs > 0 {
			ws = append(ws, "--cpus", strconv.Itoa(s.CPUs))
		}
		if s.MemBytes > 0 {
			ws = append(ws, "--mem", formatMem(s.MemBytes))
		}
		if s.GPUs > 0 {
			ws = append(ws, "--gpus", strconv.Itoa(s.GPUs))
		}
		if s.TimeLimit > 0 {
			ws = append(ws, "--time", formatTime(s.TimeLimit))
		}
		if s.Cluster != "" {
			ws = append(ws, "--on", quote(s.Cluster))
		}
		if s.Parallel > 1 {
			ws = append(ws, "--parallel", strconv.Itoa(s.Parallel))
		}
		if s.Stack != "" {
			ws = append(ws, "--stack", quote(s.Stack))
		}
		if s.Keep {
			ws = append(ws, "--keep-changes")
		}
		for k, a := range s.Argv {
			if k == 0 && strings.HasPrefix(a, "-") && a != "-" {
				ws = append(ws, "--") // else read as a stage option
			}
			ws = append(ws, quote(a))
		}
		b.WriteString(strings.Join(ws, " "))
		if i == 0 && p.Stdin != "" {
			b.WriteString(" < ")
			b.WriteString(quote(p.Stdin))
		}
		if i == len(p.Stages)-1 && p.Stdout != "" {
			if p.Append {
				b.WriteString(" >> ")
			} else {
				b.WriteString(" > ")
			}
			b.WriteString(quote(p.Stdout))
		}
	}
	return b.String()
}

// Copies is the number of processes the pipeline runs: each stage's
// Parallel copies (at least one).
func (p *Pipeline) Copies() int {
	n := 0
	for _, s := range p.Stages {
		n += max(s.Parallel, 1)
	}
	return n
}

// quote writes a word so that Parse reads it back unchanged, also as a
// command name (a reserved word or NAME=value is quoted): the quoting of sh,
// which Parse follows.
func quote(s string) string { return shellquote.Quote(s) }

// formatMem writes a byte count that burst.ParseMem reads back exactly (a
// bare number would mean megabytes).
func formatMem(b int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b%u.n == 0 {
			return strconv.FormatInt(b/u.n, 10) + u.s
		}
	}
	return strconv.FormatFloat(float64(b)/1024, 'f', -1, 64) + "K"
}

func formatTime(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String() // not from Parse, which takes whole seconds only
}
