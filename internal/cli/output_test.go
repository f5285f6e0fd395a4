package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// fakeRow is one row of the fake listing the output tests show.
type fakeRow struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Note  string `json:"note,omitempty"`
	Count string `json:"count"` // a string that reads as a number
}

// fakeListing renders rows as a listing does: a table (NOTE wide only),
// then a note for people and a second table.
func fakeListing(w io.Writer, rows []fakeRow) error {
	tw := table(w)
	fmt.Fprintln(tw, "ID\tNAME"+wideCells(w, "NOTE"))
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s%s\n", r.ID, cutUnlessWide(w, r.Name, 6), wideCells(w, dash(r.Note)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "2 rows")
	tw = table(w)
	fmt.Fprintln(tw, "TOTAL\tN")
	fmt.Fprintln(tw, "all\t2")
	return tw.Flush()
}

var fakeRows = []fakeRow{{ID: 7, Name: "alpha-long-name", Note: "n", Count: "12"}, {ID: 12, Name: "b", Count: "003"}}

// runFake runs a listing command over rows with args; it returns stdout,
// stderr and the error.
func runFake(t *testing.T, rows []fakeRow, args ...string) (string, string, error) {
	t.Helper()
	var out string
	c := &cobra.Command{Use: "fake", SilenceUsage: true, SilenceErrors: true, RunE: func(c *cobra.Command, _ []string) error {
		if err := checkOut(c, out); err != nil {
			return err
		}
		return present(c, out, rows, fakeListing)
	}}
	listFlags(c, &out)
	var so, se bytes.Buffer
	c.SetOut(&so)
	c.SetErr(&se)
	c.SetArgs(args)
	err := c.Execute()
	return so.String(), se.String(), err
}

func TestOutputFormats(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		stdout, note string
	}{
		{nil, "ID  NAME\n7   alpha…\n12  b\n2 rows\nTOTAL  N\nall    2\n", ""},
		{[]string{"-o", "table"}, "ID  NAME\n7   alpha…\n12  b\n2 rows\nTOTAL  N\nall    2\n", ""},
		{[]string{"-o", "wide"}, "ID  NAME             NOTE\n7   alpha-long-name  n\n12  b                -\n2 rows\nTOTAL  N\nall    2\n", ""},
		{[]string{"--no-headers"}, "7   alpha…\n12  b\n", "2 rows\nTOTAL  N\nall    2\n"},
		{[]string{"--no-headers", "-o", "wide"}, "7   alpha-long-name  n\n12  b                -\n", "2 rows\nTOTAL  N\nall    2\n"},
		{[]string{"-q"}, "7\n12\n", "2 rows\nTOTAL  N\nall    2\n"},
		{[]string{"--quiet", "--no-headers"}, "7\n12\n", "2 rows\nTOTAL  N\nall    2\n"},
	} {
		so, se, err := runFake(t, fakeRows, tc.args...)
		if err != nil || so != tc.stdout || se != tc.note {
			t.Errorf("%v: stdout %q stderr %q err %v; want stdout %q stderr %q", tc.args, so, se, err, tc.stdout, tc.note)
		}
	}
	// -q of nothing is nothing (no stray newline).
	if so, _, err := runFake(t, nil, "-q"); err != nil || so != "" {
		t.Errorf("-q of no rows: %q %v", so, err)
	}
}

