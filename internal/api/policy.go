package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/cost"
)

// Every route is checked against the caller's role (docs/security-users.md)
// by one table: each route, as registered on the mux, names its action and
// where its project comes from. The middleware (policy) asks the table
// after the token check; a route with no entry is refused (500), and
// TestRouteTableComplete fails, so that no route is added unchecked.

// from is where a route's project is found.
type from int

const (
	fromNone    from = iota // no project: the action alone decides (Open, List, AdminOnly, Agent)
	fromPath                // the {name} of the path is the project
	fromQuery               // ?project=; without it the route lists (List) and the handler filters
	fromBody                // the request's body names it: the handler calls allowBody once decoded
	fromJob                 // the {id} of the path is a job: its project, its submitter the owner
	fromRef                 // the {ref} of the path names a job (GET /v1/ids)
	fromCluster             // the {name} of the path is a cluster: its project
	fromMachine             // the {id} of the path is a machine: its cluster's project
	fromCQuery              // ?cluster=: its project; without it the route lists
	fromSession             // a dashboard page: its session is checked by uiPage, its data filtered
	fromNobody              // answered before anyone signs in (sign-in page, static files)
	fromBlob                // a blob: who may depends on what holds it; the server decides (blobs.go)
	fromStack               // a stack: its project, which the server reads and checks (stacks.go)
)

type rule struct {
	action auth.Action
	from   from
}

// doing is what each route under auth.Cancel does to its job, for its
// refusal ("holding bob's job in mars needs the owner role").
var doing = map[string]string{
	"POST /v1/jobs/{id}/cancel":      "cancelling",
	"POST /v1/jobs/{id}/requeue":     "requeueing",
	"POST /v1/jobs/{id}/requeuehold": "requeueing and holding",
	"POST /v1/jobs/{id}/hold":        "holding",
	"POST /v1/jobs/{id}/release":     "releasing",
	"POST /v1/jobs/{id}/update":      "updating",
	"POST /v1/jobs/{id}/signal":      "signalling",
	"POST /v1/jobs/{id}/notify":      "notifying",
	"POST /v1/jobs/{id}/resume":      "resuming",
}

