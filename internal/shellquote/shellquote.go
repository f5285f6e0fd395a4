// Package shellquote writes a string as one word, or part of one, of a POSIX
// shell command line: the one quoter burst uses wherever it hands text to sh
// (burst map's shell mode, sbatch --wrap and pilot scripts, burst pipe's
// canonical form, which Parse reads with sh's quoting rules, and the
// dashboard's command lines).
package shellquote

import (
	"strings"
	"unicode/utf8"
)

// Quote returns s as one word that sh (and bash, dash, ksh, mksh, yash, zsh)
// reads back as exactly s, in any position of a command line. A plain word is
// left as it is: non-empty, only ASCII letters, digits and _ @ % + = : , . / -,
// and not read as syntax at the start of a command (a reserved word such as if
// or done, a variable assignment NAME=..., or zsh's =cmd). Anything else goes
// in single quotes, inside which only ' itself needs care: it is closed, given
// in double quotes, and reopened (it's -> 'it'"'"'s'). A string holding a NUL
// cannot be an argument at all; Quote does not check for one.
func Quote(s string) string {
	if plain(s) {
		return s
	}
	return Always(s)
}

// Always returns s in single quotes, plain or not, for text that goes next to
// other shell text in one word: there a plain word could join with what is
// around it ($X then a is $Xa, ~ then root is ~root, A then =1 is an
// assignment), a quoted one cannot ($X'a', ~'root', 'A'=1).
func Always(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// AsParallel returns s as GNU parallel writes a replacement string into a
// command it runs through the shell: as it is when it is made only of
// ASCII letters, digits and _ . + / - (so that `echo $(({}*2))` computes),
// in single quotes otherwise (parallel --dryrun 'echo {}' ::: 1 a.b 'a b'
// prints echo 1, echo a.b, echo 'a b'). Like parallel's, a plain value
// joins with template text next to it: $X{} over 3 is $X3.
func AsParallel(s string) string {
	if s == "" {
		return "''"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.+/-", c) >= 0) {
			return Always(s)
		}
	}
	return s
}

func plain(s string) bool {
	if s == "" || s[0] == '=' || reserved[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			return false
		}
	}
	if i := strings.IndexByte(s, '='); i > 0 && IsName(s[:i]) {
		return false // NAME=value would be an assignment before a command
	}
	return true
}

// reserved are the words POSIX sh, bash, ksh and zsh read as syntax at the
// start of a command (those made only of plain characters; ! { } [[ ]] are
// quoted anyway).
var reserved = map[string]bool{
	"case": true, "do": true, "done": true, "elif": true, "else": true, "esac": true, "fi": true, "for": true,
	"if": true, "in": true, "then": true, "until": true, "while": true, "function": true, "select": true,
	"coproc": true, "time": true, "repeat": true, "foreach": true, "end": true, "nocorrect": true, "noglob": true,
}

// IsName reports whether s is a shell variable name: a letter or _, then
// letters, digits and _.
func IsName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// Join quotes each word of argv with Quote and joins them with spaces: a
// command line sh runs as exactly argv.
func Join(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = Quote(a)
	}
	return strings.Join(out, " ")
}

// IsText reports whether s, given whole as the one word of a command, reads
// as shell text rather than as a program's name: it holds a blank, a
// newline or a character sh reads as syntax (| & ; < > ( ) $ ` \ " ' * ?),
// or starts with ~. `burst run -- 'sort x | uniq -c'` and `burst map
// 'gzip -9 {} && rm {}'` are meant for a shell (GNU parallel and sbatch
// --wrap run them with one); no program is named so. The caller checks that
// no program of that name exists before it runs s as shell text.
func IsText(s string) bool {
	return strings.ContainsAny(s, " \t\n|&;<>()$`\\\"'*?") || strings.HasPrefix(s, "~")
}

// Builtin reports whether name is a command that only a shell runs (a
// builtin such as exit, cd, eval or source, which no program on PATH
// stands for), so that a command starting with it is meant for a shell.
func Builtin(name string) bool {
	switch name {
	case ".", ":", "alias", "bg", "break", "builtin", "cd", "continue", "declare", "eval", "exec", "exit", "export",
		"fg", "hash", "jobs", "let", "local", "popd", "pushd", "read", "readonly", "return", "set", "shift", "source",
		"trap", "typeset", "ulimit", "umask", "unalias", "unset", "wait":
		return true
	}
	return false
}

