package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/web"
)

// The dashboard in a real browser: headless Chromium (Debian's package,
// installed by scripts/chromium-dev.sh when missing) driven by chromedp
// against a real server with real machines and jobs. Screenshots of each
// page go to $BURST_ARTIFACTS (default artifacts/screenshots in the
// repository), kept as CI artifacts.

// needChromium returns the browser's path, installing it if it can; it
// skips loudly (fails under BURST_CI) when there is none.
func needChromium(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(moduleDir, "scripts", "chromium-dev.sh")).Output()
	path := strings.TrimSpace(string(out))
	if err != nil || path == "" {
		why := fmt.Sprintf("no headless Chromium for the dashboard's browser tests (scripts/chromium-dev.sh: %v)", err)
		if os.Getenv("BURST_CI") != "" {
			t.Fatal(why)
		}
		fmt.Fprintf(os.Stderr, "\n!!! SKIPPED %s: %s\n\n", t.Name(), why)
		t.Skip(why)
	}
	return path
}

// browser starts a headless Chromium; the context ends it.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Confirm dialogs (Stop work-1?) are accepted, as a person would.
	chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	})
	return ctx
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("BURST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(moduleDir, "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves a full-page screenshot as NAME.png.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// clickLive clicks the element sel names in a page whose #live region the
// dashboard replaces as the server's state changes: chromedp's click is
// several protocol calls (find, scroll, box, mouse), and a swap between
// them leaves it holding a node that is gone. A person's click is one
// event, so a click whose node vanished under it is made again.
func clickLive(t *testing.T, ctx context.Context, sel, what string) {
	t.Helper()
	var err error
	for try := 0; try < 5; try++ {
		if err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err == nil {
			return
		}
		if ctx.Err() != nil {
			break
		}
		// The node gone between two of the click's calls shows as "Could
		// not find node", "detached", "invalid dimensions" or "Could not
		// compute" by step: any such error is worth one more click.
		t.Logf("click %s: %v (once more)", what, err)
	}
	t.Fatalf("click %s: %v", what, err)
}

// textOf reads the text of the node sel finds; as for clickLive, a live
// page may replace that node between the query and the read ("No node with
// given id found"): the text is then read again, from the new node.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var err error
	for try := 0; try < 5; try++ {
		var s string
		if s, err = chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
			return strings.TrimSpace(s)
		}
		if tctx.Err() != nil {
			break
		}
		t.Logf("text of %s: %v (once more)", sel, err)
	}
	t.Fatalf("text of %s: %v", sel, err)
	return ""
}