// routes is the policy of every route. Keys are the patterns exactly as
// registered with the mux.
var routes = map[string]rule{
	"GET /v1/health": {auth.Probe, fromNone},
	"GET /v1/types":  {auth.Open, fromNone},
	"GET /v1/tiers":  {auth.Open, fromNone},
	"/":              {auth.Open, fromNone}, // the 404 of an unknown endpoint

	// Prometheus' scrape (docs/metrics.md): a metrics credential or an
	// admin; it adds up every project.
	"GET /metrics": {auth.ReadMetrics, fromNone},

	"POST /v1/jobs":                  {auth.Submit, fromBody},
	"GET /v1/jobs":                   {auth.Read, fromQuery},
	"GET /v1/jobs/{id}":              {auth.Read, fromJob},
	"GET /v1/jobs/{id}/tasks":        {auth.Read, fromJob},
	"POST /v1/jobs/{id}/cancel":      {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/requeue":     {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/requeuehold": {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/hold":        {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/release":     {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/update":      {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/signal":      {auth.Cancel, fromJob},
	"POST /v1/jobs/{id}/notify":      {auth.Cancel, fromJob},
	"POST /v1/jobs/check":            {auth.Submit, fromBody},
	"GET /v1/ids/{ref}":              {auth.Read, fromRef},
	"GET /v1/jobs/{id}/wait":         {auth.Read, fromJob},
	"GET /v1/jobs/{id}/logs":         {auth.Read, fromJob},
	"GET /v1/jobs/{id}/attach":       {auth.Read, fromJob},
	"GET /v1/jobs/{id}/results":      {auth.Read, fromJob},
	"GET /v1/jobs/{id}/output":       {auth.Read, fromJob},
	"GET /v1/jobs/{id}/outputs":      {auth.Read, fromJob},
	"POST /v1/jobs/{id}/resume":      {auth.Cancel, fromJob},
	"GET /v1/projects":               {auth.List, fromNone},
	"POST /v1/projects":              {auth.CreateProject, fromNone},
	"GET /v1/projects/{name}":        {auth.Read, fromPath},
	"PATCH /v1/projects/{name}":      {auth.Budget, fromPath},
	"GET /v1/projects/{name}/budget": {auth.Read, fromPath},
	"GET /v1/cost":                   {auth.Read, fromQuery},
	"GET /v1/events":                 {auth.Read, fromQuery},

	"GET /v1/projects/{name}/members":           {auth.Read, fromPath},
	"PUT /v1/projects/{name}/members/{user}":    {auth.Members, fromPath},
	"DELETE /v1/projects/{name}/members/{user}": {auth.Members, fromPath},
	"GET /v1/users":                {auth.AdminOnly, fromNone},
	"POST /v1/users":               {auth.AdminOnly, fromNone},
	"DELETE /v1/users/{name}":      {auth.AdminOnly, fromNone},
	"POST /v1/users/{name}/tokens": {auth.AdminOnly, fromNone},
	"POST /v1/users/{name}/revoke": {auth.AdminOnly, fromNone},
	"GET /v1/whoami":               {auth.Open, fromNone},

	"GET /v1/clusters":                 {auth.List, fromNone},
	"POST /v1/clusters":                {auth.ClusterManage, fromBody},
	"DELETE /v1/clusters/{name}":       {auth.ClusterManage, fromCluster},
	"POST /v1/clusters/{name}/start":   {auth.ClusterManage, fromCluster},
	"GET /v1/machines":                 {auth.Read, fromCQuery},
	"POST /v1/machines/{id}/start":     {auth.ClusterManage, fromMachine},
	"POST /v1/machines/{id}/stop":      {auth.ClusterManage, fromMachine},
	"POST /v1/machines/{id}/terminate": {auth.ClusterManage, fromMachine},
	"GET /v1/backup":                   {auth.AdminOnly, fromNone},
	"POST /v1/agent/register":          {auth.Agent, fromNone},
	"POST /v1/agent/lease":             {auth.Agent, fromNone},
	"POST /v1/agent/report":            {auth.Agent, fromNone},
	"POST /v1/agent/output":            {auth.Agent, fromNone},
	"POST /v1/agent/interrupted":       {auth.Agent, fromNone},
	"POST /v1/machines/{id}/revoke":    {auth.ClusterManage, fromMachine},

	// Blobs: users upload to projects they submit to and read what their
	// projects hold; machines upload their tasks' outputs and read what
	// their leased tasks use. The server checks (internal/server/blobs.go).
	"POST /v1/blobs/uploads":       {auth.Submit, fromBlob},
	"PUT /v1/blobs/{digest}":       {auth.Submit, fromBlob},
	"POST /v1/blobs":               {auth.Submit, fromBlob},
	"POST /v1/blobs/{digest}/done": {auth.Submit, fromBlob},
	"GET /v1/blobs/{digest}":       {auth.Read, fromBlob},
	"GET /v1/storage":              {auth.AdminOnly, fromNone},
	"PUT /v1/storage":              {auth.AdminOnly, fromNone},
	"GET /v1/storage/blobs":        {auth.Read, fromQuery},
	"POST /v1/storage/rm":          {auth.Submit, fromBody},
	"POST /v1/storage/tier":        {auth.Submit, fromBody},
	"PUT /v1/storage/rules":        {auth.Settings, fromBody},
	"GET /v1/jobs/{id}/cache":      {auth.Read, fromJob},
	"GET /v1/cache":                {auth.Read, fromQuery},
	"GET /v1/cache/stats":          {auth.Read, fromQuery},
	"POST /v1/cache/rm":            {auth.Submit, fromBody},
	"PUT /v1/cache/default":        {auth.Settings, fromBody},

	// Software stacks (stacks.go): every user sees them; making a version
	// needs Submit on its project, removing one Submit on the stack's.
	"POST /v1/stacks":           {auth.Submit, fromBody},
	"GET /v1/stacks":            {auth.List, fromNone},
	"GET /v1/stacks/{ref}":      {auth.List, fromNone},
	"DELETE /v1/stacks/{ref}":   {auth.Submit, fromStack},
	"GET /v1/stacks/{ref}/diff": {auth.List, fromNone},
	// A task's changes as a version: Submit on the job's project (whose
	// blob store the version goes to).
	"POST /v1/jobs/{id}/stack-commit": {auth.Submit, fromJob},
	// Links that share a stack: members of its project make and revoke
	// them (the server checks); the list names no secret. The pull routes
	// take a link's secret as their credential, as /v1/join its token.
	"POST /v1/stacks/{ref}/share":       {auth.Submit, fromStack},
	"GET /v1/stack-links":               {auth.List, fromNone},
	"DELETE /v1/stack-links/{id}":       {auth.Submit, fromStack},
	"GET /v1/stack-pull":                {auth.Open, fromNobody},
	"GET /v1/stack-pull/blobs/{digest}": {auth.Open, fromNobody},

	// Joining machines: tokens are the admin's to make (a machine joins
	// a cluster, whose project pays); the exchange of one takes no
	// bearer token: the join token in its body is the credential.
	"POST /v1/join-tokens":        {auth.AdminOnly, fromNone},
	"GET /v1/join-tokens":         {auth.AdminOnly, fromNone},
	"DELETE /v1/join-tokens/{id}": {auth.AdminOnly, fromNone},
	"POST /v1/join":               {auth.Open, fromNobody},
	// The server's own binary, for machines that fetch it before they
	// join (dist.go).
	"GET /v1/dist/burst": {auth.Open, fromNobody},

	// The dashboard: a one-time sign-in code for whoever asks (it signs
	// in as them), the pages behind their session.
	"POST /v1/ui/code":        {auth.Open, fromNone},
	"GET /ui/static/":         {auth.Open, fromNobody},
	"GET /ui/login":           {auth.Open, fromNobody},
	"POST /ui/login":          {auth.Open, fromNobody},
	"GET /ui":                 {auth.Open, fromNobody},
	"POST /ui/logout":         {auth.Open, fromSession},
	"GET /ui/{$}":             {auth.List, fromSession},
	"GET /ui/projects/{name}": {auth.Read, fromSession},
	"GET /ui/clusters":        {auth.List, fromSession},
	"GET /ui/jobs/{id}":       {auth.Read, fromSession},
	"GET /ui/jobs/{id}/log":   {auth.Read, fromSession},
	"GET /ui/events":          {auth.List, fromSession},
	"GET /ui/":                {auth.Open, fromSession},
}

// policy refuses what the caller's role does not allow. It runs after the
// token check (auth), which put the principal in the request's context;
// the dashboard's pages, which auth lets through, are checked by uiPage.
func (h *handler) policy(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		ru, ok := routes[pattern]
		if !ok {
			h.log.Error("a route has no entry in the policy table (internal/api/policy.go)", "pattern", pattern)
			writeJSON(w, 500, client.Error{Message: "route " + pattern + " has no policy: refused (a bug of this burst)"})
			return
		}
		if ru.from == fromNobody || ru.from == fromSession {
			next(mux, w, r) // a dashboard page's streams are counted by uiPage
			return
		}
		p := auth.From(r.Context())
		next := func(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
			done, ok := h.streams.enter(w, p, pattern)
			if !ok {
				return
			}
			defer done()
			mux.ServeHTTP(w, r)
		}
		if p != nil && p.Kind == auth.Metrics { // GET /metrics or nothing
			if err := auth.Allow(p, ru.action, "", ""); err != nil {
				writeErr(w, err)
				return
			}
			next(mux, w, r)
			return
		}
		if (ru.from == fromBlob || ru.from == fromStack && p != nil && p.Kind != auth.Machine) && p != nil {
			// A credential; what it may do with the blob or the stack is
			// the server's. A machine changes no stack: refused here,
			// before the server says whether one exists.
			next(mux, w, r)
			return
		}
		if p == nil || p.Kind == auth.Admin || (p.IsAdmin && ru.action != auth.Agent) {
			// nil: auth let no request through without one but the
			// dashboard's, handled above.
			if p == nil {
				writeJSON(w, http.StatusUnauthorized, client.Error{Message: unauthorized})
				return
			}
			next(mux, w, r)
			return
		}
		if ru.from == fromBody && p.Kind != auth.Machine {
			next(mux, w, r) // the handler checks once it has read the body (allowBody)
			return
		}
		if p.Kind == auth.Machine { // the agent protocol or nothing: no project to look up
			if err := auth.Allow(p, ru.action, "", ""); err != nil {
				writeErr(w, err)
				return
			}
			next(mux, w, r)
			return
		}
		if ru.from == fromJob {
			// (The mux has not matched yet: r.PathValue is empty here.)
			if id, err := strconv.ParseInt(pathValues(pattern, r.URL)["id"], 10, 64); err != nil || id <= 0 {
				next(mux, w, r) // the handler says what is wrong with the id; it reads no job
				return
			}
		}
		project, owner, err := h.projectOf(r.Context(), r, pattern, ru)
		if err != nil {
			writeErr(w, err)
			return
		}
		action := ru.action
		if project == "" && ru.from == fromCQuery && r.URL.Query().Get("cluster") != "" {
			action = ru.action // an unknown cluster: refused below as one of another project is
		} else if project == "" && (ru.from == fromQuery || ru.from == fromCQuery) {
			action = auth.List // the handler shows only the caller's projects
		}
		if err := auth.AllowDoing(p, action, project, owner, doing[pattern]); err != nil {
			writeErr(w, unseen(err, pathValues(pattern, r.URL), r, ru.from))
			return
		}
		next(mux, w, r)
	})
}

// unseen is the refusal err of a caller who holds no role in the project
// of a job, cluster or machine, answered as if that did not exist: the
// very words an unknown one gets, so that neither it nor its project's
// name is confirmed. Other refusals are err itself.
func unseen(err error, vals map[string]string, r *http.Request, f from) error {
	var d *auth.Denied
	if !errors.As(err, &d) || !d.NotFound {
		return err
	}
	switch f {
	case fromJob, fromRef:
		ref := vals["id"]
		if f == fromRef {
			ref, _, _ = strings.Cut(vals["ref"], "_")
		}
		if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
			return &apierr.NoJob{ID: id}
		}
	case fromCluster, fromCQuery:
		name := vals["name"]
		if f == fromCQuery {
			name = r.URL.Query().Get("cluster")
		}
		return &apierr.NotFound{Msg: fmt.Sprintf("no cluster %q: see `burst cluster list` for the clusters you may use", name)}
	case fromMachine:
		return &apierr.NotFound{Msg: fmt.Sprintf("no machine %q: see `burst machine list` for the machines that exist", vals["id"])}
	}
	return err
}

