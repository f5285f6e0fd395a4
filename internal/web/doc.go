// Package web renders burst's web dashboard: the sign-in page, the projects
// overview with each project's budget at a glance, a project's page (its
// spending chart, machines, storage, jobs and audit trail), the clusters
// page and a job's page with its output.
//
// Pages are rendered on the server from views (view.go): burst's own API
// types gathered for one page, so that rendering is a pure function of a
// view. The pages are templ components (the *.templ files; templ escapes
// each value for where it lands, as html/template did) compiled to Go by
// `go generate ./internal/web` into the committed *_templ.go files, which
// TestGeneratedCodeIsFresh keeps in step. Nothing renders by reflection:
// text/template's execution would make the linker keep every exported
// method of every type in burst (a 61 MB binary instead of 27 MB), and
// TestBinaryKeepsDeadMethodsOut fails if anything brings that back. The
// stylesheet, the script and the icon are embedded with go:embed; nothing
// is fetched from the network. Pages stay live by server-sent events: app.js listens on
// /ui/events and, on a change, fetches the page's fragment (the contents
// of <main id="live">, rendered with Page.Fragment set) and swaps it in.
// Buttons and forms that change things call the HTTP API with the
// session's CSRF token; the script is plain and inline-free, so a
// Content-Security-Policy of script-src 'self' holds.
package web
