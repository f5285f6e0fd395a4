package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// The dashboard (/ui/): pages rendered here from the same state the API
// serves, live through server-sent events, and every action a call to the
// API itself (with the session's cookie and CSRF token instead of the
// bearer token), so that permissions and audit events are the CLI's.
//
// Sign-in: the server's token in a form (POST /ui/login), or a one-time
// code from `burst ui` (GET /ui/login?code=..., redirected at once to a
// URL without it). A session is a random id in an HttpOnly, SameSite=Strict
// cookie; state-changing requests also need the session's CSRF token in
// X-CSRF-Token (or a csrf form field), and a foreign Origin is refused.
// Sessions are kept in the store (by the id's hash), so that a restarted
// server keeps its signed-in browsers; one made under another token than
// the server's is refused.

const (
	sessionCookie = "burst_session"
	loginCookie   = "burst_login" // the CSRF token of the sign-in form
	sessionTTL    = 12 * time.Hour
	codeTTL       = 2 * time.Minute
)

type session struct {
	user    string
	csrf    string
	expires time.Time
}

// uiState is the dashboard's part of the server.
type uiState struct {
	r         *web.Renderer
	mu        sync.Mutex
	sessions  map[string]*session
	codes     map[string]time.Time // one-time sign-in codes and when they expire
	tokenHash string               // of the server's token: the one sessions must have been made under
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) uiRoutes(mux *http.ServeMux) error {
	r, err := web.New()
	if err != nil {
		return fmt.Errorf("dashboard templates: %w", err)
	}
	s.ui = &uiState{r: r, sessions: map[string]*session{}, codes: map[string]time.Time{}, tokenHash: hashHex(s.token)}
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", web.Static()))
	mux.HandleFunc("GET /ui/login", s.uiLoginPage)
	mux.HandleFunc("POST /ui/login", s.uiLogin)
	mux.HandleFunc("POST /ui/logout", s.uiPage(s.uiLogout))
	mux.HandleFunc("GET /ui/{$}", s.uiPage(s.uiOverview))
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	mux.HandleFunc("GET /ui/projects/{name}", s.uiPage(s.uiProject))
	mux.HandleFunc("GET /ui/clusters", s.uiPage(s.uiClusters))
	mux.HandleFunc("GET /ui/jobs/{id}", s.uiPage(s.uiJob))
	mux.HandleFunc("GET /ui/jobs/{id}/log", s.uiPage(s.uiJobLog))
	mux.HandleFunc("GET /ui/events", s.uiPage(s.uiEvents))
	mux.HandleFunc("GET /ui/", s.uiPage(func(w http.ResponseWriter, r *http.Request, ss *session) {
		s.uiError(w, r, ss, http.StatusNotFound, "There is no page "+r.URL.Path+" on this dashboard.")
	}))
	mux.HandleFunc("POST /v1/ui/code", func(w http.ResponseWriter, r *http.Request) {
		code := randomHex(16)
		s.ui.mu.Lock()
		s.ui.codes[code] = time.Now().Add(codeTTL)
		s.ui.mu.Unlock()
		writeJSON(w, 201, client.UICode{Code: code, URL: s.addr + "/ui/login?code=" + code})
	})
	return nil
}

// uiHeaders are the dashboard's security headers: scripts only from the
// server (no inline script runs), no framing, no referrer, no caching.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// sessionOf is the live session of a request, or nil: from memory, or
// from the store when an earlier server made it.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s.ui.mu.Lock()
	ss := s.ui.sessions[c.Value]
	if ss != nil && time.Now().After(ss.expires) {
		delete(s.ui.sessions, c.Value)
		ss = nil
	}
	s.ui.mu.Unlock()
	if ss != nil {
		return ss
	}
	row, err := s.st.GetSession(r.Context(), hashHex(c.Value))
	if err != nil || row == nil || time.Now().After(row.Expires) ||
		subtle.ConstantTimeCompare([]byte(row.TokenHash), []byte(s.ui.tokenHash)) != 1 {
		return nil
	}
	ss = &session{user: row.User, csrf: row.CSRF, expires: row.Expires}
	s.ui.mu.Lock()
	s.ui.sessions[c.Value] = ss
	s.ui.mu.Unlock()
	return ss
}

// hashHex is the SHA-256 of v, in hex: how the store knows session ids and
// the token, without holding them.
func hashHex(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// sameOrigin refuses a request that a browser says comes from another
// site (Origin, or Sec-Fetch-Site when Origin is absent).
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	sfs := r.Header.Get("Sec-Fetch-Site")
	return sfs == "" || sfs == "same-origin" || sfs == "none"
}