func TestOutputJSONAndYAMLAgree(t *testing.T) {
	js, _, err := runFake(t, fakeRows, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	ys, _, err := runFake(t, fakeRows, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML []map[string]any
	if err := json.Unmarshal([]byte(js), &fromJSON); err != nil {
		t.Fatalf("-o json: %v\n%s", err, js)
	}
	if err := yaml.Unmarshal([]byte(ys), &fromYAML); err != nil {
		t.Fatalf("-o yaml: %v\n%s", err, ys)
	}
	// The same fields and values: numbers as numbers, "003" a string still.
	if fmt.Sprint(fromJSON) != fmt.Sprint(fromYAML) {
		t.Errorf("json and yaml differ:\n%v\n%v\n%s", fromJSON, fromYAML, ys)
	}
	if fromYAML[1]["count"] != "003" || fromYAML[0]["id"] != 7 {
		t.Errorf("yaml types: %#v", fromYAML)
	}
	// Block style, fields in the JSON order.
	if !strings.HasPrefix(ys, "- id: 7\n  name: alpha-long-name\n  note: n\n  count: \"12\"\n") {
		t.Errorf("yaml is not block style in field order:\n%s", ys)
	}
	// No rows: [] in both, never null.
	for _, f := range []string{"json", "yaml"} {
		if so, _, err := runFake(t, nil, "-o", f); err != nil || strings.TrimSpace(so) != "[]" {
			t.Errorf("-o %s of no rows: %q %v", f, so, err)
		}
	}
}

func TestOutputBadCombinations(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "xml"}, "-o xml: use -o table, wide, json or yaml"},
		{[]string{"-q", "-o", "json"}, "-q prints only ids and names, one per line: drop -o json (or -q)"},
		{[]string{"-q", "-o", "wide"}, "drop -o wide (or -q)"},
		{[]string{"--no-headers", "-o", "yaml"}, "--no-headers is for -o table or wide"},
	} {
		so, _, err := runFake(t, fakeRows, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || so != "" {
			t.Errorf("%v: err %v stdout %q; want one line with %q", tc.args, err, so, tc.want)
		}
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 2 {
			t.Errorf("%v: want a usage error (exit 2), got %#v", tc.args, err)
		}
	}
	// A command that shows one thing has no -o wide.
	var out string
	c := &cobra.Command{Use: "one"}
	outFlag(c, &out)
	if err := checkOut(c, "wide"); err == nil || !strings.Contains(err.Error(), "use -o table, json or yaml with") {
		t.Errorf("-o wide on a single object: %v", err)
	}
}

// A table written outside a listing (burst show's key/value rows) is
// unchanged by the mechanism: header and all.
func TestTableWithoutOptions(t *testing.T) {
	var b bytes.Buffer
	tw := table(&b)
	fmt.Fprintln(tw, "Job:\t12")
	fmt.Fprintln(tw, "State:\tqueued")
	if err := tw.Flush(); err != nil || b.String() != "Job:    12\nState:  queued\n" {
		t.Errorf("got %q %v", b.String(), err)
	}
}

// Every listing of the real command tree has all the conventions, and
// every command with -o has json and yaml: a listing added later without
// them fails here.
func TestEveryListingHasTheConventions(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	var walk func(*cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			walk(s)
		}
		o := c.Flags().Lookup("output")
		if o == nil || !strings.HasPrefix(o.Usage, "output format") { // run -o PATTERN, storage get -o FILE
			return
		}
		if !strings.Contains(o.Usage, "json") || !strings.Contains(o.Usage, "yaml") {
			t.Errorf("%s: -o says %q: every -o has json and yaml", c.CommandPath(), o.Usage)
		}
		if strings.Contains(o.Usage, "wide") {
			n++
			if c.Flags().Lookup("no-headers") == nil || c.Flags().ShorthandLookup("q") == nil {
				t.Errorf("%s has -o wide but not --no-headers and -q", c.CommandPath())
			}
		}
	}
	walk(root)
	if n < 10 {
		t.Errorf("%d listings take -o wide; want jobs, machine list, cluster list, project list, user list, join-token list, storage ls, types, cost, events", n)
	}
}

// TestStoragePricesWritten: a tier's price per GB-month reads as every
// other price does ("$0.08", as burst budget and burst types write it),
// not as a bare number beside the dollar amounts of the same table.
func TestStoragePricesWritten(t *testing.T) {
	var b bytes.Buffer
	l := &client.StorageList{Totals: []client.TierTotal{{Project: "mars", Tier: "ssd", Bytes: 36, USDPerGBMonth: 0.08, USDPerMonth: 0.000000003}}}
	if err := renderStorageTotals(&b, l); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "ssd   36 B  $0.08  ") {
		t.Fatalf("storage totals:\n%s\nwant the tier's price written $0.08", b.String())
	}
}

// A machine's uptime is whole seconds under a minute ("0s" just started),
// durHuman's form above; a stopped one's runs to its stop.
func TestUptime(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	stopped := now.Add(-time.Hour)
	for _, c := range []struct {
		m    burst.Machine
		want string
	}{
		{burst.Machine{}, "-"},
		{burst.Machine{State: burst.MachineRunning, StartedAt: at(200 * time.Millisecond)}, "0s"},
		{burst.Machine{State: burst.MachineRunning, StartedAt: at(2 * time.Second)}, "2s"},
		{burst.Machine{State: burst.MachineRunning, StartedAt: at(90 * time.Second)}, "1m30s"},
		{burst.Machine{State: burst.MachineStopped, StartedAt: at(3 * time.Hour), StoppedAt: &stopped}, "2h00m"},
	} {
		if got := uptime(c.m); got != c.want {
			t.Errorf("uptime of %+v: %q, want %q", c.m, got, c.want)
		}
	}
}

