package mapspec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// GNU parallel's --plus has bash-like replacement strings, each with text
// of its own (man parallel, --plus), read only with --plus (without it
// {%.gz} is text, as parallel leaves it); an input's number may come
// first ({2%.gz}), as with {2.}:
//
//	{:-str}      str when the input is empty (or 0: Perl's $_ ||= str)
//	{:n} {:n:m}  the input from its byte n (from 0), m bytes of it
//	{#re} {##re}   without the shortest (longest) prefix re matches
//	{%re} {%%re}   without the shortest (longest) suffix re matches
//	{/re/str}    the first match of re replaced by str; {//re/str} every
//	             match, {/#re/str} one at the start, {/%re/str} at the end
//	{^re} {^^re} {,re} {,,re}  the match of re at the start (every match)
//	             in upper (lower) case, ASCII letters only
//
// re is a Perl regular expression, made ungreedy for {#re} and {%re} as
// parallel's make_regexp_ungreedy makes it, and run here as Go's (RE2),
// built as parallel builds its own (s/^$re(.*)/$1/ for {#re}): one RE2
// cannot read (a backreference, a lookaround) is refused (checkPlus).
// str is text, never a pattern of $1 ... Where RE2 and Perl differ: RE2's
// . is a whole UTF-8 character (parallel's a byte), its $ only the end
// (Perl's also before a last newline), and {//re/str} replaces no empty
// match that abuts one before it (s/a*/X/g on "ba": RE2 XbX, Perl XbXX).

// plusForm reads the bash-like string at r, what follows the { and the
// input's number: its op, its text (a, and b for {/re/str} and {:n:m})
// and its length up to its }, as parallel matches them, the longer of
// its strings first ({%%re} before {%re}).
func plusForm(r string) (op, a, b string, n int, ok bool) {
	end := strings.IndexByte(r, '}')
	if end < 0 {
		return "", "", "", 0, false
	}
	body, n := r[:end], end+1
	two := func(op string) (string, string, string, int, bool) {
		// {/#re/str} {/%re/str} {//re/str}: re is at least a byte, to the first / after it
		rest := body[len(op):]
		if rest == "" {
			return "", "", "", 0, false
		}
		j := strings.IndexByte(rest[1:], '/')
		if j < 0 {
			return "", "", "", 0, false
		}
		return op, rest[:j+1], rest[j+2:], n, true
	}
	one := func(op string, ok bool) (string, string, string, int, bool) {
		if x := body[len(op):]; ok && x != "" {
			return op, x, "", n, true
		}
		return "", "", "", 0, false
	}
	switch {
	case strings.HasPrefix(body, "/#"), strings.HasPrefix(body, "/%"), strings.HasPrefix(body, "//"):
		return two(body[:2])
	case strings.HasPrefix(body, "/"):
		// {/re/str}: re holds no # % or /
		j := strings.IndexAny(body[1:], "#%/")
		if j <= 0 || body[1+j] != '/' {
			return "", "", "", 0, false
		}
		return "/", body[1 : 1+j], body[2+j:], n, true
	case strings.HasPrefix(body, "##"):
		return one("##", len(body) > 2 && body[2] != '#')
	case strings.HasPrefix(body, "#"):
		return one("#", len(body) > 1 && body[1] != '#')
	case strings.HasPrefix(body, ":-"):
		return one(":-", true)
	case strings.HasPrefix(body, ":"):
		x, y, two := strings.Cut(body[1:], ":")
		if !digits(x) || two && !digits(y) {
			return "", "", "", 0, false
		}
		if two {
			return "::", x, y, n, true
		}
		return ":", x, "", n, true
	}
	for _, op := range [...]string{"%%", "^^", ",,", "%", "^", ","} {
		if strings.HasPrefix(body, op) && len(body) > len(op) {
			return one(op, true)
		}
	}
	return "", "", "", 0, false
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// plusPattern is the Perl pattern parallel 20221122 runs for op and re,
// and whether it replaces every match (s///g).
func plusPattern(op, re string) (pattern string, all bool) {
	switch op {
	case "#":
		return "^" + ungreedy(re) + "(.*)", false
	case "##":
		return "^" + re, false
	case "%":
		return "(.*)" + ungreedy(re) + "$", false
	case "%%":
		return re + "$", false
	case "/":
		return re, false
	case "/#":
		return "^" + re, true
	case "/%":
		return re + "$", true
	case "//":
		return re, true
	case "^", ",":
		return "^(" + re + ")", false
	}
	return "(" + re + ")", true // ^^ ,,
}

// ungreedy is parallel's make_regexp_ungreedy: a ? after each quantifier
// (* + or the } of {n,m}) outside a [class] and not escaped, unless one
// is there.
func ungreedy(re string) string {
	var b strings.Builder
	class, escape, found := false, false, false
	for i := 0; i < len(re); i++ {
		c := re[i]
		if found && c != '?' {
			b.WriteByte('?')
		}
		found = false
		b.WriteByte(c)
		switch {
		case escape:
			escape = false
		case c == '\\':
			escape = true
		case c == '[':
			class = true
		case class:
			class = c != ']'
		case c == '*' || c == '}' || c == '+':
			found = true
		}
	}
	if found {
		b.WriteByte('?')
	}
	return b.String()
}

// plusRegexps holds the compiled patterns (or the error compiling each),
// so that a map's tasks, which fill the same few, compile each once. The
// server compiles every user's, so it holds at most maxPlusRegexps: past
// that it starts again empty.
var plusRegexps struct {
	sync.Mutex
	m map[string]plusCompiled
}

type plusCompiled struct {
	re  *regexp.Regexp
	err error
}

const maxPlusRegexps = 256

// plusRegexp compiles pattern (plusPattern's) once for every task.
func plusRegexp(pattern string) (*regexp.Regexp, error) {
	plusRegexps.Lock()
	c, ok := plusRegexps.m[pattern]
	plusRegexps.Unlock()
	if ok {
		return c.re, c.err
	}
	re, err := regexp.Compile(pattern)
	plusRegexps.Lock()
	if plusRegexps.m == nil || len(plusRegexps.m) >= maxPlusRegexps {
		plusRegexps.m = map[string]plusCompiled{}
	}
	plusRegexps.m[pattern] = plusCompiled{re, err}
	plusRegexps.Unlock()
	return re, err
}

// checkPlus refuses a bash-like string whose regular expression RE2 cannot
// run as Perl would.
func checkPlus(t token, raw string) error {
	switch t.op {
	case "", ":-", ":", "::":
		return nil
	}
	pattern, _ := plusPattern(t.op, t.a)
	if _, err := plusRegexp(pattern); err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return fmt.Errorf("%s: GNU parallel reads %q in it as a Perl regular expression, and burst as Go's (RE2), which cannot take it (%s; it has no backreferences, lookarounds or possessive quantifiers); write one without, or compute the value in the command with --shell", raw, t.a, msg)
	}
	return nil
}