// checkCSRF says whether a state-changing request of session ss carries
// its token and comes from this site.
func checkCSRF(r *http.Request, ss *session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.FormValue("csrf")
	}
	return sameOrigin(r) && subtle.ConstantTimeCompare([]byte(tok), []byte(ss.csrf)) == 1
}

type sessionKey struct{}

// uiPage wraps a dashboard handler: no session, no page (a browser is sent
// to sign in, anything else gets 401); POSTs need the CSRF token.
func (s *Server) uiPage(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		ss := s.sessionOf(r)
		if ss == nil {
			if r.Method == http.MethodGet && wantsHTML(r) {
				http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
				return
			}
			writeJSON(w, http.StatusUnauthorized, client.Error{Message: "sign in first: open /ui/login (or run `burst ui`)"})
			return
		}
		if r.Method != http.MethodGet && !checkCSRF(r, ss) {
			const msg = "refused: missing or wrong CSRF token, or a request from another site"
			if wantsHTML(r) { // a form a browser posted
				s.uiError(w, r, ss, http.StatusForbidden, msg+". Reload the page and try again.")
				return
			}
			writeJSON(w, http.StatusForbidden, client.Error{Message: msg})
			return
		}
		h(w, r, ss)
	}
}

// wantsHTML says whether a request comes from a browser's page (a link or
// a form), which gets an error as a page; scripts get JSON.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