// An error already in a Slurm command's words is printed as that command
// prints it; burst's own get "burst: ".
func TestPrefixed(t *testing.T) {
	for msg, want := range map[string]string{
		"sbatch: error: Batch job submission failed: x": "sbatch: error: Batch job submission failed: x",
		"srun: error: Unable to create step":            "srun: error: Unable to create step",
		"no project x: create one":                      "burst: no project x: create one",
		"sbatchx: y":                                    "burst: sbatchx: y",
	} {
		if got := prefixed(msg); got != want {
			t.Errorf("prefixed(%q) = %q, want %q", msg, got, want)
		}
	}
}

// parallel's --timeout read as --time: seconds, from bare seconds or
// parallel's units (summed: 1d3.5h16.6m4s is 100000); N% a share of the
// median run time (parallel's regexp: digits, a point and digits; 0% none);
// nonsense refused.
func TestParallelTimeout(t *testing.T) {
	for in, want := range map[string]string{"30": "30s", "1.5": "1.5s", "90s": "90s", "10m": "600s", "2h": "7200s", "1d": "86400s",
		"1h30m": "5400s", "1d3.5h16.6m4s": "100000s", ".5": "0.5s", "0": "", "1m30": "90s", "2M": "120s", "1H": "3600s"} {
		if got, pct, err := parallelTimeout(in); err != nil || got != want || pct != 0 {
			t.Errorf("parallelTimeout(%q) = %q, %g, %v; want %q", in, got, pct, err, want)
		}
	}
	for in, want := range map[string]float64{"200%": 200, "150.5%": 150.5, "5%": 5, "0%": 0} {
		if got, pct, err := parallelTimeout(in); err != nil || got != "" || pct != want {
			t.Errorf("parallelTimeout(%q) = %q, %g, %v; want %g%%", in, got, pct, err, want)
		}
	}
	for _, in := range []string{"", "x", "-3", "inf", "10y", "-1h", "1e3", "0x10", "1..2", ".", "s", "1hm", "0s", "1_0",
		"%", ".5%", "5.%", "-5%", "1e3%", "5%%", "5s%", "1000000000%"} {
		if got, pct, err := parallelTimeout(in); err == nil {
			t.Errorf("parallelTimeout(%q) = %q, %g, want an error", in, got, pct)
		}
	}
}

