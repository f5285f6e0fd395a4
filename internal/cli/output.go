package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
)

// Output conventions. Every command that prints an answer takes
// -o/--output: table (for people, the default), json or yaml (for programs;
// yaml is the JSON form written as YAML, so the field names are the same).
// A listing (burst jobs, machine list, ...: listFlags) also takes
//
//	-o wide        the table with the columns it drops for width (full
//	               names, digests, ids)
//	--no-headers   the table (or wide) without its header line
//	-q, --quiet    only the identifying column (job ids, names, digests),
//	               one per line, as `docker ps -q`
//
// In --no-headers and -q, standard output carries only the rows of the
// listing: the notes for people around it (totals, hints, a second table)
// go to standard error. A listing's renderer writes its tables through
// table(w) as always; the options reach table through the writer fetch
// hands it (an *outWriter), so a renderer asks wide(w) or quiet(w) only
// where it has more to show.

// Output formats.
const (
	fmtTable = "table"
	fmtWide  = "wide"
	fmtJSON  = "json"
	fmtYAML  = "yaml"
)

// outFlag adds -o/--output (table, json or yaml) to a command that shows
// one thing.
func outFlag(c *cobra.Command, v *string) {
	c.Flags().StringVarP(v, "output", "o", fmtTable, "output format: table, json or yaml")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{fmtTable, fmtJSON, fmtYAML}, cobra.ShellCompDirectiveNoFileComp))
}

// listFlags adds to a listing -o/--output (table, wide, json or yaml),
// --no-headers and -q/--quiet; fetch reads the last two off the command.
func listFlags(c *cobra.Command, v *string) {
	c.Flags().StringVarP(v, "output", "o", fmtTable, "output format: table, wide (more columns), json or yaml")
	c.Flags().Bool("no-headers", false, "leave out the table's header line (-o table or wide)")
	c.Flags().BoolP("quiet", "q", false, "print only the identifying column (ids, names), one per line")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{fmtTable, fmtWide, fmtJSON, fmtYAML}, cobra.ShellCompDirectiveNoFileComp))
}

// isListing says whether c took listFlags.
func isListing(c *cobra.Command) bool { return c.Flags().Lookup("no-headers") != nil }

// outOpts are the output flags as given to one command.
type outOpts struct {
	format           string
	noHeaders, quiet bool
}

// plain is whether standard output carries the rows alone.
func (o outOpts) plain() bool { return o.noHeaders || o.quiet }

// optsOf reads c's output flags (out is -o's value).
func optsOf(c *cobra.Command, out string) outOpts {
	o := outOpts{format: out}
	if isListing(c) {
		o.noHeaders, _ = c.Flags().GetBool("no-headers")
		o.quiet, _ = c.Flags().GetBool("quiet")
	}
	return o
}

// checkOut refuses an -o that c does not have and a combination that means
// nothing, in one line that names the fix. A command that checks other
// flags first calls it before them, so that a bad -o is the error it gives.
func checkOut(c *cobra.Command, out string) error {
	o := optsOf(c, out)
	switch o.format {
	case fmtTable, fmtJSON, fmtYAML:
	case fmtWide:
		if !isListing(c) {
			return usage("-o wide is for listings (burst jobs, machine list, ...): use -o table, json or yaml with %s", c.CommandPath())
		}
	default:
		if isListing(c) {
			return usage("-o %s: use -o table, wide, json or yaml", out)
		}
		return usage("-o %s: use -o table, json or yaml", out)
	}
	if o.quiet && o.format != fmtTable {
		return usage("-q prints only ids and names, one per line: drop -o %s (or -q)", o.format)
	}
	if o.noHeaders && (o.format == fmtJSON || o.format == fmtYAML) {
		return usage("--no-headers is for -o table or wide: %s has no header line to leave out", o.format)
	}
	return nil
}

