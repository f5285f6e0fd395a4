package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a table shows of names, commands, reasons and paths comes from
// whoever submitted the job, and may hold control characters: an escape
// sequence that recolours, retitles or clears the terminal of whoever runs
// `burst jobs`, a newline that fakes a row. Tables show them escaped, as
// Go writes them (\x1b, \n), and -o json keeps them exact.

// clean is s as a table cell: control characters (C0, DEL, C1), the
// bidirectional overrides that reorder what follows them, and bytes that
// are not UTF-8 written as escapes; the rest as it is.
func clean(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	eachPiece(s, func(p string) bool {
		b.WriteString(p)
		return true
	})
	return b.String()
}

// cleanCut is clean(s) shortened to n characters, the last an ellipsis, as
// truncate does; an escape is kept whole or left out, never cut in half (a
// cut `\x1` would read as other characters).
func cleanCut(s string, n int) string {
	c := clean(s)
	if utf8.RuneCountInString(c) <= n {
		return c
	}
	var b strings.Builder
	w := 0
	eachPiece(s, func(p string) bool {
		pw := utf8.RuneCountInString(p)
		if w+pw > n-1 {
			return false
		}
		b.WriteString(p)
		w += pw
		return true
	})
	return b.String() + "…"
}

// eachPiece calls f with each character of s as clean writes it: as it is,
// or as one escape; f returns false to stop.
func eachPiece(s string, f func(piece string) bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		p := s[i : i+n]
		switch {
		case r == utf8.RuneError && n == 1:
			p = fmt.Sprintf(`\x%02x`, s[i])
		case escaped(r):
			p = escapeRune(r)
		}
		if !f(p) {
			return
		}
		i += n
	}
}

// shellEscaped is the inside of bash's $'...' quoting for s. A character
// clean would escape is written as one \xHH per byte of its UTF-8
// encoding, as bash's printf %q writes it (in octal, \302\233) and as
// bash reads it back whatever the locale: `\x9b` for U+009B would be read
// back as the single byte 0x9B, not the two bytes of its encoding, and
// `\u202e` depends on the reader's locale.
func shellEscaped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteString(escapeRune(r))
		case r == utf8.RuneError && n == 1, escaped(r):
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape says whether clean would change s.
func needsEscape(s string) bool { return needsEscapeBut(s, false) }

// needsEscapeBut is needsEscape, with newlines and tabs left alone when
// table says so (a table's own).
func needsEscapeBut(s string, table bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || escaped(r) && !(table && (r == '\n' || r == '\t')) {
			return true
		}
		i += n
	}
	return false
}

// escaped says whether r is never written to a terminal as it is.
func escaped(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0: // C0, DEL, C1
		return true
	case unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp): // unseen: bidi controls and marks, zero width, U+FEFF, U+2028/9
		return true
	}
	return false
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\t':
		return `\t`
	case '\r':
		return `\r`
	}
	if r < 0x100 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// safeWriter is the last line of defence of a table: it escapes, as clean
// does, whatever a cell left raw, keeping the table's own newlines and
// tabs. A cell cleaned before it reaches the tabwriter keeps the columns
// aligned; this keeps the terminal safe from the cells that were not.
type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	str := string(p)
	if !needsEscapeBut(str, true) {
		return s.w.Write(p)
	}
	var b strings.Builder
	for _, part := range strings.SplitAfter(str, "\n") {
		line, nl := strings.CutSuffix(part, "\n")
		cells := strings.Split(line, "\t")
		for i, c := range cells {
			cells[i] = clean(c)
		}
		b.WriteString(strings.Join(cells, "\t"))
		if nl {
			b.WriteByte('\n')
		}
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