// applyPlus is v with t's bash-like string applied, as parallel's Perl
// does it.
func applyPlus(t token, v string) string {
	switch t.op {
	case ":-":
		if v == "" || v == "0" {
			return t.a
		}
		return v
	case ":", "::":
		from := atoiSat(t.a)
		if from >= len(v) {
			return ""
		}
		if t.op == ":" {
			return v[from:]
		}
		return v[from : from+min(atoiSat(t.b), len(v)-from)]
	}
	pattern, all := plusPattern(t.op, t.a)
	re, err := plusRegexp(pattern)
	if err != nil {
		return v // never: Validate refuses it
	}
	with := func(m []int) string { // what a match m becomes
		switch t.op {
		case "#", "%":
			return v[m[2]:m[3]]
		case "##", "%%":
			return ""
		case "^", "^^":
			return asciiCase(v[m[0]:m[1]], 'a', 'z', 'A'-'a')
		case ",", ",,":
			return asciiCase(v[m[0]:m[1]], 'A', 'Z', 'a'-'A')
		}
		return t.b // Perl's s/$re/$str/: str is text, no $1 in it read
	}
	most := 1
	if all {
		most = -1
	}
	matches := re.FindAllStringSubmatchIndex(v, most)
	if matches == nil {
		return v
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(v[last:m[0]])
		b.WriteString(with(m))
		last = m[1]
	}
	b.WriteString(v[last:])
	return b.String()
}

// atoiSat is the decimal number s, at most MaxInt32.
func atoiSat(s string) int {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 1<<31 - 1
	}
	return int(n)
}

// asciiCase shifts the bytes of s from lo to hi by d, as Perl's uc and lc
// change a string of bytes: ASCII letters only.
func asciiCase(s string, lo, hi byte, d int) string {
	b := []byte(s)
	for i, c := range b {
		if c >= lo && c <= hi {
			b[i] = byte(int(c) + d)
		}
	}
	return string(b)
}
