package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func newRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func renderString(t testing.TB, f func(io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// mustContain fails for each wanted string that s lacks.
func mustContain(t *testing.T, page, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: missing %q", page, w)
		}
	}
}

func mustNotContain(t *testing.T, page, s string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(s, w) {
			t.Errorf("%s: should not contain %q", page, w)
		}
	}
}

// pages renders every page with the sample views; fragment sets
// Page.Fragment.
func pages(t *testing.T, r *Renderer, fragment bool) map[string]string {
	t.Helper()
	ov, pv, cv, jv := sampleOverview(), sampleProjectView(), sampleClustersView(), sampleJobView()
	lv := &LoginView{Page: Page{Title: "Sign in", CSRF: "csrf-tok-123", Now: sampleNow, Version: "0.9.1"}, Error: "wrong token"}
	for _, p := range []*Page{&ov.Page, &pv.Page, &cv.Page, &jv.Page, &lv.Page} {
		p.Fragment = fragment
	}
	return map[string]string{
		"overview": renderString(t, func(w io.Writer) error { return r.Overview(w, ov) }),
		"project":  renderString(t, func(w io.Writer) error { return r.Project(w, pv) }),
		"clusters": renderString(t, func(w io.Writer) error { return r.Clusters(w, cv) }),
		"job":      renderString(t, func(w io.Writer) error { return r.Job(w, jv) }),
		"login":    renderString(t, func(w io.Writer) error { return r.Login(w, lv) }),
	}
}

func TestLayout(t *testing.T) {
	r := newRenderer(t)
	for name, s := range pages(t, r, false) {
		mustContain(t, name, s,
			"<!doctype html>",
			`<meta name="csrf" content="csrf-tok-123">`,
			`<meta name="viewport" content="width=device-width, initial-scale=1">`,
			`<div id="flash" role="alert" aria-live="assertive"></div>`,
			`<main id="live"`,
			`<script src="/ui/static/app.js?v=`+statics()["app.js"].hash+`" defer></script>`,
			`<link rel="stylesheet" href="/ui/static/style.css?v=`,
			`<link rel="icon" href="/ui/static/favicon.svg?v=`,
			"burst 0.9.1",
			`updated <time id="updated" datetime="2026-03-18T14:30:00Z">`,
		)
		mustNotContain(t, name, s, "<script>", "onclick=", "style=\"", "javascript:")
		if name == "login" {
			mustNotContain(t, name, s, `action="/ui/logout"`, `href="/ui/clusters"`, `class="app"`)
			continue
		}
		mustContain(t, name, s,
			`<body class="app">`,
			`<a href="/ui/"`, `<a href="/ui/clusters"`,
			`<form method="post" action="/ui/logout"`,
			`<input type="hidden" name="csrf" value="csrf-tok-123">`,
			`>Sign out</button>`,
		)
	}
	all := pages(t, r, false)
	mustContain(t, "overview", all["overview"], `<a href="/ui/" aria-current="page">Projects</a>`)
	mustContain(t, "clusters", all["clusters"], `<a href="/ui/clusters" aria-current="page">Clusters</a>`)
}