// jobRef is "job N" in a job's waiting text (internal/sched: "kept for
// job N, ahead in line").
var jobRef = regexp.MustCompile(`\bjob (\d+)`)

// hideWaiting rewrites, for a caller who does not see every project, the
// jobs a waiting text names that are of projects they hold no role in:
// "another job", so that neither the id nor its project is told.
func (h *handler) hideWaiting(ctx context.Context, text string) string {
	p := auth.From(ctx)
	if text == "" || auth.SeesAll(p) || !strings.Contains(text, "job ") {
		return text
	}
	return jobRef.ReplaceAllStringFunc(text, func(m string) string {
		id, err := strconv.ParseInt(m[len("job "):], 10, 64)
		if err == nil {
			if j, err := h.b.Job(ctx, id); err == nil && auth.Sees(p, j.Project) {
				return m
			}
		}
		return "another job"
	})
}

func next(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, r) }

// projectOf finds a route's project (and, of a job, its submitter).
func (h *handler) projectOf(ctx context.Context, r *http.Request, pattern string, ru rule) (project, owner string, err error) {
	vals := pathValues(pattern, r.URL)
	switch ru.from {
	case fromPath:
		return vals["name"], "", nil
	case fromQuery:
		return r.URL.Query().Get("project"), "", nil
	case fromJob, fromRef:
		var id int64
		if ru.from == fromRef {
			// An array's form (12_3) is looked up by its id alone: what
			// the whole form's refusals tell (12 is a task of array 9,
			// 12 is no array, its indices) is for a caller who may see
			// the job; to any other the id is unknown (unseen).
			arr, _, _ := strings.Cut(vals["ref"], "_")
			if n, perr := strconv.ParseInt(arr, 10, 64); perr != nil || n <= 0 {
				arr = vals["ref"] // not a job id at all: refused as such, telling nothing
			}
			ref, err := h.b.ResolveID(ctx, arr)
			if err != nil {
				return "", "", err
			}
			id = ref.JobID
		} else if id, err = strconv.ParseInt(vals["id"], 10, 64); err != nil || id <= 0 {
			return "", "", nil // the handler says what is wrong with the id; Allow refuses project ""
		}
		j, err := h.b.Job(ctx, id)
		if err != nil {
			return "", "", err
		}
		return j.Project, j.User, nil
	case fromCluster, fromCQuery:
		name := vals["name"]
		if ru.from == fromCQuery {
			if name = r.URL.Query().Get("cluster"); name == "" {
				return "", "", nil
			}
		}
		for _, c := range h.b.Clusters() {
			if c.Name == name {
				return c.Project, "", nil
			}
		}
		return "", "", nil // no such cluster: as a project the caller holds no role in
	case fromMachine:
		ms, err := h.b.Machines(ctx, "")
		if err != nil {
			return "", "", err
		}
		for _, m := range ms {
			if m.ID == vals["id"] {
				for _, c := range h.b.Clusters() {
					if c.Name == m.Cluster {
						return c.Project, "", nil
					}
				}
			}
		}
		return "", "", nil
	}
	return "", "", nil
}

