package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// The forecast, days left, `burst cost --by job` and `burst types`, on the
// real binary (issue #12, items 14 and 15).

// TestForecastOfAShortJobIsNotExtrapolated: a short job on a machine of a
// project with months to go is forecast as what it costs until it and its
// machine are expected to stop (its idle-stop after it), not as the burn of
// the instant times the days left. Before, $36/h for 157 days read $135,000.
func TestForecastOfAShortJobIsNotExtrapolated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.writePrices("types:\n  t2.micro: {on_demand: 36}\n") // a cent a second
	ends := time.Now().UTC().AddDate(0, 0, 157).Format("2006-01-02")
	h.mustRun("project", "create", "mars", "--budget", "1000", "--ends", ends)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--project", "mars", "--max", "1", "--idle-stop", "30s")
	marker := newMarker()
	id := h.submit("--on", "work", "--project", "mars", "--time", "60s", "--", "sh", "-c", "sleep 30 # "+marker)
	h.waitRunning(id)

	r := decodeJSON[burst.BudgetReport](t, h.mustRun("budget", "mars", "-o", "json"))
	// The job ends by its 60 s limit and the machine 30 s later: at most
	// 90 s of $36/h ahead, whatever the burn now.
	if max := r.SpentUSD + 36*90.0/3600 + 0.05; r.ForecastUSD > max || r.ForecastUSD < r.SpentUSD {
		t.Errorf("forecast $%v with $%v spent: want at most $%v (spent + the job's limit and the idle-stop at $36/h), not %v days of burn ($%v/h)\n%s",
			r.ForecastUSD, r.SpentUSD, max, r.DaysRemaining, r.BurnUSDPerHour, r.ForecastMethod)
	}
	if r.ForecastRunningUSD <= 0 || r.ForecastTrendDays != 0 || r.ForecastBy == nil || r.ForecastBy.Format("2006-01-02") != ends {
		t.Errorf("forecast parts: running $%v, trend over %d days, by %v; want running work > 0, no trend, by %s",
			r.ForecastRunningUSD, r.ForecastTrendDays, r.ForecastBy, ends)
	}
	if !strings.Contains(r.ForecastMethod, " by "+ends+" = spent $") || !strings.Contains(r.ForecastMethod, "+ running work $") {
		t.Errorf("forecast_method %q: want the sum written out", r.ForecastMethod)
	}

	// `burst budget` writes how the forecast was made, in one line, and the
	// days left as the dashboard does.
	out := h.mustRun("budget", "mars").stdout
	line := regexp.MustCompile(`(?m)^Forecast: +(\$[0-9.]+ by ` + ends + ` = spent \$[0-9.]+ \+ running work \$[0-9.]+.*)$`).FindStringSubmatch(out)
	if line == nil {
		t.Fatalf("burst budget has no forecast line that says how:\n%s", out)
	}
	cliLeft := regexp.MustCompile(`\((\d+ days) left\)`).FindStringSubmatch(out)
	if cliLeft == nil {
		t.Fatalf("burst budget says no days left:\n%s", out)
	}
	page := h.dashboard("/ui/")
	uiLeft := regexp.MustCompile(`(?s)id="p-mars".*?<dt>Days left</dt><dd>([^<]*)</dd>`).FindStringSubmatch(page)
	if uiLeft == nil || uiLeft[1] != cliLeft[1] {
		t.Errorf("days left: burst budget %q, dashboard %q", cliLeft[1], uiLeft)
	}
	// Calendar days (UTC) from today to the end date, today included.
	if want := strconv.Itoa(157) + " days"; cliLeft[1] != want {
		t.Errorf("days left %q, want %q (%s is 157 days after today)", cliLeft[1], want, ends)
	}
	if !strings.Contains(page, `<dd class="sub method">= spent $`) {
		t.Errorf("the dashboard does not say how the forecast was made:\n%s", tail(page, 3000))
	}
	h.mustRun("cancel", idArg(id))
}

// dashboard signs in with a one-time link and returns a page's HTML.
func (h *harness) dashboard(path string) string {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := h.signIn(c)
	resp, err := c.Get(base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, tail(string(b), 2000))
	}
	return string(b)
}

// TestCostByJobInIDOrderWithNames: job 10 comes after job 9, not after
// job 1, and each line names its job; idle and storage come last.
func TestCostByJobInIDOrderWithNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var ids []int64
	for i := 1; i <= 11; i++ {
		ids = append(ids, h.submit("--name", "fit-"+strconv.Itoa(i), "--", "sleep", "0.2"))
	}
	for _, id := range ids {
		h.mustRun("wait", idArg(id))
	}
	rep := h.cost("job", "")
	var got []int64
	for _, l := range rep.Lines {
		id, err := strconv.ParseInt(l.Key, 10, 64)
		if err != nil {
			continue
		}
		got = append(got, id)
		if want := "fit-" + strconv.Itoa(int(id)); l.Name != want {
			t.Errorf("job %d: name %q, want %q", id, l.Name, want)
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("cost --by job lists jobs %v, want %v", got, ids)
	}
	for i := range got {
		if got[i] != ids[i] {
			t.Fatalf("cost --by job lists jobs in the order %v, want %v", got, ids)
		}
	}
	out := h.mustRun("cost", "--by", "job").stdout
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := strings.Fields(lines[0]); len(f) != 3 || f[0] != "JOB" || f[1] != "NAME" || f[2] != "COST" {
		t.Errorf("header %q, want JOB NAME COST", lines[0])
	}
	if f := strings.Fields(lines[10]); len(f) < 2 || f[0] != idArg(ids[9]) || f[1] != "fit-10" {
		t.Errorf("line 10 %q, want job %d fit-10\n%s", lines[10], ids[9], out)
	}
}

// TestTypesListsStorageTiers: `burst types` lists the storage tiers with
// their price per GB-month after the machine types, as the README says;
// a tier of the prices file is among them; -o json stays the machine types,
// --tiers -o json gives the tiers.
func TestTypesListsStorageTiers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.writePrices("tiers:\n  tape: {per_gb_month: 0.0007, description: the basement robot}\n")
	out := h.mustRun("types").stdout
	i := strings.Index(out, "Storage tiers:")
	if i < 0 || !strings.Contains(out[:i], "t3.small") {
		t.Fatalf("burst types lists no storage tiers after the machine types:\n%s", out)
	}
	for _, re := range []string{`(?m)^ssd +\$0\.08 +.*\(logs\)$`, `(?m)^tape +\$0\.0007 +the basement robot$`, `(?m)^archive +\$0\.00099 `} {
		if !regexp.MustCompile(re).MatchString(out[i:]) {
			t.Errorf("no line matching %s in:\n%s", re, out[i:])
		}
	}
	tiers := decodeJSON[[]burst.StorageTier](t, h.mustRun("types", "--tiers", "-o", "json"))
	found := false
	for _, tr := range tiers {
		found = found || (tr.Name == "tape" && tr.USDPerGBMonth == 0.0007)
	}
	if !found {
		t.Errorf("types --tiers -o json: %+v, want tape at $0.0007/GB-month", tiers)
	}
	types := decodeJSON[[]burst.MachineType](t, h.mustRun("types", "-o", "json"))
	if len(types) == 0 || types[0].VCPUs == 0 {
		t.Errorf("types -o json: %+v, want the machine types", types)
	}
	if r := h.run("types", "--tiers", "--gpu"); r.code == 0 || !strings.Contains(r.stderr, "give one") {
		t.Errorf("types --tiers --gpu: %s", r)
	}
}