func TestOverview(t *testing.T) {
	r := newRenderer(t)
	s := renderString(t, func(w io.Writer) error { return r.Overview(w, sampleOverview()) })
	mustContain(t, "overview", s,
		`<h1>Projects</h1>`,
		`<a href="/ui/projects/mars">mars</a>`,
		`<a href="/ui/projects/sandbox">sandbox</a>`,
		`<li class="chip">nasa</li><li class="chip">decades</li>`,
		// Big figures, with units.
		`<dt>Spent</dt><dd class="num">$312.47</dd>`,
		`<dt>Forecast</dt><dd class="num over">$1,031.90</dd>`,
		`<dt>Remaining</dt><dd class="num">$87.53</dd>`,
		`<dt>Budget</dt><dd class="num">$400.00</dd>`,
		`$1,000.02`, `-$0.02`,
		`<dd class="num">$0.0042</dd>`, // never $0.00 for a little
		`<dd class="num muted">none</dd>`,
		// Days, machines, jobs, burn.
		`<dt>Days left</dt><dd>43 days</dd>`,
		`<dt>Days left</dt><dd>open-ended</dd>`,
		`<dt>Running machines</dt><dd class="num">2</dd>`,
		`<dt>Active jobs</dt><dd class="num">5</dd>`,
		`<dd class="num">$0.7139/h</dd>`,
		// The guardrail, in words as well as colour.
		`<span class="badge warn" title="warning: 50% of the budget spent">warning: 50% spent</span>`,
		`<span class="badge bad" title="exhausted: admission stopped, work held, machines stopped">budget spent: work held</span>`,
		`<span class="badge ok" title="ok">budget ok</span>`,
		`<span class="badge muted" title="no budget">no budget</span>`,
		// The budget bar: spent, then forecast beyond, budget marked; labelled.
		`aria-label="$312.47 spent (78%), forecast $1,031.90 (257%), of a $400.00 budget"`,
		`<rect class="fc over" x="30.3" y="0" width="69.7" height="10"></rect>`,
		`<rect class="sp" x="0" y="0" width="30.3" height="10"></rect>`,
		`<line class="bl" x1="38.8"`,
		`78% of budget spent · forecast 257%, over budget`,
		`no budget set`,
		// Totals.
		`<dt>Spent, all projects</dt><dd class="num">$1,353.69</dd>`,
	)
	if n := strings.Count(s, `<article class="card project`); n != 4 {
		t.Errorf("overview: %d project cards, want 4", n)
	}
}

func TestOverviewEmpty(t *testing.T) {
	r := newRenderer(t)
	v := sampleOverview()
	v.Projects = nil
	s := renderString(t, func(w io.Writer) error { return r.Overview(w, v) })
	mustContain(t, "overview", s, "No projects yet", "burst project create")
	mustNotContain(t, "overview", s, `<article`)
}

func TestProjectPage(t *testing.T) {
	r := newRenderer(t)
	s := renderString(t, func(w io.Writer) error { return r.Project(w, sampleProjectView()) })
	mustContain(t, "project", s,
		`<h1>mars</h1>`,
		`<li class="chip">nasa</li>`,
		// Timeline.
		`Created <time datetime="2026-02-01T09:00:00Z">Feb 1, 2026</time>`,
		`Ends <time datetime="2026-04-30T00:00:00Z">Apr 30, 2026</time>`,
		`<line class="today" x1="51.6"`,
		`<strong>Today</strong>, Mar 18, 2026`,
		`<strong>43 days left</strong>`,
		// Figures and chart.
		`<dt>Spent</dt><dd class="num">$312.47</dd>`,
		`<svg class="spend-chart"`, `role="img"`, `<title>Spending over time</title>`,
		// The budget form, for app.js.
		`<form class="api stack" data-method="PATCH" data-url="/v1/projects/mars" data-json="budget_usd:number"`,
		`<label for="budget_usd">`,
		`<input id="budget_usd" name="budget_usd" type="number" min="0"`,
		`value="400"`,
		`<button type="submit" class="primary">Set budget</button>`,
		// Machines: running ones stop, stopped ones start.
		`<button type="button" class="act" data-method="POST" data-url="/v1/machines/m-1/stop" data-confirm="Stop m-1?" aria-label="Stop m-1">Stop</button>`,
		`data-url="/v1/machines/m-3/stop"`, // pending
		`<button type="button" class="act" data-method="POST" data-url="/v1/machines/m-0/start" aria-label="Start m-0">Start</button>`,
		`<td class="r num">3h 12m</td>`,  // uptime of m-1
		`<td class="r num">13h 00m</td>`, // m-0 ran 26h ago, stopped 13h ago
		`<td class="r num">$0.714</td>`,  // $/h
		`<span class="badge wait">pending</span><div class="sub">Resources</div>`,
		// Storage.
		`<th scope="row">hot</th><td class="r num">1.2 GiB</td><td class="r num">$0.023</td><td class="r num">$0.03</td><td class="r num" title="$0.610000000">$0.61</td>`,
		// The parts of spent, each exact in its title.
		`<dt>Compute</dt><dd class="num" title="$297.190000000">$297.19</dd>`,
		`<dt>Lost to preemption</dt><dd class="num" title="$2.400000000">$2.40</dd>`,
		`<td class="r num">50 GiB</td><td class="r num">$0.00099</td>`,
		// Jobs.
		`<a href="/ui/jobs/44" class="mono">#44</a>`,
		`<a href="/ui/jobs/43" class="mono">#43</a>`,
		`<li class="pill run" title="gen: running">`,
		`<li class="pill bad" title="filter: failed">`,
		`filter<span class="copies">×2</span>`,
		`<li class="pill wait" title="sort: queued">`,
		`aria-valuenow="412"`, `aria-valuemax="1000"`,
		`412 of 1,000 done, 3 failed, 16 running`,
		`<rect class="p-failed" x="40.9" y="0" width="0.3" height="8"></rect>`,
		`<span class="failed-n">· 3 failed</span>`,
		`<td class="r num">2h 05m</td>`, // fit.py: 26h ago to 23h55m ago
		`<td class="r num">3m 12s</td>`,
		`<td class="r num">19m 00s</td>`, // running pipe: to now
		`<td class="r num">$2.97</td>`,
		`<td>grace</td>`,
		// Events.
		`<time datetime="2026-03-18T14:27:00Z" title="2026-03-18 14:27 UTC">3 min ago</time>`,
		`<span class="badge warn">refused: budget</span>`,
		`<span class="badge bad">failed: provider timeout</span>`,
		`started m-3 for 16 queued tasks`,
	)
	// The buttons the server offers (Machine.Actions), no others.
	mustNotContain(t, "project", s, `/v1/machines/m-1/start`, `/v1/machines/m-0/stop`)
}