// allowBody checks a route whose project is in its body (fromBody), once
// the handler decoded it; false when it answered with the refusal.
func allowBody(w http.ResponseWriter, r *http.Request, action auth.Action, project string) bool {
	p := auth.From(r.Context())
	if p == nil || p.Kind == auth.Admin || p.IsAdmin {
		return true
	}
	if err := auth.Allow(p, action, project, p.Name); err != nil {
		writeErr(w, err)
		return false
	}
	return true
}

// visible is, for a caller who does not see every project, the projects
// they hold a role in; nil for one who sees all.
func visible(ctx context.Context) []string {
	p := auth.From(ctx)
	if auth.SeesAll(p) {
		return nil
	}
	out := []string{}
	for name := range p.Roles {
		out = append(out, name)
	}
	return out
}

// stillReads says whether the caller of ctx may still read work of
// project (submitted by owner). A stream is checked by the policy once,
// when it opens; a follower asks this on every poll, so that the stream of
// a user since removed, whose credential was revoked or whose role was
// taken away ends within one. The credential is looked up again in the
// server's memory (no store read); the home's token cannot be taken away.
func (h *handler) stillReads(ctx context.Context, project, owner string) bool {
	p := auth.From(ctx)
	if p == nil || p.Kind != auth.User || p.Credential == "" {
		return true
	}
	now := h.b.PrincipalOfCredential(p.Credential)
	return now != nil && auth.Allow(now, auth.Read, project, owner) == nil
}