// parallel's -j: counts as they are, and +N, -N and N% of the CPU threads
// as parallel 20221122 gives them on a 2-thread machine (a share rounded
// up; one that leaves no task refused, as parallel's "Cannot run any jobs").
func TestParallelJobs(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "4": 4, "50%": 1, "75%": 2, "150%": 3, "180%": 4, "10%": 1,
		"0.5%": 1, "+0": 2, "+1": 3, "-0": 2, "-1": 1, "100%": 2, "50.5%": 2, "007": 7} {
		if got, err := parallelJobs(in, 2); err != nil || got != want {
			t.Errorf("parallelJobs(%q, 2) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-2", "-5", "0%", "1.5", "+x", "-%", "inf%", "--1", "nan%", "1e2%", "0x1p3%", ".5%", "5.%",
		"+1%", "-+1", "+99999999999", "99999999999", "+1.5", "0x10", "1_0"} {
		if got, err := parallelJobs(in, 2); err == nil {
			t.Errorf("parallelJobs(%q, 2) = %d, want an error", in, got)
		}
	}
}

// parallel's --halt read as --max-failures (stop once more than it failed)
// or as a halt on successes or ends (HaltOn), and whether started tasks run
// to their end: its forms as man parallel (20221122) lists them.
func TestParallelHalt(t *testing.T) {
	for in, want := range map[string]struct {
		max  string
		soon bool
		on   string
		n    int
		pct  float64
	}{
		"never": {"", false, "", 0, 0}, "0": {"", false, "", 0, 0}, "1": {"0", true, "", 0, 0}, "2": {"0", false, "", 0, 0},
		"now,fail=1": {"0", false, "", 0, 0}, "soon,fail=3": {"2", true, "", 0, 0}, "now,fail=10%": {"10%", false, "", 0, 0}, "5%": {"5%", true, "", 0, 0},
		"now,success=1": {"", false, "success", 1, 0}, "soon,success=3": {"", true, "success", 3, 0}, "now,success=3%": {"", false, "success", 0, 3},
		"now,done=1": {"", false, "done", 1, 0}, "soon,done=3": {"", true, "done", 3, 0}, "now,done=3%": {"", false, "done", 0, 3},
		"-1": {"", true, "success", 1, 0}, "-2": {"", false, "success", 1, 0},
	} {
		var m burst.MapSpec
		max, err := parallelHalt(in, &m)
		if err != nil || max != want.max || m.HaltSoon != want.soon || m.HaltOn != want.on || m.HaltAfter != want.n || m.HaltAfterPct != want.pct {
			t.Errorf("parallelHalt(%q) = %q, %+v, %v; want %+v", in, max, m, err, want)
		}
	}
	for _, in := range []string{"", "3", "-3", "later,fail=1", "now,fail=0", "now,fail=x", "soon,fail=0%", "now", "now,success=0", "now,done=x",
		"now,done=101%", "now,succeed=1", "now,success"} {
		if _, err := parallelHalt(in, &burst.MapSpec{}); err == nil {
			t.Errorf("parallelHalt(%q): want an error", in)
		}
	}
}

// tagWriter begins every line with its tag, across writes that split
// lines anywhere, and reports the bytes it was given.
func TestTagWriter(t *testing.T) {
	var out bytes.Buffer
	w := &tagWriter{w: &out, tag: "a\t", start: true}
	for _, chunk := range []string{"x", "1\ny", "2\n\n", "z"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if got, want := out.String(), "a\tx1\na\ty2\na\t\na\tz"; got != want {
		t.Errorf("tagged %q, want %q", got, want)
	}
}

// GNU parallel's --resume is a flag; burst's --resume takes a job id: one
// followed by no id, before the command, is parallel's.
func TestParallelResumeArgs(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"map", "--resume", "12"}, []string{"map", "--resume", "12"}},
		{[]string{"map", "--resume", "12", "--max-failures", "1"}, []string{"map", "--resume", "12", "--max-failures", "1"}},
		{[]string{"map", "--joblog", "l", "--resume", "--", "echo"}, []string{"map", "--joblog", "l", "--resume-joblog", "--", "echo"}},
		{[]string{"map", "--resume", "--joblog", "l", "--", "echo"}, []string{"map", "--resume-joblog", "--joblog", "l", "--", "echo"}},
		{[]string{"map", "--", "echo", "--resume", "x"}, []string{"map", "--", "echo", "--resume", "x"}}, // the command's own
		{[]string{"run", "--resume", "x"}, []string{"run", "--resume", "x"}},
	} {
		if got := parallelResumeArgs(c.in); !slices.Equal(got, c.want) {
			t.Errorf("parallelResumeArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// joblogLeft reads a joblog as parallel's --resume does: the first line is
// the header; a line that begins with a number says that task ran (with
// failed, only one whose Exitval and Signal are 0); a torn line counts;
// other maps' numbers are ignored; a line in no joblog's format is refused;
// no joblog leaves every task.
func TestJoblogLeft(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		path := filepath.Join(dir, strconv.Itoa(len(s)))
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	line := func(seq, exit, sig string) string {
		return seq + "\t:\t1.0\t0.1\t0\t0\t" + exit + "\t" + sig + "\tcmd\n"
	}
	whole := joblogHeader + line("1", "0", "0") + line("2", "1", "0") + line("3", "0", "9") + line("4", "1", "0") + line("4", "0", "0") + line("99", "0", "0")
	if got, err := joblogLeft(write(whole+"5\t:\t1.0"), false, 6); err != nil || !slices.Equal(got, []int64{5}) {
		t.Errorf("joblogLeft = %v, %v; want [5] (a torn line counts as run, as in parallel)", got, err)
	}
	if got, err := joblogLeft(write(whole), true, 6); err != nil || !slices.Equal(got, []int64{1, 2, 4, 5}) {
		t.Errorf("joblogLeft(failed) = %v, %v; want [1 2 4 5]", got, err)
	}
	if _, err := joblogLeft(write(whole+"5\t:\t1.0"), true, 6); err == nil {
		t.Error("joblogLeft(failed) of a torn line: want it refused, as parallel's --resume-failed refuses it")
	}
	if got, err := joblogLeft("+"+filepath.Join(dir, "none"), false, 3); err != nil || !slices.Equal(got, []int64{0, 1, 2}) {
		t.Errorf("joblogLeft of no joblog = %v, %v; want every task", got, err)
	}
	if got, err := joblogLeft(write(line("2", "0", "0")+line("3", "0", "0")), false, 3); err != nil || !slices.Equal(got, []int64{0, 1}) {
		t.Errorf("joblogLeft of a joblog without its header = %v, %v; want its first line taken for the header", got, err)
	}
	if _, err := joblogLeft(write(joblogHeader+"garbage line\n"), false, 3); err == nil {
		t.Error("joblogLeft of a line in no joblog's format: want it refused, as parallel refuses it")
	}
	if got, err := joblogLeft("-", false, 2); err != nil || !slices.Equal(got, []int64{0, 1}) {
		t.Errorf("joblogLeft of --joblog - = %v, %v; want every task (a log on stdout says nothing ran)", got, err)
	}
	if _, err := joblogLeft("", false, 3); err == nil {
		t.Error("joblogLeft without --joblog: want an error naming it")
	}
}

// Every option the parallel-only table names is one burst map does not
// take: a flag added later under that name would never reach it.
func TestParallelOnlyAreNotMapFlags(t *testing.T) {
	f := newMapCmd().Flags()
	for name := range parallelOnly() {
		if len(name) == 1 && f.ShorthandLookup(name) != nil || len(name) > 1 && f.Lookup(name) != nil {
			t.Errorf("parallelOnly names %q, which burst map takes", name)
		}
	}
}

// GNU parallel's other spellings of its options are read as the flag burst
// map takes (--line-buffered, --col-sep, --tag-string ...), or refused as
// parallel's, with what to do, as the names they stand for are; none
// stands for a name that is neither, and none is a flag of burst's own.
func TestParallelAliases(t *testing.T) {
	f := newMapCmd().Flags()
	n := 0
	for _, spellings := range parallelSpellings() {
		n += len(strings.Fields(spellings))
	}
	if n != len(parallelAliases()) {
		t.Errorf("parallelSpellings gives %d spellings, %d of them different: one stands for two names", n, len(parallelAliases()))
	}
	for alias, name := range parallelAliases() {
		if _, refused := parallelOnly()[name]; f.Lookup(name) == nil && !refused {
			t.Errorf("parallelAliases reads --%s as --%s, which burst map neither takes nor refuses", alias, name)
		}
	}
	f.VisitAll(func(fl *pflag.Flag) {
		if _, ok := parallelAliases()[fl.Name]; ok {
			t.Errorf("--%s is burst map's flag and parallelAliases reads it as another", fl.Name)
		}
		if strings.ToLower(fl.Name) != fl.Name {
			t.Errorf("--%s: a long flag of burst map is read in lower case (parallel's are read whatever their case)", fl.Name)
		}
	})
	for name := range parallelOnly() {
		if len(name) > 1 && strings.ToLower(name) != name {
			t.Errorf("parallelOnly refuses --%s, which is read in lower case", name)
		}
	}
	wantDryRuns(t, []dryRun{
		{[]string{"--col-sep", ",", "--tag-string", "{2}", "--keeporder", "--line-buffered", "echo", "{1}", ":::", "a,b"}, "b\techo a\n"},
		{[]string{"--maxargs", "2", "--willcite", "echo", ":::", "a", "b"}, "echo a b\n"},
		// parallel reads a long option whatever its case: --Keep-Order, --TAG, --Col-Sep.
		{[]string{"--Keep-Order", "--TAG", "--Col-Sep", ",", "echo", "{2}", ":::", "a,b"}, "a b\techo b\n"}, // parallel 20221122 prints so too
	})
	// parallel's retired names (its error names the new one), and its
	// internal --linkinputsource (:::+ is the way to write it).
	for _, args := range [][]string{{"--sql-master", "x"}, {"--ll"}, {"--colour"}, {"--nok"}, {"--transfer-files", "x"}, {"-M"},
		{"-T"}, {"-B", "x"}, {"-H", "1"}, {"-Y"}, {"-g"}, {"-kg"}, {"--tollef"}, {"--bug"}, {"--linkinputsource", "1"}, {"--xapplyinputsource=1"}, {"--PIPE"}} {
		if _, errb, code := dryRunMap(t, append(args, "echo", ":::", "a")...); code != 255 || !strings.Contains(errb, "is GNU parallel's: burst map does not take it; ") {
			t.Errorf("burst map %q: exit %d, stderr %q; want it refused as parallel's, with what to do", args, code, errb)
		}
	}
}

// inputName names inputs for a summary line: quoted when they hold a
// space or a comma, and cut after 57 characters (a 100 KB input would
// make a 100 KB line).
func TestInputName(t *testing.T) {
	long := strings.Repeat("é", 200)
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"a"}, "a"},
		{[]string{"a b"}, `"a b"`},
		{[]string{"x", "y,z"}, `(x, "y,z")`},
		{[]string{long}, strings.Repeat("é", 57) + "..."},
	} {
		if got := inputName(c.in); got != c.want {
			t.Errorf("inputName(%.20q) = %.80q, want %.80q", c.in, got, c.want)
		}
	}
}