// Context follows shell text as it is written, piece by piece, to know how a
// value put into it next must be quoted to stay data: GNU parallel's single
// quotes (AsParallel) are data only where the shell is outside quotes, so a
// command written for its shell with {} inside quotes ('{}', "{} n",
// `echo {}`, $(({}*2))) would run what an input holds (x'; rm -r ~; ', a
// backtick, a $(...)). Quote writes the value for where the text so far
// leaves the shell; Write takes the template's own text.
type Context struct {
	stack []frame
	esc   bool // a backslash outside single quotes escapes the next character
	dol   bool // the last character was a $ outside single quotes
	paren bool // the last character opened a $( (a ( next makes it $(( )
	// mid says the text so far ends inside a word (a # there is part of
	// it); comment that a # at a word's start began a comment, which a
	// newline ends: a value's newline there would end it and run the rest.
	mid, comment bool
	// here is 1 once a here-document's << was read, 2 once the line it
	// is on ended: the body, where $ and ` expand whatever the quotes and
	// which a line of a value could end (InHereDoc).
	here int
	// unsure says the shells burst may run the text in (sh, bash) read
	// what follows apart: after bash's $[.
	unsure bool
}

// Unsure says whether the shells a task may run in (sh or bash: its
// $SHELL) read the text so far apart, so that no quoting of a value put
// next is data in both: after bash's $[ ] (dash's plain text), or a \'
// in bash's $'...' (where sh's quote ends).
func (c *Context) Unsure() bool { return c.unsure }

// InHereDoc says whether the text so far is in a here-document's body
// (after << and the end of its line; the body's end is not followed): no
// quoting keeps a value there data, so a command puts none there.
func (c *Context) InHereDoc() bool { return c.here == 2 }

type frame struct {
	kind  byte // '\'' '"' '`' 'e' ($'...'), 'c' ($( )), 'a' ($(( )))
	depth int  // ( ) nesting inside a $( or $((
}

func (c *Context) top() byte {
	if len(c.stack) == 0 {
		return 0
	}
	return c.stack[len(c.stack)-1].kind
}

func (c *Context) push(k byte) { c.stack = append(c.stack, frame{kind: k}) }

// endBackquote ends the innermost backquote the text is in, with what was
// opened inside it (the shell finds a backquote's end before it reads the
// quotes inside), and says whether there was one.
func (c *Context) endBackquote() bool {
	for i := len(c.stack) - 1; i >= 0; i-- {
		if c.stack[i].kind == '`' {
			c.stack = c.stack[:i]
			return true
		}
	}
	return false
}
func (c *Context) pop() { c.stack = c.stack[:len(c.stack)-1] }