// accessEnded is what a follower of job id is told when its access ends
// while it streams.
func accessEnded(id int64) string {
	return fmt.Sprintf("job %d: your access ended while its output was streamed (your credential was revoked, "+
		"your user removed, or your role in its project taken away); ask an admin: `burst project grant`, `burst user token`", id)
}

// pathValues are the {wildcards} of pattern in u's path, as the mux gives
// them to the handler (r.PathValue): segments of the path as sent, each
// unescaped, so that an escaped slash (%2F) is part of its segment and
// the policy checks the very value the handler acts on.
func pathValues(pattern string, u *url.URL) map[string]string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	ps, xs := strings.Split(pattern, "/"), strings.Split(u.EscapedPath(), "/")
	out := map[string]string{}
	for i, seg := range ps {
		if i < len(xs) && strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				v = xs[i]
			}
			out[strings.Trim(seg, "{}.")] = v
		}
	}
	return out
}

// deniedStatus is the status of a refusal by the policy.
func deniedStatus(err error) (int, bool) {
	var d *auth.Denied
	if !errors.As(err, &d) {
		return 0, false
	}
	if d.NotFound {
		return http.StatusNotFound, true
	}
	if strings.HasPrefix(d.Msg, "401") {
		return http.StatusUnauthorized, true
	}
	return http.StatusForbidden, true
}