func TestClustersPage(t *testing.T) {
	r := newRenderer(t)
	s := renderString(t, func(w io.Writer) error { return r.Clusters(w, sampleClustersView()) })
	mustContain(t, "clusters", s,
		`<h2 id="c-aws-c7i">aws-c7i</h2>`,
		`<li class="chip">aws</li><li class="chip">c7i.4xlarge</li><li class="chip">spot</li>`,
		`<a href="/ui/projects/mars">mars</a>`,
		`3 live / 8 max`,
		`<dt>Queued tasks</dt><dd class="num">572</dd>`,
		`$0.714/h per machine`, `$2.142/h now`,
		`<span class="badge ok" title="off Fri 18:00, on Mon 07:00">schedule: on</span>`,
		`<span class="badge muted">always on</span>`,
		`after 10m 00s`,
		`data-url="/v1/machines/m-1/stop"`,
		`data-url="/v1/machines/m-0/start"`,
		`per use`,
		`<td class="r num">3d 0h</td>`,
		`machine.start <span class="muted">m-3</span>`,
		"Nothing yet.",
	)
	// The server offers no action on this host's machine (the API
	// refuses to stop it): no button.
	mustNotContain(t, "clusters", s, `/v1/machines/local/stop`, `/v1/machines/local/start`)
	if n := strings.Count(s, `<section class="card cluster"`); n != 2 {
		t.Errorf("clusters: %d sections, want 2", n)
	}
}