// Write follows the shell text s.
func (c *Context) Write(s string) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		top := c.top()
		if c.comment {
			if ch == '\n' {
				c.comment, c.mid = false, false
			}
			continue
		}
		if top == '\'' || top == 'e' && !c.esc {
			c.mid = true
			if ch == '`' && c.endBackquote() { // a backquote ends at the next one, quotes or not
				continue
			}
			switch {
			case ch == '\'':
				c.pop()
			case ch == '\\' && top == 'e':
				c.esc = true
			}
			continue
		}
		if c.esc {
			if top == 'e' && ch == '\'' {
				c.unsure = true // bash's $'\'' goes on, sh's ends at that quote
			}
			c.esc, c.mid = false, true
			continue
		}
		dol, paren := c.dol, c.paren
		c.dol, c.paren = false, false
		command := top == 0 || top == 'c' || top == '`' // where a # may begin a comment
		if ch == '#' && command && !c.mid && !dol {
			c.comment = true
			continue
		}
		c.mid = !command || strings.IndexByte(" \t\n;&|()<>", ch) < 0
		switch {
		case command && ch == '<' && i+1 < len(s) && s[i+1] == '<' && (i+2 >= len(s) || s[i+2] != '<'):
			c.here = max(c.here, 1) // a here-document (<<< is a here-string: a word)
			i++
		case command && ch == '\n' && c.here == 1:
			c.here = 2
		case ch == '\\':
			c.esc = true
		case ch == '"' && top == '"':
			c.pop()
		case ch == '"' && top != 'a':
			c.push('"')
		case ch == '\'' && dol && top != '"' && top != 'a':
			c.push('e') // bash's $'...', where a backslash escapes
		case ch == '\'' && top != '"' && top != 'a':
			c.push('\'')
		case ch == '`' && c.endBackquote():
		case ch == '`':
			c.push('`')
		case ch == '$':
			c.dol = true
		case ch == '(' && paren && top == 'c' && c.stack[len(c.stack)-1].depth == 0:
			c.stack[len(c.stack)-1].kind = 'a' // $(( arithmetic
		case ch == '(' && dol:
			c.push('c')
			c.paren = true
		case ch == '[' && dol:
			// bash's $[ ] arithmetic, where quotes are plain and $ and `
			// expand; sh's (dash's) plain text, where quotes quote: no
			// quoting is data in both (Unsure).
			c.unsure = true
		case ch == '(' && (top == 'c' || top == 'a'):
			c.stack[len(c.stack)-1].depth++
		case ch == ')' && (top == 'c' || top == 'a'):
			f := &c.stack[len(c.stack)-1]
			switch {
			case f.depth > 0:
				f.depth--
			case top == 'a' && i+1 < len(s) && s[i+1] == ')':
				c.pop()
				c.mid = true // the word goes on ($((1))# is no comment)
				i++
			default:
				c.pop()
				c.mid = true
			}
		}
	}
}

// Quote returns v written so that, put where the text so far leaves the
// shell, it is v's text and nothing else: as AsParallel outside quotes (so
// as GNU parallel's shell gets it), v itself between single quotes (its '
// as '\”), AsParallel's text with \ " $ ` escaped between double quotes or
// in arithmetic, and escaped once more for each backquote around it. Quote
// does not follow v: the text after it continues where the text before it
// left off.
func (c *Context) Quote(v string) string {
	var s string
	switch top := c.top(); {
	case c.comment:
		// A comment's text is nothing to the shell but its newline, which
		// would end the comment: the value's newlines become spaces (and it
		// is quoted still, were the # no comment after all).
		s = AsParallel(strings.ReplaceAll(v, "\n", " "))
		c.esc, c.dol, c.paren = false, false, false
		return c.backquoted(s, len(c.stack))
	case top == '\'':
		s = strings.ReplaceAll(v, "'", `'\''`)
	case top == 'e':
		// bash's $'...' reads a backslash, sh's '...' does not: a value
		// with either goes between them, the quote closed and opened again
		s = v
		if strings.ContainsAny(v, `\'`) {
			s = "'" + Always(v) + "$'"
		}
		if c.esc {
			s = `\` + s // the template's backslash then stands for itself
		}
	case top == '"' || top == 'a':
		s = escape(AsParallel(v), "\\\"$`")
	default:
		s = AsParallel(v)
		if c.dol && strings.HasPrefix(s, "'") {
			s = `""` + s // after a $: not bash's $'...', where a backslash escapes its quote
		}
		if c.esc && v != "" { // a backslash before it makes its first character plain
			_, n := utf8.DecodeRuneInString(v)
			s = v[:n]
			if n < len(v) {
				s += AsParallel(v[n:])
			}
		}
	}
	c.esc, c.dol, c.paren, c.mid = false, false, false, true
	return c.backquoted(s, len(c.stack))
}

// backquoted escapes s once for each backquote among the frames below n,
// from the innermost out, as a backquoted command's text is read: \ ` $
// lose a backslash (and " too where the backquote is in double quotes).
func (c *Context) backquoted(s string, n int) string {
	for k := n - 1; k >= 0; k-- {
		if c.stack[k].kind != '`' {
			continue
		}
		chars := "\\`$"
		if k > 0 && c.stack[k-1].kind == '"' {
			chars += `"`
		}
		s = escape(s, chars)
	}
	return s
}

func escape(s, chars string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(chars, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