// show stands in for a many-line program and cuts a long one-line
// argument, saying where each is whole; short arguments are left alone.
func TestShortArgs(t *testing.T) {
	prog := strings.Repeat("import os\n", 30)
	long := strings.Repeat("A", 300)
	got := shortArgs([]string{"python3", "-c", prog, long, "{}", strings.Repeat("B", 200)}, 7)
	if got[0] != "python3" || got[1] != "-c" || got[4] != "{}" || got[5] != strings.Repeat("B", 200) {
		t.Errorf("short arguments changed: %q", got)
	}
	if got[2] != "<a program of 31 lines, 300 bytes: burst show 7 -o json has it>" {
		t.Errorf("the program: %q", got[2])
	}
	if got[3] != strings.Repeat("A", 64)+"...<300 bytes: burst show 7 -o json has it>" {
		t.Errorf("the long argument: %q", got[3])
	}
	if argv := []string{"echo", "x"}; &shortArgs(argv, 1)[0] != &argv[0] {
		t.Errorf("an argv with nothing to shorten is copied")
	}
}

// A waiting reason that differs only in its figures is the same reason:
// no new line for it.
func TestSameWait(t *testing.T) {
	a := "the filesystem /h, which holds burst's logs, has 3.1 MiB free: no task starts while it has less than 4.8 MiB; free at least 1.7 MiB there"
	b := "the filesystem /h, which holds burst's logs, has 212 KiB free: no task starts while it has less than 4.8 MiB; free at least 4.6 MiB there"
	if !sameWait(a, b) {
		t.Errorf("two readings of one disk reason differ")
	}
	if sameWait(a, "needs 2 CPUs: local-1 has 0 of 2 CPUs free") || sameWait("--delay 5s: its next task starts in 2s", "") {
		t.Errorf("different reasons are the same")
	}
}

// A job of shell text is named after its program.
func TestShellTextName(t *testing.T) {
	for text, want := range map[string]string{
		"sort x | uniq -c": "sort", "VAR=1 OTHER=2 ./bin/fit a": "fit", "(cd x; make)": "cd", "{ a; b; }": "a",
		"x=1": "sh", "echo\x01x | wc": "echo_x", "  ": "sh",
	} {
		if got := shellTextName(text); got != want {
			t.Errorf("shellTextName(%q) = %q; want %q", text, got, want)
		}
	}
}

// A listing's age reads in whole seconds below a minute, as README's
// burst jobs shows it ("3s ago"); it read "3.0s ago".
func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{300 * time.Millisecond, "just now"},
		{3*time.Second + 200*time.Millisecond, "3s ago"},
		{59 * time.Second, "59s ago"},
		{59*time.Second + 600*time.Millisecond, "1m00s ago"},
		{3*time.Minute + 4*time.Second, "3m04s ago"},
	} {
		if got := agoAt(now.Add(-c.d), now); got != c.want {
			t.Errorf("%v ago: %q, want %q", c.d, got, c.want)
		}
	}
	if got := agoAt(time.Time{}, now); got != "-" {
		t.Errorf("no time: %q, want -", got)
	}
}