func TestJobPagePipe(t *testing.T) {
	r := newRenderer(t)
	s := renderString(t, func(w io.Writer) error { return r.Job(w, sampleJobView()) })
	mustContain(t, "job", s,
		`<h1>pipe-gen <span class="muted id">#44</span></h1>`,
		`<span class="badge run">running</span>`,
		`<button type="button" class="act danger" data-method="POST" data-url="/v1/jobs/44/cancel"`,
		`data-confirm="Cancel job 44 (pipe-gen)?"`,
		`<a href="/ui/projects/mars">mars</a>`,
		`<pre class="cmd"><code>gen --n 1e9 | filter -q 0.5 | sort -k2 &gt; out.txt</code></pre>`,
		// Stages: name, copies, CPUs, machine, state, exit, I/O, CPU, RSS, cost.
		`<span class="mono">filter</span><div class="sub mono">filter -q 0.5</div>`,
		`<td class="r num">2</td>`,
		`shared`,
		`<td class="mono">m-1, m-2</td>`,
		`<td class="r num">3</td>`,       // filter's exit
		`<td class="r num">8 GiB</td>`,   // filter read
		`<td class="r num">9 GiB</td>`,   // gen wrote
		`<td class="r num">17m 40s</td>`, // gen CPU: 1060 s
		`<td class="r num">120 MiB</td>`, // gen peak RSS
		`$0.0039<div class="sub">$0.0078 in all</div>`,
		`<td class="r num">$0.0071</td>`, // gen's task cost
		// Resources, timings, cost.
		`<dt>Cost</dt><dd class="num">$0.02</dd>`,
		`<dt>Waited</dt><dd class="num">1m 00s</dd>`,
		`<dt>Time limit</dt><dd class="num">none</dd>`,
		// Tasks, by stage.
		`stage filter, copy 2`,
		`exit status 3`,
		// The log the script follows.
		`<pre id="log" class="log" data-follow="/ui/jobs/44/log?task=3" data-keep aria-live="polite" aria-labelledby="log-h" tabindex="0"></pre>`,
		`<span class="count">stage sort</span>`,
	)
}

func TestJobPageFinishedAndMap(t *testing.T) {
	r := newRenderer(t)
	v := sampleMapJobView()
	v.Job.State = burst.Succeeded
	v.Job.ExitCode = code(0)
	v.Job.EndedAt = at(-time.Minute)
	s := renderString(t, func(w io.Writer) error { return r.Job(w, v) })
	mustNotContain(t, "job", s, `/cancel"`, `<h3 class="sub-h">Stages</h3>`)
	mustContain(t, "job", s,
		`<span class="badge ok">succeeded</span>`,
		`<dt>Exit code</dt><dd class="num">0</dd>`,
		`<pre class="cmd"><code>./simulate --seed &#39;{}&#39;</code></pre>`,
		`aria-valuenow="412"`,
		`572 queued · 16 running · 409 succeeded · 3 failed`,
		`50 more tasks not listed.`,
		`<th scope="row" class="mono">task 199</th>`,
	)
	mustNotContain(t, "job", s, `task 200</th>`)

	v.LogURL = ""
	s = renderString(t, func(w io.Writer) error { return r.Job(w, v) })
	mustContain(t, "job", s, "No output to show.")
	mustNotContain(t, "job", s, "data-follow")
}

func TestLogin(t *testing.T) {
	r := newRenderer(t)
	v := &LoginView{Page: Page{Title: "Sign in", CSRF: "csrf-tok-123", Now: sampleNow}, Error: `wrong token <b>"x"</b>`}
	s := renderString(t, func(w io.Writer) error { return r.Login(w, v) })
	mustContain(t, "login", s,
		`<form method="post" action="/ui/login"`,
		`<input type="hidden" name="csrf" value="csrf-tok-123">`,
		`<label for="token">Server token</label>`,
		`<input id="token" name="token" type="password"`,
		`<code>$BURST_HOME/token</code>`, `<code>burst ui</code>`,
		`<button type="submit" class="primary">Sign in</button>`,
		`<div class="alert error" role="alert">wrong token &lt;b&gt;&#34;x&#34;&lt;/b&gt;</div>`,
		`<body class="login-page">`,
	)
	mustNotContain(t, "login", s, `class="api"`) // a plain form post, not the script's

	v.Error = ""
	s = renderString(t, func(w io.Writer) error { return r.Login(w, v) })
	mustNotContain(t, "login", s, `class="alert error"`)
}

var mainRE = regexp.MustCompile(`(?s)<main id="live"[^>]*>(.*)</main>`)

func TestFragment(t *testing.T) {
	r := newRenderer(t)
	full, frag := pages(t, r, false), pages(t, r, true)
	for name, f := range frag {
		mustNotContain(t, name+" fragment", f, "<!doctype", "<html", "<head>", "<body", `<header class="top"`, "<footer", `<main`, `name="csrf" content`, `<div id="flash"`)
		m := mainRE.FindStringSubmatch(full[name])
		if m == nil {
			t.Errorf("%s: no <main id=live> in the full page", name)
			continue
		}
		if strings.TrimSpace(m[1]) != strings.TrimSpace(f) {
			t.Errorf("%s: the fragment is not what the full page's <main> holds", name)
		}
		if len(strings.TrimSpace(f)) < 200 {
			t.Errorf("%s: fragment too short: %q", name, f)
		}
	}
	mustContain(t, "project fragment", frag["project"], `<h1>mars</h1>`, `data-url="/v1/machines/m-1/stop"`)
}