func waitText(t *testing.T, ctx context.Context, sel, what string, timeout time.Duration, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			last = strings.TrimSpace(s)
			if cond(last) {
				return last
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (%s); last text %q", timeout, what, sel, last)
	return ""
}

// TestDashboard: sign in with `burst ui`'s link, watch a budget figure
// change as a machine runs (no reload), stop the machine from the page and
// see it stopped in the CLI, follow a job's log live; screenshots of each
// page.
func TestDashboard(t *testing.T) {
	t.Parallel()
	exe := needChromium(t)
	h := newHarness(t)
	// A machine type priced so that spending shows within seconds.
	os.MkdirAll(h.home, 0o700)
	writeFile(t, filepath.Join(h.home, "prices.yaml"), "types:\n  t2.micro: {on_demand: 36}\n", 0o600)
	h.mustRun("project", "create", "mars", "--budget", "100", "--ends", time.Now().AddDate(0, 3, 0).Format("2006-01-02"),
		"--tag", "nasa", "--description", "Life on Mars <script>alert(1)</script>")
	h.mustRun("project", "create", "venus", "--budget", "50")
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--project", "mars", "--min", "1", "--max", "1", "--idle-stop", "10m")
	h.waitFor("work's machine to run", 30*time.Second, func() bool {
		ms := h.machines("work")
		return len(ms) == 1 && ms[0].State == "running"
	})
	mapID := jobIDFromStdout(t, h.mustRun("map", "-d", "--project", "mars", "--", "sh", "-c", "echo $0", ":::", "a", "b", "c"))
	// A blob of mars moved to cold_hdd: the storage panel shows it (storage_test.go).
	h.blobFile("kept.bin", 3<<20)
	h.mustRun("storage", "put", "kept.bin", "--project", "mars")
	h.mustRun("storage", "tier", "--all", "--to", "cold_hdd", "--project", "mars")
	h.mustRun("storage", "rule", "mars", "--to", "archive", "--after", "180d")
	link := strings.TrimSpace(h.mustRun("ui", "--no-open").stdout)
	if !strings.Contains(link, "/ui/login?code=") {
		t.Fatalf("burst ui should print a sign-in link: %q", link)
	}
	base := link[:strings.Index(link, "/ui/")]

	ctx := browser(t, exe)

	// Sign in: the link's code is used once and leaves the address bar.
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("main#live"))); err != nil {
		t.Fatalf("open the sign-in link: %v", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if strings.Contains(loc, "code=") || strings.Contains(loc, "token") {
		t.Errorf("after sign-in the address should carry no code or token: %s", loc)
	}
	body := textOf(t, ctx, "main#live")
	for _, want := range []string{"mars", "venus", "nasa", "spent", "forecast", "remaining", "budget", "$100"} {
		if !strings.Contains(strings.ToLower(body), strings.ToLower(want)) {
			t.Errorf("overview lacks %q:\n%s", want, body)
		}
	}
	shot(t, ctx, "overview")

	// A budget figure changes as the machine runs, without a reload.
	spentSel := `article[aria-labelledby="p-mars"] .figures .fig:first-child dd.num`
	first := textOf(t, ctx, spentSel)
	waitText(t, ctx, spentSel, "mars's spent figure to change live", 20*time.Second, func(s string) bool { return s != first && s != "" })

	// The project page: its chart, machines, jobs; stop the machine.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/projects/mars"), chromedp.WaitVisible(chromedp.CSS("main#live svg"))); err != nil {
		t.Fatalf("project page: %v", err)
	}
	body = textOf(t, ctx, "main#live")
	for _, want := range []string{"Life on Mars <script>alert(1)</script>", "work-1", "running", fmt.Sprint(mapID), "Compute", "Idle machines", "Lost to preemption"} {
		if !strings.Contains(body, want) {
			t.Errorf("project page lacks %q:\n%s", want, body)
		}
	}
	// The storage panel: each tier's size and $/month, as `burst budget` has them.
	panel := textOf(t, ctx, `section[aria-labelledby="storage-h"]`)
	bud := h.budgetOf("mars")
	cold := false
	for _, l := range bud.Storage {
		cold = cold || (l.Tier == "cold_hdd" && l.Bytes == 3<<20)
		for _, want := range []string{l.Tier, web.Bytes(l.Bytes), web.Money(l.USDPerMonth)} {
			if !strings.Contains(panel, want) {
				t.Errorf("the storage panel lacks %q of budget line %+v:\n%s", want, l, panel)
			}
		}
	}
	if !cold {
		t.Errorf("budget of mars shows no 3 MiB on cold_hdd: %+v", bud.Storage)
	}
	if !strings.Contains(strings.ToUpper(panel), "SPENT") { // per tier, accruing: its figure moves on between two reads
		t.Errorf("the storage panel has no Spent column:\n%s", panel)
	}
	if !strings.Contains(panel, "Lifecycle: to archive after 180d") {
		t.Errorf("the storage panel does not show mars's lifecycle rule:\n%s", panel)
	}
	shot(t, ctx, "project")
	stopSel := `button.act[data-url="/v1/machines/work-1/stop"]`
	clickLive(t, ctx, stopSel, "Stop")
	h.waitFor("the CLI to see work-1 stopped", 30*time.Second, func() bool {
		ms := h.machines("work")
		return len(ms) == 1 && (ms[0].State == "stopped" || ms[0].State == "stopping")
	})
	stopped := false
	for _, e := range h.events("mars") {
		if e.Kind == "machine.stop" && e.Target == "work-1" && strings.HasPrefix(e.Actor, "ui-") {
			stopped = true
		}
	}
	if !stopped {
		t.Errorf("the stop should be in the audit trail as the dashboard user's: %+v", h.events("mars"))
	}
	waitText(t, ctx, "main#live", "the page to show work-1 stopped", 20*time.Second, func(s string) bool { return strings.Contains(s, "stopped") })

	// A refused value is not saved: the form's own validation stops it
	// before the API is called. requestSubmit is what the form's button
	// does (validation, then the page's submit handler). Proof that -5
	// never reached the server: a valid value submitted after it from the
	// same page is saved, and the audit trail holds that change alone.
	requestSubmit := func(v string) bool {
		js := `(() => { const f = document.querySelector('form.api input[name="budget_usd"]');
			f.value = ` + strconv.Quote(v) + `; f.form.requestSubmit(); return f.validity.valid; })()`
		valid, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("submit the budget form with %s: %v", v, err)
		}
		return valid
	}
	if requestSubmit("-5") {
		t.Errorf("the budget form takes -5 as valid")
	}
	if !requestSubmit("120") {
		t.Errorf("the budget form refuses 120")
	}
	h.waitFor("the dashboard's budget of 120 to be saved", 20*time.Second, func() bool {
		return strings.Contains(h.mustRun("project", "show", "mars", "-o", "json").stdout, `"budget_usd": 120`)
	})
	var sets []string
	for _, e := range h.events("mars") {
		if e.Kind == "project.set" {
			sets = append(sets, e.Message)
		}
	}
	if len(sets) != 1 || strings.Contains(sets[0], "-5") || !strings.Contains(sets[0], "120") {
		t.Errorf("the dashboard's budget changes should be the one to 120 alone: %q", sets)
	}

	// The clusters page.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/clusters"), chromedp.WaitVisible(chromedp.CSS("main#live"))); err != nil {
		t.Fatalf("clusters page: %v", err)
	}
	if body := textOf(t, ctx, "main#live"); !strings.Contains(body, "work") || !strings.Contains(body, "local") {
		t.Errorf("clusters page lacks the clusters:\n%s", body)
	}
	shot(t, ctx, "clusters")

	// A job's page follows its output live.
	id := h.submit("--", "sh", "-c", "for i in 1 2 3 4; do echo line$i; sleep 0.7; done")
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/ui/jobs/%d", base, id)), chromedp.WaitVisible(chromedp.CSS("#log"))); err != nil {
		t.Fatalf("job page: %v", err)
	}
	waitText(t, ctx, "#log", "the first line of the job's log", 15*time.Second, func(s string) bool { return strings.Contains(s, "line1") })
	waitText(t, ctx, "#log", "the whole log, live", 20*time.Second, func(s string) bool { return strings.Contains(s, "line4") })
	shot(t, ctx, "job")

	// Phone width.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800), chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("main#live"))); err != nil {
		t.Fatalf("overview at 375 px: %v", err)
	}
	shot(t, ctx, "overview-phone")
}