// costOf is the cost report a caller may see: of every project for one
// who sees all, else of the projects they hold a role in, added up line
// by line.
func (h *handler) costOf(ctx context.Context, by, project string) (*burst.CostReport, error) {
	names := visible(ctx)
	if project != "" || names == nil {
		return h.b.Cost(ctx, by, project)
	}
	sort.Strings(names)
	out := &burst.CostReport{By: by, Lines: []burst.CostLine{}}
	at := map[string]int{}
	for _, name := range names {
		if h.b.HasProject(name) != nil {
			continue // a grant outlived its project
		}
		rep, err := h.b.Cost(ctx, by, name)
		if err != nil {
			return nil, err
		}
		out.By = rep.By
		for _, l := range rep.Lines {
			i, ok := at[l.Key]
			if !ok {
				i = len(out.Lines)
				at[l.Key] = i
				out.Lines = append(out.Lines, burst.CostLine{Key: l.Key, Name: l.Name})
			}
			out.Lines[i].NUSD += l.NUSD
			out.Lines[i].SavedNUSD += l.SavedNUSD
		}
		out.TotalNUSD += rep.TotalNUSD
		out.SavedNUSD += rep.SavedNUSD
		out.CacheHits += rep.CacheHits
	}
	for i := range out.Lines {
		out.Lines[i].USD = cost.NUSD(out.Lines[i].NUSD).Dollars()
		out.Lines[i].SavedUSD = cost.NUSD(out.Lines[i].SavedNUSD).Dollars()
	}
	out.TotalUSD = cost.NUSD(out.TotalNUSD).Dollars()
	out.SavedUSD = cost.NUSD(out.SavedNUSD).Dollars()
	return out, nil
}

// visibleOf keeps of xs those of projects the caller sees (projectOf
// names each one's project): all of them for one who sees all.
func visibleOf[T any](ctx context.Context, xs []T, projectOf func(T) string) []T {
	p := auth.From(ctx)
	if auth.SeesAll(p) {
		return xs
	}
	out := []T{}
	for _, x := range xs {
		if auth.Sees(p, projectOf(x)) {
			out = append(out, x)
		}
	}
	return out
}

// projectsOf keeps of ps those the caller sees.
func projectsOf(ctx context.Context, ps []burst.Project) []burst.Project {
	return visibleOf(ctx, ps, func(x burst.Project) string { return x.Name })
}

// clustersOf keeps of cs those of projects the caller sees.
func clustersOf(ctx context.Context, cs []burst.Cluster) []burst.Cluster {
	return visibleOf(ctx, cs, func(c burst.Cluster) string { return c.Project })
}

// machinesOf keeps of ms those of clusters the caller sees (a machine's
// project is its cluster's).
func (h *handler) machinesOf(ctx context.Context, ms []burst.Machine, err error) ([]burst.Machine, error) {
	if err != nil || auth.SeesAll(auth.From(ctx)) {
		return ms, err
	}
	project := map[string]string{}
	for _, c := range h.b.Clusters() {
		project[c.Name] = c.Project
	}
	return visibleOf(ctx, ms, func(m burst.Machine) string { return project[m.Cluster] }), nil
}
