package api

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// The dashboard (/ui/): pages rendered here from the same state the API
// serves, live through server-sent events, and every action a call to the
// API itself (with the session's cookie and CSRF token instead of the
// bearer token), so that permissions and audit events are the CLI's.
//
// Sign-in: the server's token or a user's own credential in a form (POST
// /ui/login), or a one-time code from `burst ui` (GET /ui/login?code=...,
// redirected at once to a URL without it), which signs in whoever asked
// for it. A session is a random id in an HttpOnly, SameSite=Strict
// cookie; state-changing requests also need the session's CSRF token in
// X-CSRF-Token (or a csrf form field), and a foreign Origin is refused.
// Sessions are kept in the store (by the id's hash), so that a restarted
// server keeps its signed-in browsers; one made under another token than
// the server's, or under a user's credential since revoked, is refused.
// A session acts as its principal: the pages and the API calls it makes go
// through the same policy as the CLI's (policy.go).

const (
	sessionCookie = "burst_session"
	loginCookie   = "burst_login" // the CSRF token of the sign-in form
	sessionTTL    = 12 * time.Hour
	codeTTL       = 2 * time.Minute
	// maxCodes is how many unused sign-in codes one caller (one
	// credential, or the server's token) may hold: a new one beyond it
	// replaces their oldest, so that no caller can grow the server's
	// memory by asking for codes.
	maxCodes = 16
)

type session struct {
	user    string
	csrf    string
	expires time.Time
	// tokenHash is what the session was made under: the server's token
	// (the admin) or a user's credential, whose user it acts as.
	tokenHash string
	p         *auth.Principal // as of this request (sessionOf)
}

// uiState is the dashboard's part of the server.
type uiState struct {
	r         *web.Renderer
	mu        sync.Mutex
	sessions  map[string]*session
	codes     map[string]signInCode // one-time sign-in codes
	tokenHash string                // of the server's token: the one sessions must have been made under
}

// signInCode is a one-time sign-in code: who it signs in, until when.
type signInCode struct {
	user, tokenHash string
	expires         time.Time
}