// writeOut writes v as JSON or YAML (format says which; a nil slice as [],
// not null).
func writeOut(w io.Writer, format string, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		v = reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	if format == fmtYAML {
		return writeYAML(w, v)
	}
	return writeJSON(w, v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML writes v as YAML made from its JSON form: the same field names
// in the same order, the same values (a JSON document is YAML already; it
// is read back as YAML nodes and written in block style).
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle clears the flow style and quoting JSON gave n and its
// children; a string that would read as another type stays quoted (the
// encoder sees its !!str tag).
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, k := range n.Content {
		blockStyle(k)
	}
}

// fetch is what a command that asks the server one thing does: check -o,
// connect, get the answer, and write it as JSON or YAML with -o json or
// yaml, or else with render (through an outWriter that carries -o wide,
// --no-headers and -q to table). If the server goes away under it (killed,
// restarting), the client finds it again (starting a local server anew if
// need be) and asks again as its package comment says: a read always, a
// change only if it was never sent.
func fetch[T any](c *cobra.Command, out string, get func(context.Context, *client.Client) (T, error),
	render func(io.Writer, T) error) error {
	if err := checkOut(c, out); err != nil {
		return err
	}
	cl, err := connect(c.Context(), c.ErrOrStderr())
	if err != nil {
		return err
	}
	v, err := get(c.Context(), cl)
	if err != nil {
		return err
	}
	return present(c, out, v, render)
}

// present writes v as -o and the listing flags of c say (see fetch).
func present[T any](c *cobra.Command, out string, v T, render func(io.Writer, T) error) error {
	o := optsOf(c, out)
	if o.format == fmtJSON || o.format == fmtYAML {
		return writeOut(c.OutOrStdout(), o.format, v)
	}
	return render(&outWriter{w: c.OutOrStdout(), notes: c.ErrOrStderr(), o: o}, v)
}

// outWriter is where a renderer writes: standard output, and what it
// writes outside its tables (notes for people) to standard error when the
// rows alone are asked for (--no-headers, -q).
type outWriter struct {
	w, notes io.Writer
	o        outOpts
	tables   int // tables started so far
}

func (ow *outWriter) Write(p []byte) (int, error) {
	if ow.o.plain() {
		return ow.notes.Write(p)
	}
	return ow.w.Write(p)
}

// optsIn are the output options w carries (none unless it is an outWriter).
func optsIn(w io.Writer) outOpts {
	if ow, ok := w.(*outWriter); ok {
		return ow.o
	}
	return outOpts{format: fmtTable}
}

// wide is whether the listing written to w shows its wide columns.
func wide(w io.Writer) bool { return optsIn(w).format == fmtWide }

// quiet is whether the listing written to w shows its identifying column
// alone.
func quiet(w io.Writer) bool { return optsIn(w).quiet }

// plainOut is whether w carries a listing's rows alone.
func plainOut(w io.Writer) bool { return optsIn(w).plain() }

// emptyNote tells people, on standard error, why a listing written to w as
// a table has no rows: a header alone reads as a fault to a newcomer.
// Rows alone (--no-headers, -q), json and yaml stay silent: an empty
// answer is what a script expects there.
func emptyNote(w io.Writer, note string) {
	if ow, ok := w.(*outWriter); ok && !ow.o.plain() {
		fmt.Fprintln(ow.notes, note)
	}
}

// tableWriter is a table for people, aligned in columns (tabwriter); what
// it writes reaches its writer with control characters escaped
// (safeWriter): clean the cells that come from users (names, commands,
// reasons) to keep their columns aligned too. Its first line is its
// header. Written to an outWriter it follows the listing options: without
// its header (--no-headers), its key column alone (-q; key is the first
// column unless set), and a listing's second table goes where its notes go.
type tableWriter struct {
	buf bytes.Buffer
	w   io.Writer
	ow  *outWriter // nil: no options
	n   int        // which table of ow this is, from 0
	key int        // the identifying column, printed alone by -q
}

// table starts a table written to w.
func table(w io.Writer) *tableWriter {
	t := &tableWriter{w: w}
	if ow, ok := w.(*outWriter); ok {
		t.w, t.ow, t.n = ow.w, ow, ow.tables
		ow.tables++
	}
	return t
}

func (t *tableWriter) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the table.
func (t *tableWriter) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	switch {
	case t.ow == nil || !t.ow.o.plain():
		return aligned(t.w, text)
	case t.n > 0: // a second table: a note
		return aligned(t.ow.notes, text)
	}
	_, rows, _ := strings.Cut(text, "\n")
	if !t.ow.o.quiet {
		return aligned(t.w, rows)
	}
	var b strings.Builder
	for _, line := range strings.Split(rows, "\n") {
		if cells := strings.Split(line, "\t"); t.key < len(cells) && cells[t.key] != "" {
			b.WriteString(cells[t.key] + "\n")
		}
	}
	_, err := io.WriteString(safeWriter{t.w}, b.String())
	return err
}