func TestEscaping(t *testing.T) {
	r := newRenderer(t)
	ov := sampleOverview()
	pv := sampleProjectView()
	pv.Events[0].Message = `<img src=x onerror=alert(1)>`
	pv.Jobs[2].Name = `"><script>alert(2)</script>`
	jv := sampleJobView()
	jv.Job.Name = `x" onmouseover="alert(3)`
	jv.Job.Reason = `<script>alert(4)</script>`
	for name, s := range map[string]string{
		"overview": renderString(t, func(w io.Writer) error { return r.Overview(w, ov) }),
		"project":  renderString(t, func(w io.Writer) error { return r.Project(w, pv) }),
		"job":      renderString(t, func(w io.Writer) error { return r.Job(w, jv) }),
	} {
		mustNotContain(t, name, s, "<script>alert", "<img src=x", `onmouseover="alert`)
	}
	s := renderString(t, func(w io.Writer) error { return r.Overview(w, ov) })
	mustContain(t, "overview", s, `Life on Mars &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends`)
	s = renderString(t, func(w io.Writer) error { return r.Project(w, pv) })
	mustContain(t, "project", s, `&lt;img src=x onerror=alert(1)&gt;`, `Life on Mars &lt;script&gt;`)
	s = renderString(t, func(w io.Writer) error { return r.Job(w, jv) })
	mustContain(t, "job", s, `data-confirm="Cancel job 44 (x&#34; onmouseover=&#34;alert(3))?"`)
}

// TestWellFormed checks that every page's tags nest and close, that ids
// are unique, and that no text holds a raw '<'.
func TestWellFormed(t *testing.T) {
	r := newRenderer(t)
	for _, frag := range []bool{false, true} {
		for name, s := range pages(t, r, frag) {
			if err := checkHTML(s); err != nil {
				t.Errorf("%s (fragment %v): %v", name, frag, err)
			}
		}
	}
	s := renderString(t, func(w io.Writer) error { return r.Job(w, sampleMapJobView()) })
	if err := checkHTML(s); err != nil {
		t.Errorf("map job: %v", err)
	}
	if err := checkHTML(`<div><span></div>`); err == nil {
		t.Error("checkHTML takes misnested tags")
	}
	if err := checkHTML(`<p id="a"></p><p id="a"></p>`); err == nil {
		t.Error("checkHTML takes duplicate ids")
	}
}

var (
	tagRE = regexp.MustCompile(`^<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>`)
	idRE  = regexp.MustCompile(`\sid="([^"]*)"`)
	void  = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
		"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}
)

func checkHTML(s string) error {
	var stack []string
	ids := map[string]bool{}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		i += j
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			k := strings.Index(rest, "-->")
			if k < 0 {
				return errors.New("unclosed comment")
			}
			i += k + 3
			continue
		case strings.HasPrefix(strings.ToLower(rest), "<!doctype"):
			i += strings.IndexByte(rest, '>') + 1
			continue
		}
		m := tagRE.FindStringSubmatch(rest)
		if m == nil {
			return errors.New("raw '<' in text near " + strconvQuote(rest))
		}
		i += len(m[0])
		closing, name, attrs := m[1] == "/", strings.ToLower(m[2]), m[3]
		for _, id := range idRE.FindAllStringSubmatch(attrs, -1) {
			if ids[id[1]] {
				return errors.New("duplicate id " + id[1])
			}
			ids[id[1]] = true
		}
		switch {
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return errors.New("</" + name + "> closes " + strings.Join(stack, ">"))
			}
			stack = stack[:len(stack)-1]
		case void[name] || strings.HasSuffix(strings.TrimSpace(attrs), "/"):
		default:
			stack = append(stack, name)
		}
	}
	if len(stack) > 0 {
		return errors.New("unclosed: " + strings.Join(stack, ">"))
	}
	return nil
}