// uiError answers with an error page in the dashboard's layout (ss may be
// nil: not signed in). If even that cannot be drawn, plain text.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	v := &web.ErrorView{Page: s.page(r, ss, http.StatusText(status), ""), Status: status, Heading: http.StatusText(status), Message: msg}
	var b bytes.Buffer
	if err := s.ui.r.Error(&b, v); err != nil {
		s.log.Error("render a dashboard error page", "err", err)
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// uiAPI lets a signed-in browser call the API: a session cookie stands for
// the bearer token, with the CSRF token required on anything but GET.
// ok is false when the request carries no session (the caller then asks
// for the token).
func (s *Server) uiAPI(w http.ResponseWriter, r *http.Request) (actor string, ok bool) {
	if s.ui == nil || r.Header.Get("Authorization") != "" {
		return "", false
	}
	ss := s.sessionOf(r)
	if ss == nil {
		return "", false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRF(r, ss) {
		writeJSON(w, http.StatusForbidden, client.Error{Message: "refused: missing or wrong CSRF token, or a request from another site"})
		return "", true
	}
	return ss.user, true
}

func (s *Server) page(r *http.Request, ss *session, title, active string) web.Page {
	p := web.Page{Title: title, Active: active, Now: time.Now(), Version: burst.Version, Fragment: r.URL.Query().Get("fragment") == "1"}
	if ss != nil {
		p.CSRF, p.User = ss.csrf, ss.user
	}
	return p
}

// newSession signs a browser in: the session is recorded (memory and
// store) before its cookie is sent.
func (s *Server) newSession(w http.ResponseWriter, r *http.Request) error {
	id := randomHex(32)
	now := time.Now()
	ss := &session{user: "ui-" + s.user, csrf: randomHex(16), expires: now.Add(sessionTTL)}
	if err := s.st.Write(r.Context(), func(tx *store.Tx) error {
		return tx.SaveSession(store.SessionRow{IDHash: hashHex(id), User: ss.user, CSRF: ss.csrf,
			TokenHash: s.ui.tokenHash, Expires: ss.expires}, now)
	}); err != nil {
		s.log.Error("record a dashboard session", "err", err)
		return err
	}
	s.ui.mu.Lock()
	for k, v := range s.ui.sessions { // forget expired ones
		if now.After(v.expires) {
			delete(s.ui.sessions, k)
		}
	}
	s.ui.sessions[id] = ss
	s.ui.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/ui/login", MaxAge: -1})
	return nil
}

func (s *Server) uiLoginPage(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if code := r.URL.Query().Get("code"); code != "" {
		s.ui.mu.Lock()
		exp, ok := s.ui.codes[code]
		delete(s.ui.codes, code) // one use, whatever happens
		s.ui.mu.Unlock()
		if ok && time.Now().Before(exp) {
			if err := s.newSession(w, r); err != nil {
				s.uiError(w, r, nil, http.StatusInternalServerError, "cannot record the session: "+err.Error())
				return
			}
			http.Redirect(w, r, "/ui/", http.StatusSeeOther) // the code leaves the address bar
			return
		}
		s.renderLogin(w, r, "That sign-in link was used already or has expired: run `burst ui` for a new one, or paste the server's token.")
		return
	}
	if s.sessionOf(r) != nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, msg string) {
	tok := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/ui/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	v := &web.LoginView{Page: s.page(r, nil, "Sign in", ""), Error: msg}
	v.CSRF = tok
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if msg != "" {
		w.WriteHeader(http.StatusUnauthorized)
	}
	s.ui.r.Login(w, v)
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.FormValue("csrf")), []byte(c.Value)) != 1 {
		s.renderLogin(w, r, "The sign-in form had expired: try again.")
		return
	}
	tok := strings.TrimSpace(r.FormValue("token"))
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		time.Sleep(200 * time.Millisecond) // guesses cost time
		s.renderLogin(w, r, "Wrong token: paste the server's token (the file token in its BURST_HOME), or run `burst ui` for a sign-in link.")
		return
	}
	if err := s.newSession(w, r); err != nil {
		s.uiError(w, r, nil, http.StatusInternalServerError, "cannot record the session: "+err.Error())
		return
	}
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, _ *session) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.ui.mu.Lock()
		delete(s.ui.sessions, c.Value)
		s.ui.mu.Unlock()
		if err := s.st.Write(r.Context(), func(tx *store.Tx) error { return tx.DeleteSession(hashHex(c.Value)) }); err != nil {
			s.log.Error("forget a dashboard session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// htmlOut ends a page: the renderer writes nothing when it fails, so the
// answer is then a plain 500, and the log says why.
func (s *Server) htmlOut(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	if err != nil {
		s.log.Error("render a dashboard page", "err", err)
		s.uiError(w, r, ss, http.StatusInternalServerError, "This page could not be drawn: the server's log ("+s.home.ServerLog()+") says why.")
	}
}

// OverviewView gathers the projects overview. Exported for the benchmark.
func (s *Server) OverviewView() *web.OverviewView {
	v := &web.OverviewView{Projects: s.Projects(), Running: map[string]int{}, Active: map[string]int{}}
	s.mu.Lock()
	for _, m := range s.machines {
		if m.row.State == burst.MachineRunning && m.cluster != nil && !m.cluster.def.BuiltIn {
			v.Running[m.row.Project]++
		}
	}
	for _, j := range s.jobs {
		if !j.finished {
			v.Active[j.row.Project]++
		}
	}
	s.mu.Unlock()
	return v
}

func (s *Server) uiOverview(w http.ResponseWriter, r *http.Request, ss *session) {
	v := s.OverviewView()
	v.Page = s.page(r, ss, "Projects", "projects")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.htmlOut(w, r, ss, s.ui.r.Overview(w, v))
}

func (s *Server) uiProject(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	var p *burst.Project
	s.mu.Lock()
	if pr := s.projects[name]; pr != nil { // this project's report alone, not every project's
		v := s.projectView(pr, time.Now())
		p = &v
	}
	s.mu.Unlock()
	if p == nil {
		s.uiError(w, r, ss, http.StatusNotFound, "There is no project "+name+": the projects page lists those that exist.")
		return
	}
	ctx := r.Context()
	v := &web.ProjectView{Page: s.page(r, ss, p.Name, "projects"), Project: *p, JobTasks: map[int64][]burst.Task{}}
	if rep, err := s.Cost(ctx, "day", p.Name); err == nil {
		sort.Slice(rep.Lines, func(i, j int) bool { return rep.Lines[i].Key < rep.Lines[j].Key })
		total := 0.0
		for _, l := range rep.Lines {
			d, err := time.Parse("2006-01-02", l.Key)
			if err != nil {
				continue
			}
			total += l.USD
			v.Spend = append(v.Spend, web.SpendPoint{Day: d, Cumulative: total})
		}
	}
	rows, err := s.st.ListJobs(ctx, store.JobFilter{Project: p.Name, Limit: 50})
	if err == nil {
		ptrs := make([]*burst.Job, len(rows))
		for _, row := range rows {
			if row.Kind == burst.KindPipe {
				if full, err := s.readJob(ctx, row.ID); err == nil {
					row = full
				}
				if ts, err := s.st.ListTasks(ctx, row.ID, 0, 64); err == nil {
					for _, t := range ts {
						v.JobTasks[row.ID] = append(v.JobTasks[row.ID], t.Task)
					}
				}
			}
			v.Jobs = append(v.Jobs, row.Job)
		}
		for i := range v.Jobs {
			ptrs[i] = &v.Jobs[i]
		}
		s.jobCosts(ctx, ptrs)
	}
	if evs, err := s.st.ListEvents(ctx, store.EventFilter{Project: p.Name, Limit: 20}); err == nil {
		for i := len(evs) - 1; i >= 0; i-- {
			v.Events = append(v.Events, evs[i])
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.htmlOut(w, r, ss, s.ui.r.Project(w, v))
}

func (s *Server) uiClusters(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	v := &web.ClustersView{Page: s.page(r, ss, "Clusters", "clusters")}
	ms, _ := s.Machines(ctx, "")
	evs, _ := s.st.ListEvents(ctx, store.EventFilter{Limit: 500})
	for _, c := range s.Clusters() {
		box := web.ClusterBox{Cluster: c}
		for _, m := range ms {
			if m.Cluster == c.Name {
				box.Machines = append(box.Machines, m)
			}
		}
		for i := len(evs) - 1; i >= 0 && len(box.Events) < 10; i-- {
			e := evs[i]
			if strings.HasPrefix(e.Kind, "machine.") && strings.HasPrefix(e.Target, c.Name+"-") || e.Target == c.Name {
				box.Events = append(box.Events, e)
			}
		}
		v.Clusters = append(v.Clusters, box)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.htmlOut(w, r, ss, s.ui.r.Clusters(w, v))
}

func (s *Server) uiJob(w http.ResponseWriter, r *http.Request, ss *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.uiError(w, r, ss, http.StatusNotFound, fmt.Sprintf("%q is not a job id: job ids are numbers.", r.PathValue("id")))
		return
	}
	ctx := r.Context()
	row, err := s.readJob(ctx, id)
	if err != nil {
		s.uiError(w, r, ss, http.StatusNotFound, err.Error())
		return
	}
	job := row.Job
	s.jobCosts(ctx, []*burst.Job{&job})
	s.fillWaiting([]*burst.Job{&job})
	s.liveJobFigures(&job)
	task, _ := strconv.Atoi(r.URL.Query().Get("task"))
	if p := job.Spec; p != nil && p.Pipe != nil && r.URL.Query().Get("task") == "" {
		task = p.Pipe.FirstTask(len(p.Pipe.Stages) - 1) // the pipe's output
	}
	v := &web.JobView{Page: s.page(r, ss, fmt.Sprintf("Job %d", id), "projects"), Job: job, Task: task,
		LogURL: fmt.Sprintf("/ui/jobs/%d/log?task=%d", id, task)}
	if ts, err := s.st.ListTasks(ctx, id, 0, 200); err == nil {
		for _, t := range ts {
			v.Tasks = append(v.Tasks, t.Task)
		}
		s.liveFigures(id, v.Tasks)
		v.Tasks = s.queuedWhy(id, v.Tasks)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.htmlOut(w, r, ss, s.ui.r.Job(w, v))
}

// sseLog frames what the log follower writes as server-sent events, each
// with the log's offset after it as its id: a browser that reconnects
// sends it back (Last-Event-ID) and the log goes on from there.
type sseLog struct {
	w     http.ResponseWriter
	h     http.Header // the follower's own headers, not sent
	off   int64
	carry []byte // the start of a character cut at a read's end
}

func (l *sseLog) Header() http.Header { return l.h }
func (l *sseLog) WriteHeader(int)     {}
func (l *sseLog) Flush()              { l.w.(http.Flusher).Flush() }
func (l *sseLog) Write(b []byte) (int, error) {
	n := len(b)
	b = append(l.carry, b...)
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i // send it whole with what follows
			}
			break
		}
	}
	l.carry = append([]byte(nil), b[cut:]...)
	b = b[:cut]
	if len(b) == 0 {
		return n, nil
	}
	data, _ := json.Marshal(string(b))
	l.off += int64(len(b))
	if _, err := fmt.Fprintf(l.w, "id: %d\nevent: log\ndata: %s\n\n", l.off, data); err != nil {
		return 0, err
	}
	l.Flush()
	return n, nil
}

func (s *Server) uiJobLog(w http.ResponseWriter, r *http.Request, _ *session) {
	if _, ok := w.(http.Flusher); !ok {
		http.Error(w, "streaming unsupported", 500)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	q := r.URL.Query()
	q.Set("follow", "true")
	var off int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		off, _ = strconv.ParseInt(id, 10, 64)
		q.Set("offset", strconv.FormatInt(off, 10))
	}
	r.URL.RawQuery = q.Encode()
	sl := &sseLog{w: w, h: http.Header{}, off: off}
	s.handleLogs(sl, r)
	if len(sl.carry) > 0 { // the log ends inside a character: send its bytes anyway
		data, _ := json.Marshal(string(sl.carry))
		fmt.Fprintf(w, "id: %d\nevent: log\ndata: %s\n\n", sl.off+int64(len(sl.carry)), data)
	}
	fmt.Fprint(w, "event: end\ndata: {}\n\n")
	w.(http.Flusher).Flush()
}

// uiEvents tells a page that something changed, at most twice a second:
// the page then fetches its fragment again. Changes are commits (jobs,
// tasks, machines, events) and the meter's charges.
func (s *Server) uiEvents(w http.ResponseWriter, r *http.Request, _ *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", 500)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := s.uiVersion.Load()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if v := s.uiVersion.Load(); v != last {
			last = v
			if _, err := fmt.Fprintf(w, "event: change\ndata: %d\n\n", v); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