// aligned writes text to w through a tabwriter and safeWriter.
func aligned(w io.Writer, text string) error {
	tw := tabwriter.NewWriter(safeWriter{w}, 0, 0, 2, ' ', 0)
	if _, err := io.WriteString(tw, text); err != nil {
		return err
	}
	return tw.Flush()
}

// bytesHuman writes a byte count in binary units: 512 MiB, 1.5 GiB.
func bytesHuman(b int64) string {
	if b <= 0 {
		return "-"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(b)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f >= 100 || f == float64(int64(f)) {
		return fmt.Sprintf("%.0f %s", f, units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// durHuman writes a duration compactly: 850ms, 12s, 3m04s, 2h05m, 3d04h.
func durHuman(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// ago writes how long ago t was, in whole seconds below a minute (3s ago:
// a tenth of a second would only ever read .0), as durHuman above.
func ago(t time.Time) string {
	return agoAt(t, time.Now())
}

func agoAt(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Second:
		return "just now"
	case d.Round(time.Second) < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second).Seconds())) + "s ago"
	}
	return durHuman(d.Round(time.Second)) + " ago"
}

// shellJoin quotes argv for display so that it can be pasted into a shell.
// An argument with control characters is written in bash's $'...' quoting
// (\x1b, \n), so that none reaches the terminal raw and the paste is still
// the same argument.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			out[i] = a
			continue
		}
		if needsEscape(a) {
			out[i] = "$'" + shellEscaped(a) + "'"
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// truncate shortens s to n characters (not bytes: a character is never
// cut in two), the last one an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// usd writes an amount of US dollars for people: $12.34, and below a cent
// enough digits that a small charge never reads as zero ($0.0042).
func usd(dollars float64) string { return cost.USD(dollars).String() }

// usdOrDash is usd, or "-" for zero (no price known, no budget).
func usdOrDash(dollars float64) string {
	if dollars == 0 {
		return "-"
	}
	return usd(dollars)
}

// rate writes a price per hour (or per GB-month) as exactly as the price
// catalog gives it, at least to the cent: $0.0116, $0.085, $3.06. Rounding
// it to the cent as amounts are would make cheap types look alike.
func rate(dollars float64) string {
	s := strconv.FormatFloat(math.Round(dollars*1e6)/1e6, 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	if strings.HasPrefix(whole, "-") {
		return "-$" + strings.TrimPrefix(whole, "-") + "." + frac
	}
	return "$" + whole + "." + frac
}

// parseSeconds reads a duration flag given as a Go duration (90s, 5m, 1h30m)
// or as plain seconds (300), rounding up to whole seconds.
func parseSeconds(flag, s string) (int64, error) {
	hint := fmt.Sprintf("give a duration such as %s 5m, 90s or 1h, or seconds (0: never)", flag)
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, usage("%s %s cannot be negative: %s", flag, s, hint)
		}
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usage("%s %q: %s", flag, s, hint)
	}
	if d < 0 {
		return 0, usage("%s %s cannot be negative: %s", flag, s, hint)
	}
	return int64((d + time.Second - 1) / time.Second), nil
}

// wideCells are the cells a listing written to w adds with -o wide, each
// after a tab; none without it. A renderer appends them to its header and
// to each row.
func wideCells(w io.Writer, cells ...string) string { return cellsIf(wide(w), cells...) }

// cellsIf are cells, each after a tab, if on; else none.
func cellsIf(on bool, cells ...string) string {
	if !on {
		return ""
	}
	return "\t" + strings.Join(cells, "\t")
}

// timeOrDash is t to the minute, local time; "-" for none.
func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// cutUnlessWide is cleanCut(s, n), or all of s cleaned with -o wide.
func cutUnlessWide(w io.Writer, s string, n int) string {
	if wide(w) {
		return clean(s)
	}
	return cleanCut(s, n)
}