func strconvQuote(s string) string {
	if len(s) > 60 {
		s = s[:60]
	}
	return `"` + s + `"`
}

// Zero views (nothing known yet) render without failing.
func TestZeroViews(t *testing.T) {
	r := newRenderer(t)
	for name, f := range map[string]func(io.Writer) error{
		"login":    func(w io.Writer) error { return r.Login(w, &LoginView{}) },
		"overview": func(w io.Writer) error { return r.Overview(w, &OverviewView{}) },
		"project":  func(w io.Writer) error { return r.Project(w, &ProjectView{}) },
		"clusters": func(w io.Writer) error { return r.Clusters(w, &ClustersView{}) },
		"job":      func(w io.Writer) error { return r.Job(w, &JobView{}) },
		"project, no budget report": func(w io.Writer) error {
			return r.Project(w, &ProjectView{Project: burst.Project{Name: "p", BudgetUSD: 5}, Page: Page{Now: sampleNow}})
		},
		"pipe without tasks": func(w io.Writer) error {
			v := sampleJobView()
			v.Tasks = nil
			return r.Job(w, v)
		},
	} {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := checkHTML(b.String()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

func TestWriteError(t *testing.T) {
	r := newRenderer(t)
	if err := r.Overview(failWriter{}, sampleOverview()); err == nil {
		t.Error("a failed write returns no error")
	}
}

func TestStatic(t *testing.T) {
	h := Static()
	get := func(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for name, ctype := range map[string]string{"app.js": "javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"} {
		f := statics()[name]
		if f == nil {
			t.Fatalf("%s is not embedded", name)
		}
		w := get("GET", "/ui/static/"+name+"?v="+f.hash, nil)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %q", name, w.Code, w.Header().Get("Content-Type"))
		}
		if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
		if w.Body.Len() == 0 || w.Body.Len() != len(f.data) {
			t.Errorf("%s: body of %d bytes", name, w.Body.Len())
		}
		// Unversioned: revalidated; its ETag answers 304.
		w = get("GET", "/ui/static/"+name, nil)
		if w.Code != 200 || strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s unversioned: %d %q", name, w.Code, w.Header().Get("Cache-Control"))
		}
		if w = get("GET", "/ui/static/"+name, map[string]string{"If-None-Match": f.etag}); w.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d", name, w.Code)
		}
		// Already stripped of the prefix: served too.
		if w = get("GET", "/"+name, nil); w.Code != 200 {
			t.Errorf("/%s: %d", name, w.Code)
		}
	}
	for _, p := range []string{"/ui/static/", "/ui/static/nope.js", "/ui/static/../render.go", "/ui/static/static/app.js"} {
		if w := get("GET", p, nil); w.Code != 404 {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	if w := get("POST", "/ui/static/app.js", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	if w := get("HEAD", "/ui/static/style.css", nil); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
}

// The pages link what Static serves.
func TestAssetsServed(t *testing.T) {
	r := newRenderer(t)
	s := renderString(t, func(w io.Writer) error { return r.Overview(w, sampleOverview()) })
	links := regexp.MustCompile(`(?:href|src)="(/ui/static/[^"]+)"`).FindAllStringSubmatch(s, -1)
	if len(links) != 3 {
		t.Fatalf("%d static links, want 3", len(links))
	}
	for _, l := range links {
		w := httptest.NewRecorder()
		Static().ServeHTTP(w, httptest.NewRequest("GET", strings.ReplaceAll(l[1], "&amp;", "&"), nil))
		if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q", l[1], w.Code, w.Header().Get("Cache-Control"))
		}
	}
}

// The script keeps its contract with the pages: the endpoints, events and
// attributes it relies on.
func TestScriptContract(t *testing.T) {
	js := string(statics()["app.js"].data)
	mustContain(t, "app.js", js,
		`new EventSource('/ui/events')`, `'change'`, `searchParams.set('fragment', '1')`,
		`document.body.dataset.updated`, `button.act`, `'X-CSRF-Token'`, `credentials: 'same-origin'`,
		`form.api`, `reportValidity()`, `dataset.json`, `'log'`, `'end'`, `— end of output —`,
		`meta[name="csrf"]`, `getElementById('flash')`, `'error'`,
	)
	mustNotContain(t, "app.js", js, "eval(", "new Function", "document.write")
}

func BenchmarkOverview(b *testing.B) {
	r := newRenderer(b)
	v := benchOverview(20, 10)
	for b.Loop() {
		if err := r.Overview(io.Discard, v); err != nil {
			b.Fatal(err)
		}
	}
}

// A project with nothing crossed yet but a forecast past its budget is a
// warning already; without a budget there is nothing to exceed.
func TestLevelBadgeForecastOverBudget(t *testing.T) {
	for _, c := range []struct {
		b    burst.BudgetReport
		text string
	}{
		{burst.BudgetReport{Level: "ok", BudgetUSD: 100, ForecastUSD: 150}, "forecast over budget"},
		{burst.BudgetReport{Level: "ok", BudgetUSD: 100, ForecastUSD: 90}, "budget ok"},
		{burst.BudgetReport{Level: "none", BudgetUSD: 0, ForecastUSD: 90}, "no budget"},
	} {
		if got := levelBadge(&c.b); got.Text != c.text {
			t.Errorf("%+v: badge %q, want %q", c.b, got.Text, c.text)
		}
	}
}

// TestForecastSaysHow: the dashboard shows how the forecast was computed,
// in small text under it and in full as its tooltip, as `burst budget` does.
func TestForecastSaysHow(t *testing.T) {
	r := newRenderer(t)
	v := sampleOverview()
	b := *v.Projects[1].Budget
	b.ForecastMethod = "$96.35 by 2026-06-01 = spent $41.20 + running work $0.50 + trend $0.72/day × 75.3 days (last 14 days)"
	v.Projects[1].Budget = &b
	s := renderString(t, func(w io.Writer) error { return r.Overview(w, v) })
	mustContain(t, "overview", s,
		`title="$96.35 by 2026-06-01 = spent $41.20 &#43; running work $0.50 &#43; trend $0.72/day × 75.3 days (last 14 days)">$96.35</dd>`,
		`<dd class="sub method">= spent $41.20 &#43; running work $0.50 &#43; trend $0.72/day × 75.3 days (last 14 days)</dd>`,
	)
}

// An error page is drawn in the layout (header, navigation, stylesheet),
// with its status and message escaped, and without the live refresh of the
// other pages (its body is not .app).
func TestErrorPage(t *testing.T) {
	r := newRenderer(t)
	v := &ErrorView{Page: samplePage("Not Found", ""), Status: 404, Heading: "Not Found", Message: "There is no project <b>x</b>."}
	s := renderString(t, func(w io.Writer) error { return r.Error(w, v) })
	mustContain(t, "error", s,
		`<title>Not Found · burst</title>`, `<header class="top">`, `<a href="/ui/clusters"`, `<link rel="stylesheet"`,
		`<h1 id="error-title">Not Found</h1>`, `There is no project &lt;b&gt;x&lt;/b&gt;.`, `HTTP 404`,
		`<body class="error-page">`)
	mustNotContain(t, "error", s, `<b>x</b>`, `class="app"`)
}

// TestProjectPageCacheSaved: a project whose tasks were served from the
// result cache shows what that saved; one without hits shows nothing.
func TestProjectPageCacheSaved(t *testing.T) {
	r := newRenderer(t)
	v := sampleProjectView()
	if s := renderString(t, func(w io.Writer) error { return r.Project(w, v) }); strings.Contains(s, "Saved by the cache") {
		t.Fatal("a project without cache hits shows money saved by the cache")
	}
	b := *v.Project.Budget
	b.CacheHits, b.SavedNUSD, b.SavedUSD = 3, 1_234_500_000, 1.2345
	v.Project.Budget = &b
	s := renderString(t, func(w io.Writer) error { return r.Project(w, v) })
	mustContain(t, "project", s, `<div id="cache-saved"><dt>Saved by the cache</dt><dd class="num" title="$1.234500000 in 3 hits">$1.23</dd></div>`)
}
