package cli

import (
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

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
)

// outFlag adds -o/--output (table or json).
func outFlag(c *cobra.Command, v *string) {
	c.Flags().StringVarP(v, "output", "o", "table", "output format: table or json")
}

func checkOut(v string) error {
	if v != "table" && v != "json" {
		return usage("-o %s: use -o table or -o json", v)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fetch is what a command that asks the server one thing does: check -o,
// connect, get the answer, and write it as JSON with -o json (a nil slice as
// [], not null) or else with render. A command that checks other flags
// first calls checkOut before them, so that a bad -o is the error it gives.
// If the server goes away under it (killed, restarting), the client finds
// it again (starting a local server anew if need be) and asks again as its
// package comment says: a read always, a change only if it was never sent.
func fetch[T any](c *cobra.Command, out string, get func(context.Context, *client.Client) (T, error),
	render func(io.Writer, T) error) error {
	if err := checkOut(out); err != nil {
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
	if out == "json" {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			return writeJSON(c.OutOrStdout(), reflect.MakeSlice(rv.Type(), 0, 0).Interface())
		}
		return writeJSON(c.OutOrStdout(), v)
	}
	return render(c.OutOrStdout(), v)
}

// table is a tabwriter for a table for people; what it writes reaches w
// with control characters escaped (safeWriter): clean the cells that come
// from users (names, commands, reasons) to keep their columns aligned too.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(safeWriter{w}, 0, 0, 2, ' ', 0)
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

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if time.Since(t) < time.Second {
		return "just now"
	}
	return durHuman(time.Since(t).Round(time.Second)) + " ago"
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