// TestDashboardSecurity: no page and no API call without a session; the
// session cookie is HttpOnly and SameSite=Strict; a state-changing API
// call with the cookie needs the CSRF token and the same origin; a sign-in
// code works once.
func TestDashboardSecurity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	link := strings.TrimSpace(h.mustRun("ui", "--no-open").stdout)
	base := link[:strings.Index(link, "/ui/")]
	noRedirect := func(req *http.Request, via []*http.Request) error { return http.ErrUseLastResponse }
	anon := &http.Client{CheckRedirect: noRedirect}
	for _, p := range []string{"/ui/", "/ui/projects/default", "/ui/clusters", "/ui/jobs/1", "/ui/events", "/v1/jobs", "/v1/projects"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 && !(resp.StatusCode == 303 && strings.HasSuffix(resp.Header.Get("Location"), "/ui/login")) {
			t.Errorf("GET %s without a session: %d, want 401 or a redirect to sign in", p, resp.StatusCode)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("the sign-in link should redirect to /ui/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	sc := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, "burst_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
		t.Errorf("session cookie flags: %s", sc)
	}
	if strings.Contains(sc, h.serverToken()) {
		t.Errorf("the token must not be in a cookie: %s", sc)
	}
	// The code works once.
	resp, _ = (&http.Client{CheckRedirect: noRedirect}).Get(link)
	resp.Body.Close()
	if resp.StatusCode == 303 {
		t.Errorf("a sign-in code must work only once")
	}
	// With the session: pages and API reads work.
	u, _ := url.Parse(base)
	if len(jar.Cookies(u)) == 0 {
		t.Fatal("no session cookie kept")
	}
	resp, _ = c.Get(base + "/v1/projects")
	var ps []burst.Project
	json.NewDecoder(resp.Body).Decode(&ps)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ps) == 0 {
		t.Errorf("GET /v1/projects with a session: %d %v", resp.StatusCode, ps)
	}
	// A state change without the CSRF token, or from another site, is refused.
	post := func(token, origin string) int {
		req, _ := http.NewRequest("PATCH", base+"/v1/projects/default", strings.NewReader(`{"budget_usd": 5}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("", ""); code != 403 {
		t.Errorf("PATCH without the CSRF token: %d, want 403", code)
	}
	csrf := csrfOf(t, c, base)
	if code := post(csrf, "http://evil.example"); code != 403 {
		t.Errorf("PATCH from another origin: %d, want 403", code)
	}
	if code := post(csrf, base); code != 200 {
		t.Errorf("PATCH with the session's CSRF token: %d, want 200", code)
	}
	if p := h.mustRun("project", "show", "default", "-o", "json").stdout; !strings.Contains(p, `"budget_usd": 5`) {
		t.Errorf("the dashboard's change should be the API's:\n%s", p)
	}
	// A job's log as server-sent events goes on from Last-Event-ID (the
	// offset a browser that reconnects sends back), not from the start.
	id := h.submit("--", "sh", "-c", "echo abc; echo def")
	h.mustRun("wait", idArg(id))
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/ui/jobs/%d/log?task=0", base, id), nil)
	req.Header.Set("Last-Event-ID", "4")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ev := string(b); !strings.Contains(ev, `"def\n"`) || strings.Contains(ev, "abc") || !strings.Contains(ev, "event: end") || !strings.Contains(ev, "id: 8") {
		t.Errorf("log events from offset 4:\n%s", ev)
	}
	// The token never appears in the server's log.
	if b, _ := os.ReadFile(filepath.Join(h.home, "server.log")); strings.Contains(string(b), h.serverToken()) {
		t.Errorf("the server's log holds the token")
	}
}

// signIn signs c (a client with a cookie jar) in to the dashboard through
// the one-time link `burst ui --no-open` prints, and returns the server's
// address the link named.
func (h *harness) signIn(c *http.Client) string {
	h.t.Helper()
	link := strings.TrimSpace(h.mustRun("ui", "--no-open").stdout)
	resp, err := c.Get(link)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return link[:strings.Index(link, "/ui/")]
}

// csrfOf reads the CSRF token from a page's meta tag.
func csrfOf(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s := string(b)
	i := strings.Index(s, `name="csrf" content="`)
	if i < 0 {
		t.Fatalf("no csrf meta in /ui/:\n%s", tail(s, 2000))
	}
	s = s[i+len(`name="csrf" content="`):]
	return s[:strings.IndexByte(s, '"')]
}

// A signed-in browser stays signed in when the server is killed and
// another starts (the session is in the store, by its hash only); signing
// out ends it for good, restarts included.
func TestDashboardSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := func() string { return h.serverInfo().Addr }
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h.signIn(c)
	u, _ := url.Parse(base())
	var cookie string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "burst_session" {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie after signing in")
	}
	page := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", base()+"/ui/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	restart := func() {
		t.Helper()
		old := h.serverPID()
		h.kill9(old, "server")
		h.mustRun("jobs") // starts another
		if h.serverPID() == old {
			t.Fatal("the server was not replaced")
		}
	}
	if code := page(); code != 200 {
		t.Fatalf("GET /ui/ signed in: %d", code)
	}
	restart()
	if code := page(); code != 200 {
		t.Fatalf("GET /ui/ after the server was killed and restarted: %d, want 200 (still signed in)", code)
	}
	for _, f := range []string{"state.db", "state.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(h.home, f)); err == nil && strings.Contains(string(b), cookie) {
			t.Errorf("%s holds the session's id itself", f)
		}
	}
	csrf := csrfOf(t, c, base())
	req, _ := http.NewRequest("POST", base()+"/ui/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	// The browser forgets the cookie; one kept elsewhere must not work.
	stolen := &http.Client{CheckRedirect: c.CheckRedirect}
	restart()
	req, _ = http.NewRequest("GET", base()+"/ui/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: "burst_session", Value: cookie})
	if resp, err = stolen.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasSuffix(resp.Header.Get("Location"), "/ui/login") {
		t.Errorf("a signed-out session's cookie after a restart: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}