// addCode keeps c under code: it first drops every expired code, then,
// when c's caller already holds maxCodes, their oldest.
func (u *uiState) addCode(code string, c signInCode, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n, oldest := 0, ""
	for k, v := range u.codes {
		if now.After(v.expires) {
			delete(u.codes, k)
			continue
		}
		if v.tokenHash == c.tokenHash && v.user == c.user {
			n++
			if oldest == "" || v.expires.Before(u.codes[oldest].expires) {
				oldest = k
			}
		}
	}
	if n >= maxCodes {
		delete(u.codes, oldest)
	}
	u.codes[code] = c
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (h *handler) uiRoutes(mux *http.ServeMux) error {
	r, err := web.New()
	if err != nil {
		return fmt.Errorf("dashboard templates: %w", err)
	}
	h.ui = &uiState{r: r, sessions: map[string]*session{}, codes: map[string]signInCode{}, tokenHash: hashHex(h.o.Token)}
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", web.Static()))
	mux.HandleFunc("GET /ui/login", h.uiLoginPage)
	mux.HandleFunc("POST /ui/login", h.uiLogin)
	mux.HandleFunc("POST /ui/logout", h.uiPage(h.uiLogout))
	mux.HandleFunc("GET /ui/{$}", h.uiPage(h.uiOverview))
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	mux.HandleFunc("GET /ui/projects/{name}", h.uiPage(h.uiProject))
	mux.HandleFunc("GET /ui/clusters", h.uiPage(h.uiClusters))
	mux.HandleFunc("GET /ui/jobs/{id}", h.uiPage(h.uiJob))
	mux.HandleFunc("GET /ui/jobs/{id}/log", h.uiPage(h.uiJobLog))
	mux.HandleFunc("GET /ui/events", h.uiPage(h.uiEvents))
	mux.HandleFunc("GET /ui/", h.uiPage(func(w http.ResponseWriter, r *http.Request, ss *session) {
		h.uiError(w, r, ss, http.StatusNotFound, "There is no page "+r.URL.Path+" on this dashboard.")
	}))
	mux.HandleFunc("POST /v1/ui/code", func(w http.ResponseWriter, r *http.Request) {
		code := randomHex(16)
		c := signInCode{user: "ui-" + h.o.User, tokenHash: h.ui.tokenHash, expires: time.Now().Add(codeTTL)}
		if p := auth.From(r.Context()); p != nil && p.Credential != "" { // a user's: it signs them in
			c.user, c.tokenHash = p.Name, p.Credential
		}
		h.ui.addCode(code, c, time.Now())
		writeJSON(w, 201, client.UICode{Code: code, URL: h.o.Addr + "/ui/login?code=" + code})
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
func (h *handler) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	h.ui.mu.Lock()
	ss := h.ui.sessions[c.Value]
	if ss != nil && time.Now().After(ss.expires) {
		delete(h.ui.sessions, c.Value)
		ss = nil
	}
	h.ui.mu.Unlock()
	if ss == nil {
		row, err := h.b.Session(r.Context(), hashHex(c.Value))
		if err != nil || row == nil || time.Now().After(row.Expires) {
			return nil
		}
		ss = &session{user: row.User, csrf: row.CSRF, expires: row.Expires, tokenHash: row.TokenHash}
		if h.principalOf(ss) == nil {
			return nil
		}
		h.ui.mu.Lock()
		h.ui.sessions[c.Value] = ss
		h.ui.mu.Unlock()
	}
	// Who it acts as is asked anew on every request: a user removed, or
	// whose credential was revoked, is signed out at once.
	out := *ss
	if out.p = h.principalOf(ss); out.p == nil {
		return nil
	}
	return &out
}

// principalOf is who a session acts as; nil when what it was made under
// no longer stands for anyone (another server token, a revoked credential).
func (h *handler) principalOf(ss *session) *auth.Principal {
	if subtle.ConstantTimeCompare([]byte(ss.tokenHash), []byte(h.ui.tokenHash)) == 1 {
		return &auth.Principal{Kind: auth.Admin, Name: ss.user, IsAdmin: true}
	}
	return h.b.PrincipalOfCredential(ss.tokenHash)
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

// uiPage wraps a dashboard handler: no session, no page (a browser is sent
// to sign in, anything else gets 401); POSTs need the CSRF token.
func (h *handler) uiPage(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		ss := h.sessionOf(r)
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
				h.uiError(w, r, ss, http.StatusForbidden, msg+". Reload the page and try again.")
				return
			}
			writeJSON(w, http.StatusForbidden, client.Error{Message: msg})
			return
		}
		done, ok := h.streams.enter(w, ss.p, r.Pattern)
		if !ok {
			return
		}
		defer done()
		next(w, r.WithContext(auth.With(WithActor(r.Context(), ss.user), ss.p)), ss)
	}
}

// wantsHTML says whether a request comes from a browser's page (a link or
// a form), which gets an error as a page; scripts get JSON.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

// uiError answers with an error page in the dashboard's layout (ss may be
// nil: not signed in). If even that cannot be drawn, plain text.
func (h *handler) uiError(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	v := &web.ErrorView{Page: h.page(r, ss, http.StatusText(status), ""), Status: status, Heading: http.StatusText(status), Message: msg}
	var b bytes.Buffer
	if err := h.ui.r.Error(&b, v); err != nil {
		h.log.Error("render a dashboard error page", "err", err)
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
func (h *handler) uiAPI(w http.ResponseWriter, r *http.Request) (p *auth.Principal, ok bool) {
	if h.ui == nil || r.Header.Get("Authorization") != "" {
		return nil, false
	}
	ss := h.sessionOf(r)
	if ss == nil {
		return nil, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRF(r, ss) {
		writeJSON(w, http.StatusForbidden, client.Error{Message: "refused: missing or wrong CSRF token, or a request from another site"})
		return nil, true
	}
	return ss.p, true
}

func (h *handler) page(r *http.Request, ss *session, title, active string) web.Page {
	p := web.Page{Title: title, Active: active, Now: time.Now(), Version: burst.Version, Fragment: r.URL.Query().Get("fragment") == "1"}
	if ss != nil {
		p.CSRF, p.User = ss.csrf, ss.user
	}
	return p
}

// newSession signs a browser in: the session is recorded (memory and
// store) before its cookie is sent.
// user and tokenHash are who it acts as and what it was made under (see
// session).
func (h *handler) newSession(w http.ResponseWriter, r *http.Request, user, tokenHash string) error {
	id := randomHex(32)
	now := time.Now()
	ss := &session{user: user, csrf: randomHex(16), expires: now.Add(sessionTTL), tokenHash: tokenHash}
	if err := h.b.SaveSession(r.Context(), store.SessionRow{IDHash: hashHex(id), User: ss.user, CSRF: ss.csrf,
		TokenHash: tokenHash, Expires: ss.expires}, now); err != nil {
		h.log.Error("record a dashboard session", "err", err)
		return err
	}
	h.ui.mu.Lock()
	for k, v := range h.ui.sessions { // forget expired ones
		if now.After(v.expires) {
			delete(h.ui.sessions, k)
		}
	}
	h.ui.sessions[id] = ss
	h.ui.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/ui/login", MaxAge: -1})
	return nil
}

func (h *handler) uiLoginPage(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if code := r.URL.Query().Get("code"); code != "" {
		h.ui.mu.Lock()
		c, ok := h.ui.codes[code]
		delete(h.ui.codes, code) // one use, whatever happens
		h.ui.mu.Unlock()
		if ok && time.Now().Before(c.expires) {
			// The credential the code was asked with must still stand
			// for someone: a session made under a revoked one would be
			// refused on every page, so none is made.
			if h.principalOf(&session{user: c.user, tokenHash: c.tokenHash}) == nil {
				h.renderLogin(w, r, "That sign-in link was made with a credential that has since been revoked (or whose user was removed): no session was made. Ask an admin for a new credential (`burst user token NAME`), then run `burst ui` again.")
				return
			}
			if err := h.newSession(w, r, c.user, c.tokenHash); err != nil {
				h.uiError(w, r, nil, http.StatusInternalServerError, "cannot record the session: "+err.Error())
				return
			}
			http.Redirect(w, r, "/ui/", http.StatusSeeOther) // the code leaves the address bar
			return
		}
		h.renderLogin(w, r, "That sign-in link was used already or has expired: run `burst ui` for a new one, or paste the server's token.")
		return
	}
	if h.sessionOf(r) != nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	h.renderLogin(w, r, "")
}

func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, msg string) {
	tok := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/ui/login", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	v := &web.LoginView{Page: h.page(r, nil, "Sign in", ""), Error: msg}
	v.CSRF = tok
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if msg != "" {
		w.WriteHeader(http.StatusUnauthorized)
	}
	h.ui.r.Login(w, v)
}

func (h *handler) uiLogin(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.FormValue("csrf")), []byte(c.Value)) != 1 {
		h.renderLogin(w, r, "The sign-in form had expired: try again.")
		return
	}
	tok := strings.TrimSpace(r.FormValue("token"))
	user, tokenHash := "ui-"+h.o.User, h.ui.tokenHash
	if subtle.ConstantTimeCompare([]byte(tok), []byte(h.o.Token)) != 1 {
		var p *auth.Principal
		if strings.HasPrefix(tok, client.UserCredentialPrefix) {
			p = h.b.PrincipalOfCredential(hashHex(tok))
		}
		if p == nil {
			time.Sleep(200 * time.Millisecond) // guesses cost time
			h.renderLogin(w, r, "Wrong token: paste your credential (from `burst user token NAME`, which an admin runs) or the server's token (the file token in its BURST_HOME), or run `burst ui` for a sign-in link.")
			return
		}
		if p.Kind == auth.Metrics {
			h.renderLogin(w, r, "That is a metrics credential: it reads /metrics only. Sign in with your own credential (`burst user token NAME`).")
			return
		}
		user, tokenHash = p.Name, p.Credential
	}
	if err := h.newSession(w, r, user, tokenHash); err != nil {
		h.uiError(w, r, nil, http.StatusInternalServerError, "cannot record the session: "+err.Error())
		return
	}
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (h *handler) uiLogout(w http.ResponseWriter, r *http.Request, _ *session) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.ui.mu.Lock()
		delete(h.ui.sessions, c.Value)
		h.ui.mu.Unlock()
		if err := h.b.DeleteSession(r.Context(), hashHex(c.Value)); err != nil {
			h.log.Error("forget a dashboard session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
