package cli

import (
	"fmt"
	"io"
	"strings"
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
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case escaped(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape says whether clean would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || escaped(r) {
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
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi
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
	if !needsEscape(strings.NewReplacer("\n", "", "\t", "").Replace(str)) {
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
