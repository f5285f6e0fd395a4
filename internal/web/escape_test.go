package web

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// evil is what a job name, an argument, a project name or a log line may
// hold: markup, both quotes, an ampersand, control bytes (NUL among them),
// a javascript: URL and a plus.
const evil = "<script>alert(1)</script>\"'&\x00\x01\x1b javascript:alert(1) a+b"

// evilEscaped is evil as every page must show it, in text and in quoted
// attributes alike: html/template's escaping, which the pages keep.
const evilEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;\uFFFD\x01\x1b javascript:alert(1) a&#43;b"

// hostile sets every string a person can choose in the sample views to
// evil (a javascript: URL where a page links it).
func hostileViews() (*OverviewView, *ProjectView, *ClustersView, *JobView, *JobView, *LoginView, *ErrorView) {
	page := func(p *Page) {
		p.Title, p.User, p.CSRF, p.Version = evil, evil, evil, evil
	}
	machine := func(m *burst.Machine) {
		m.ID, m.Host, m.Cluster, m.Waiting, m.Type = "javascript:alert(1)", evil, evil, evil, evil
	}
	events := func(es []burst.Event) {
		for i := range es {
			e := &es[i]
			e.Actor, e.Kind, e.Target, e.Message, e.Result = evil, evil, evil, evil, evil
		}
	}
	project := func(p *burst.Project) {
		p.Name, p.Description, p.Tags, p.OnExhausted = evil, evil, []string{evil, "javascript:alert(1)"}, evil
		if p.Budget != nil {
			b := *p.Budget
			b.Guard, b.ForecastMethod = evil, "x = "+evil
			b.Running = append([]burst.Machine(nil), b.Running...)
			for i := range b.Running {
				machine(&b.Running[i])
			}
			for i := range b.Storage {
				b.Storage[i].Tier = evil
			}
			p.Budget = &b
		}
	}
	job := func(j *burst.Job) {
		j.Name, j.Project, j.User, j.Reason, j.Waiting, j.Kind = evil, "javascript:alert(1)", evil, evil, evil, evil
		if j.Spec != nil {
			s := *j.Spec
			s.Argv, s.Cluster = []string{evil, "--x=" + evil}, evil
			if s.Pipe != nil {
				pp := *s.Pipe
				pp.Text, pp.Stdin, pp.Stdout = evil, evil, evil
				pp.Stages = append([]burst.PipeStage(nil), pp.Stages...)
				for i := range pp.Stages {
					pp.Stages[i].Name, pp.Stages[i].Argv, pp.Stages[i].Cluster = evil, []string{evil}, evil
				}
				s.Pipe = &pp
			}
			if s.Map != nil {
				m := *s.Map
				m.Template = []string{evil, "{}"}
				s.Map = &m
			}
			j.Spec = &s
		}
	}

	ov := sampleOverview()
	page(&ov.Page)
	ov.Projects = ov.Projects[:1]
	project(&ov.Projects[0])

	pv := sampleProjectView()
	page(&pv.Page)
	project(&pv.Project)
	for i := range pv.Jobs {
		job(&pv.Jobs[i])
	}
	for i := range pv.JobTasks[44] {
		pv.JobTasks[44][i].Machine, pv.JobTasks[44][i].Reason = evil, evil
	}
	events(pv.Events)
	pv.Rules = []string{evil, evil}

	cv := sampleClustersView()
	page(&cv.Page)
	cv.Clusters = cv.Clusters[:1]
	c := &cv.Clusters[0]
	c.Cluster.Name, c.Cluster.Provider, c.Cluster.Type, c.Cluster.Partition = evil, evil, evil, evil
	c.Cluster.Project, c.Cluster.Schedule = "javascript:alert(1)", evil
	c.Machines = append([]burst.Machine(nil), c.Machines...)
	for i := range c.Machines {
		machine(&c.Machines[i])
	}
	events(c.Events)

	jv := sampleJobView()
	page(&jv.Page)
	job(&jv.Job)
	for i := range jv.Tasks {
		jv.Tasks[i].Machine, jv.Tasks[i].Reason = evil, evil
	}
	jv.LogURL = "/ui/jobs/44/log?task=" + evil

	mv := sampleMapJobView()
	page(&mv.Page)
	job(&mv.Job)
	for i := range mv.Tasks {
		mv.Tasks[i].Machine = evil
	}

	lv := &LoginView{Page: samplePage("Sign in", ""), Error: evil}
	page(&lv.Page)
	ev := &ErrorView{Page: samplePage("Not Found", ""), Status: 404, Heading: evil, Message: evil}
	page(&ev.Page)
	return ov, pv, cv, jv, mv, lv, ev
}

var (
	// An attribute whose value is a link, and its value.
	linkAttrRE = regexp.MustCompile(`\s(?:href|src|action|data-url|data-follow)="([^"]*)"`)
	// An event handler attribute, which no page has.
	handlerRE = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
)

// TestHostileValues renders every page with every value a person can
// choose set to markup, quotes, control bytes and javascript: URLs, and
// checks that each page stays well formed, that each value comes out
// escaped, and that no link can run script.
func TestHostileValues(t *testing.T) {
	r := newRenderer(t)
	ov, pv, cv, jv, mv, lv, ev := hostileViews()
	for _, frag := range []bool{false, true} {
		for _, p := range []*Page{&ov.Page, &pv.Page, &cv.Page, &jv.Page, &mv.Page, &lv.Page} {
			p.Fragment = frag
		}
		for name, f := range map[string]func(io.Writer) error{
			"overview": func(w io.Writer) error { return r.Overview(w, ov) },
			"project":  func(w io.Writer) error { return r.Project(w, pv) },
			"clusters": func(w io.Writer) error { return r.Clusters(w, cv) },
			"job":      func(w io.Writer) error { return r.Job(w, jv) },
			"map job":  func(w io.Writer) error { return r.Job(w, mv) },
			"login":    func(w io.Writer) error { return r.Login(w, lv) },
			"error":    func(w io.Writer) error { return r.Error(w, ev) },
		} {
			if frag && name == "error" {
				continue // never a fragment
			}
			name += map[bool]string{true: " fragment"}[frag]
			s := renderString(t, f)
			if err := checkHTML(s); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			mustNotContain(t, name, s, "<script>alert", "\x00", `"'&`, "a+b")
			if !strings.Contains(s, evilEscaped) {
				t.Errorf("%s: %q escaped as %q is not in the page", name, evil, evilEscaped)
			}
			if m := handlerRE.FindString(s); m != "" {
				t.Errorf("%s: an event handler attribute: %q", name, m)
			}
			links := linkAttrRE.FindAllStringSubmatch(s, -1)
			if len(links) == 0 && !frag {
				t.Errorf("%s: no links found: the check is broken", name)
			}
			for _, l := range links {
				if v := strings.ToLower(strings.TrimSpace(l[1])); !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "#") {
					t.Errorf("%s: a link that is not a path of this server: %q", name, l[0])
				}
			}
		}
	}
	// Names in paths are escaped as one path segment.
	s := renderString(t, func(w io.Writer) error { return r.Clusters(w, cv) })
	mustContain(t, "clusters", s, `href="/ui/projects/javascript:alert%281%29"`,
		`data-url="/v1/machines/javascript:alert%281%29/stop"`)
	s = renderString(t, func(w io.Writer) error { return r.Project(w, pv) })
	mustContain(t, "project", s, `data-url="/v1/projects/%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%27&amp;%00%01%1B%20javascript:alert%281%29%20a&#43;b"`)
}
