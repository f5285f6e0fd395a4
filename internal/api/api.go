// Package api is burst's HTTP API and dashboard: the routes of docs/api.md,
// the bearer-token check, the JSON in and out, the streaming of logs and
// results, and the dashboard (/ui/: sign-in, sessions, CSRF, pages and
// server-sent events). It holds no state of the control plane: every
// handler asks a Backend (the server) and writes its answer, so that the
// handlers can be tested without a server.
//
// Errors from the Backend become statuses here (writeErr): the kinds of
// internal/apierr, and store.ErrNotFound, are 4xx; any other is a 500.
package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/netlimit"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// Backend is what the handlers ask of the control plane. The server
// implements it; its methods are named after what a handler wants, and
// the store is reached only through them.
type Backend interface {
	Jobs
	Outputs
	Agents
	Fleet
	Money
	Dashboard
	Identities
	Joins
	Users

	// Health describes the server (GET /v1/health).
	Health() client.Health
	// Metrics serves GET /metrics in Prometheus' format (internal/metrics).
	Metrics() http.Handler
}

// Jobs submits, cancels, resumes and reads jobs and their tasks.
type Jobs interface {
	Submit(ctx context.Context, actor string, spec *burst.JobSpec) (*burst.Job, error)
	// CheckSubmit says whether Submit would admit spec, recording nothing.
	CheckSubmit(ctx context.Context, spec *burst.JobSpec) error
	Cancel(ctx context.Context, id int64) (*client.CancelResult, error)
	CancelTask(ctx context.Context, id int64, idx int) (*client.CancelResult, error)
	CancelWaiting(ctx context.Context, id int64) (*client.CancelResult, error)
	Requeue(ctx context.Context, id int64, idx int, hold bool) error
	// Hold holds a job that has not started until it is released (on),
	// or releases it (scontrol hold, scontrol release); an admin's hold
	// only an admin may release, unless user (scontrol uhold).
	Hold(ctx context.Context, id int64, on, user bool) error
	// Update changes a job that has not ended (scontrol update).
	Update(ctx context.Context, id int64, o client.UpdateOptions) error
	// Signal sends sig to the job's running tasks (task idx alone when
	// idx >= 0), to the processes scope names.
	Signal(ctx context.Context, id int64, idx int, sig int, scope client.SignalScope) (*client.SignalResult, error)
	// Notify writes msg into the error file of the job's task idx, running
	// a batch script (scontrol notify).
	Notify(ctx context.Context, id int64, idx int, msg string) (*client.SignalResult, error)
	ResumeWith(ctx context.Context, id int64, o client.ResumeOptions) (*burst.Job, error)
	ResolveID(ctx context.Context, ref string) (*client.IDRef, error)

	// Job is a job as stored; *apierr.NoJob when there is none.
	Job(ctx context.Context, id int64) (*store.JobRow, error)
	// JobHead is Job with its spec only for a job of one of kinds (nil for
	// the others; none: for no job).
	JobHead(ctx context.Context, id int64, kinds ...string) (*store.JobRow, error)
	// JobList lists jobs as stored.
	JobList(ctx context.Context, f store.JobFilter) ([]*store.JobRow, error)
	// TaskRows are the stored tasks of job from index from on (tasks never
	// dispatched have no row).
	TaskRows(ctx context.Context, job int64, from, limit int) ([]*store.TaskRow, error)
	// TaskRowsIn are those of TaskRows in one of states.
	TaskRowsIn(ctx context.Context, job int64, from, limit int, states []string) ([]*store.TaskRow, error)
	// TaskRow is one stored task; store.ErrNotFound when it has no row.
	TaskRow(ctx context.Context, job int64, idx int) (*store.TaskRow, error)
	// Inputs are a map's input sources, one list of values each.
	Inputs(ctx context.Context, job int64) ([][]string, error)

	// JobCosts fills in what the jobs cost so far.
	JobCosts(ctx context.Context, jobs []*burst.Job) error
	// FillWaiting says, of the active jobs, what they wait for, and of a
	// running batch job of one task the srun steps it ran so far.
	FillWaiting(jobs []*burst.Job)
	// LiveJobFigures adds what a running pipe's stages used so far.
	LiveJobFigures(job *burst.Job)
	// LiveTasks adds to stored tasks of a job what only memory knows: the
	// figures running tasks sent so far, and why queued ones wait.
	LiveTasks(job int64, ts []burst.Task) []burst.Task

	// Watch is closed when job id next changes; nil when it is not active.
	Watch(id int64) <-chan struct{}
	// TaskActive says whether a task may still run or write output, and
	// gives a channel closed when its job next changes.
	TaskActive(id int64, idx int) (bool, <-chan struct{})
}

// Agents is the agents' side: register, lease, report.
type Agents interface {
	Register(ctx context.Context, r *client.Register) (*client.Registered, error)
	Lease(ctx context.Context, l *client.Lease) (*client.Leased, error)
	Report(ctx context.Context, r *client.Report) error
	// Interrupted applies a spot interruption notice of the agent's
	// machine: its tasks are requeued as preempted.
	Interrupted(ctx context.Context, n *client.Interruption) (*client.Interrupted, error)
}

// Fleet is clusters and their machines.
type Fleet interface {
	Clusters() []burst.Cluster
	CreateCluster(ctx context.Context, actor string, spec *burst.ClusterSpec) (*burst.Cluster, error)
	DeleteCluster(ctx context.Context, actor, name string) error
	StartInCluster(ctx context.Context, actor, cluster, name string) (*burst.Machine, error)
	Machines(ctx context.Context, cluster string) ([]burst.Machine, error)
	StartMachine(ctx context.Context, actor, id string) (*burst.Machine, error)
	StopMachine(ctx context.Context, actor, id string, drain, terminate bool) (*burst.Machine, error)
}

// Money is projects, budgets, prices, cost reports and the audit trail.
type Money interface {
	Projects() []burst.Project
	Project(ctx context.Context, name string) (*burst.Project, error)
	// HasProject is nil when the project exists, else a not-found error
	// naming the known ones (cheaper than Project: no budget report).
	HasProject(name string) error
	CreateProject(ctx context.Context, actor string, spec *burst.ProjectSpec) (*burst.Project, error)
	UpdateProject(ctx context.Context, actor string, spec *burst.ProjectSpec) (*burst.Project, error)
	Budget(ctx context.Context, name string) (*burst.BudgetReport, error)
	Types(gpu bool) []burst.MachineType
	Tiers() []burst.StorageTier
	Cost(ctx context.Context, by, project string) (*burst.CostReport, error)
	// Events are the audit events after f.After, waiting up to wait for one.
	Events(ctx context.Context, f store.EventFilter, wait time.Duration) ([]burst.Event, error)
	// RecentEvents are the stored events f selects, at once.
	RecentEvents(ctx context.Context, f store.EventFilter) ([]burst.Event, error)
}

// Dashboard is what only the dashboard reads: its overview, a counter of
// changes, and its signed-in sessions.
type Dashboard interface {
	Overview() *web.OverviewView
	// Changes grows with every change a dashboard page may show of no
	// project or of a project sees lets through, and with no other.
	Changes(sees func(project string) bool) uint64
	// Session is the stored session of that id hash; nil if none.
	Session(ctx context.Context, idHash string) (*store.SessionRow, error)
	// SaveSession records a session, and forgets those expired by now.
	SaveSession(ctx context.Context, r store.SessionRow, now time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
}

// Identities resolves credentials other than the home's own token.
type Identities interface {
	// Principal is who secret (a bearer token) stands for: a user's or a
	// machine's credential; nil, nil when it stands for nobody (unknown,
	// revoked, expired).
	Principal(ctx context.Context, secret string) (*auth.Principal, error)
}

// Options are what the handlers know of the server besides its state.
type Options struct {
	Token     string       // the bearer token every API request needs
	TokenFile string       // where the token is kept, named when it is missing
	ServerLog string       // the server's log, named when a page cannot be drawn
	User      string       // who acts when a client names nobody (X-Burst-User)
	Addr      string       // the server's http://HOST:PORT, in sign-in links
	Log       *slog.Logger // nil: slog.Default()
	// StreamFiles bounds the files streams hold open at once (0: a quarter
	// of the descriptor limit, netlimit.MaxStreamFiles).
	StreamFiles int
}

type handler struct {
	b       Backend
	o       Options
	log     *slog.Logger
	ui      *uiState
	streams streamGate // the streams each user holds open (streams.go)
	files   fileGate   // the files streams hold open, all users together (streams.go)
}

// New builds the handler of every route of docs/api.md and the dashboard.
func New(b Backend, o Options) (http.Handler, error) {
	h := &handler{b: b, o: o, log: o.Log, files: newFileGate(cmp.Or(o.StreamFiles, netlimit.MaxStreamFiles(netlimit.Nofile())))}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	if err := h.uiRoutes(mux); err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, healthFor(auth.From(r.Context()), b.Health()))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { b.Metrics().ServeHTTP(w, r) })
	h.jobRoutes(mux)
	h.moneyRoutes(mux)
	h.fleetRoutes(mux)
	h.backupRoutes(mux)
	h.whoamiRoutes(mux)
	h.joinRoutes(mux)
	h.userRoutes(mux)
	h.distRoutes(mux)
	mux.HandleFunc("POST /v1/agent/register", agentHandler(asOwn(b.Register)))
	mux.HandleFunc("POST /v1/agent/lease", agentHandler(asOwn(b.Lease)))
	mux.HandleFunc("POST /v1/agent/interrupted", agentHandler(asOwn(b.Interrupted)))
	h.outputRoute(mux)
	h.blobRoutes(mux)
	h.stackRoutes(mux) // stacks.go
	mux.HandleFunc("POST /v1/agent/report", func(w http.ResponseWriter, r *http.Request) {
		var rep client.Report
		if !decodeAgent(w, r, &rep) {
			return
		}
		if err := ownMachine(r.Context(), &rep); err != nil {
			writeErr(w, err)
			return
		}
		if err := b.Report(r.Context(), &rep); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, client.Error{Message: "no such endpoint: " + r.Method + " " + r.URL.Path + " (see docs/api.md)"})
	})
	gate := &bodyGate{max: MaxBodiesInFlight}
	return h.auth(gate.wrap(h.policy(mux))), nil
}

// schemeBearer is an Authorization header with its scheme written "Bearer":
// the scheme is case-insensitive (RFC 9110, 11.1): "bearer T" is "Bearer T".
func schemeBearer(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return "Bearer " + h[7:]
	}
	return h
}

// auth refuses every request without the server's bearer token.
func (h *handler) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + h.o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ui/") || r.URL.Path == "/ui" {
			// The dashboard checks its sessions itself; a signed-in
			// browser's connection is no stranger's (netlimit).
			if h.ui != nil && h.sessionOf(r) != nil {
				netlimit.Authenticate(r.Context())
			}
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == distPath && r.Method == http.MethodGet {
			// The binary is no secret (dist.go): a machine fetches it
			// before it has any credential.
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet && (r.URL.Path == stackPullPath || strings.HasPrefix(r.URL.Path, stackPullPath+"/")) {
			// A stack link's secret is the credential (stacks.go); the
			// connection stays a stranger's for netlimit.
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == joinPath && r.Method == http.MethodPost {
			// A join token in the body is the credential (join.go); the
			// connection stays a stranger's for netlimit.
			next.ServeHTTP(w, r)
			return
		}
		got := []byte(schemeBearer(r.Header.Get("Authorization")))
		var p *auth.Principal
		if subtle.ConstantTimeCompare(got, want) == 1 {
			user := r.Header.Get("X-Burst-User")
			if !burst.ValidName(user) {
				user = h.o.User
			}
			p = &auth.Principal{Kind: auth.Admin, Name: user, IsAdmin: true}
		} else if secret, ok := strings.CutPrefix(string(got), "Bearer "); ok && secret != "" {
			var err error
			if p, err = h.b.Principal(r.Context(), secret); err != nil {
				writeErr(w, err)
				return
			}
		}
		if p == nil {
			if sp, ok := h.uiAPI(w, r); ok {
				if sp != nil { // a signed-in page calls the API
					netlimit.Authenticate(r.Context())
					next.ServeHTTP(w, r.WithContext(auth.With(WithActor(r.Context(), sp.Name), sp)))
				}
				return
			}
			// The answer goes to whoever asks, so it names no path of the
			// server's host: only where a user who may read it finds it.
			// The connection closes after it, at once: otherwise the
			// server would read what is left of the body (up to 256 KiB,
			// with no deadline), and a stranger trickling one would hold
			// it.
			w.Header().Set("Connection", "close")
			msg := unauthorized
			if strings.HasPrefix(string(got), "Bearer "+client.UserCredentialPrefix) {
				msg = unknownUser
			}
			writeJSON(w, http.StatusUnauthorized, client.Error{Message: msg})
			http.NewResponseController(w).SetReadDeadline(time.Now())
			return
		}
		netlimit.Authenticate(r.Context())
		// The count is on the handlers' copy of the request: the server's
		// own keeps its body as net/http made it, which it must see to
		// answer a request refused unread at once (a client that sent
		// Expect: 100-continue hears it before sending the body; with its
		// body replaced, the server first read 256 KiB of it, and such a
		// client heard nothing until its own timeout).
		r = r.WithContext(auth.With(WithActor(r.Context(), p.Name), p))
		body := &countedBody{ReadCloser: r.Body}
		r.Body = body
		next.ServeHTTP(w, r)
		if body.n >= bigBody {
			releaseMemory()
		}
	})
}

// healthFor is what GET /v1/health tells p: the server's paths on its own
// host (home, socket, CA file) and its process id only to those who may
// see them (auth.SeesHostPaths).
func healthFor(p *auth.Principal, h client.Health) client.Health {
	if !auth.SeesHostPaths(p) {
		h.Home, h.Socket, h.CA, h.CopyOf, h.PID = "", "", "", "", 0
	}
	return h
}

// cutForSlowness answers 408 when err is the read error of a body the
// gate cut for coming too slowly (body.go); false for any other error.
func cutForSlowness(w http.ResponseWriter, err error) bool {
	var sb *slowBody
	if !errors.As(err, &sb) {
		return false
	}
	w.Header().Set("Connection", "close")
	writeJSON(w, http.StatusRequestTimeout, client.Error{Message: sb.Error()})
	return true
}

// bigBody is the size of a request body past which the server gives the
// memory it took back to the system once the request is answered.
const bigBody = 8 << 20

// countedBody counts the bytes read from a request's body.
type countedBody struct {
	io.ReadCloser
	n int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// releaseMemory returns the memory of a large request (its body, the
// decoder's buffer, a refused spec) to the system at once, rather than at
// the next collection, which an idle server may not run for minutes: a
// 60 MB request then left the server 200 MB large. It costs a collection
// per request of 8 MiB or more, small beside decoding such a body.
func releaseMemory() {
	debug.FreeOSMemory()
}

type actorKey struct{}

// WithActor is ctx for a request made by actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor is who made the request of ctx: the user the client names (it
// holds the server's token, so it is trusted to), else the server's own
// user; "server" for work no request asked for.
func Actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return a
	}
	return "server"
}

func actorOf(r *http.Request) string { return Actor(r.Context()) }

func agentHandler[In, Out any](fn func(context.Context, *In) (*Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		if !decodeAgent(w, r, &in) {
			return
		}
		out, err := fn(r.Context(), &in)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, out)
	}
}

// jsonAppender is a message that writes its own JSON (client.Leased: a
// lease's answer, once every few tasks).
type jsonAppender interface {
	AppendJSON([]byte) ([]byte, error)
}

// unauthorized is the body of a 401.
const unauthorized = "missing or wrong token: send \"Authorization: Bearer TOKEN\" with the server's token, " +
	"which the user who runs the server finds in the file token of its BURST_HOME (docs/api.md, Authentication)"

// unknownUser is the body of a 401 for a user's credential the server
// does not know (any more).
const unknownUser = "this user credential is not valid here: it was revoked, its user removed, or it is another server's; " +
	"ask an admin for a new one (`burst user token NAME`) and sign in with it (`burst login`, or BURST_TOKEN)"

// MaxBody bounds a request's body (burst.MaxSubmitBytes).
const MaxBody = burst.MaxSubmitBytes

// jsonDecoder is a message that reads its own JSON when it has the common
// shape (client.Report: an agent's report, once every few tasks) and says
// when it has not: encoding/json then reads it, as for any other message.
type jsonDecoder interface {
	DecodeJSON([]byte) bool
}

// jsonError says what is wrong with a body in JSON's words: a value of the
// wrong type is named by its field and the JSON type wanted, not by the Go
// type that was to hold it (`[]` sent for a job said "cannot unmarshal
// array into Go value of type struct { *burst.plain; ... }").
func jsonError(err error) string {
	if err == io.EOF { // nothing but white space before the body's end
		return "the request has no body: send a JSON object (docs/api.md lists each route's fields)"
	}
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	want := "a value of another type"
	switch te.Type.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		want = "an object"
	}
	if te.Field == "" {
		return fmt.Sprintf("the body is a JSON %s; it must be %s (docs/api.md)", te.Value, want)
	}
	return fmt.Sprintf("cannot unmarshal %s into %q: it must be %s (docs/api.md)", te.Value, te.Field, want)
}

// decode reads r's body into v, strictly: a field v does not have is
// refused (400, naming it), so that a user's misspelt option is never
// dropped without a word.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, true)
}

// decodeAgent reads a body of the agent protocol into v: a field v does
// not have is ignored, so that an agent newer than its server is served
// with what the server knows (docs/api.md, Versions).
func decodeAgent(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, false)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, strict bool) bool {
	var body io.Reader = http.MaxBytesReader(w, r.Body, MaxBody)
	if d, ok := v.(jsonDecoder); ok {
		var buf bytes.Buffer
		if r.ContentLength > 0 && r.ContentLength <= MaxBody {
			buf.Grow(int(r.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead free before it sees the end
		}
		if _, err := buf.ReadFrom(body); err != nil {
			if mb := new(http.MaxBytesError); errors.As(err, &mb) {
				tooLargeFor(w, mb.Limit)
				return false
			}
			if !cutForSlowness(w, err) {
				writeJSON(w, 400, client.Error{Message: "bad request body: " + err.Error()})
			}
			return false
		}
		if d.DecodeJSON(buf.Bytes()) {
			return true
		}
		body = &buf
	}
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if mb := new(http.MaxBytesError); errors.As(err, &mb) {
			tooLargeFor(w, mb.Limit)
			return false
		}
		if !cutForSlowness(w, err) {
			writeJSON(w, 400, client.Error{Message: "bad request body: " + jsonError(err)})
		}
		return false
	}
	// One value, and nothing after it: a second one would be dropped
	// without a word (`{...} {...}` answered as if it were the first).
	if _, err := dec.Token(); err != io.EOF {
		if mb := new(http.MaxBytesError); errors.As(err, &mb) {
			tooLargeFor(w, mb.Limit)
			return false
		}
		writeJSON(w, 400, client.Error{Message: "bad request body: something follows the JSON value: send one value"})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if a, ok := v.(jsonAppender); ok {
		if b, err := a.AppendJSON(make([]byte, 0, 4096)); err == nil {
			w.WriteHeader(status)
			w.Write(append(b, '\n')) // as json.Encoder ends a value
			return
		}
		// What json.Marshal refuses too: its error, as below.
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Status is the HTTP status the API answers err with.
func Status(err error) int {
	if st, ok := deniedStatus(err); ok {
		return st
	}
	var rf *Refused
	switch {
	case errors.As(err, &rf):
		return rf.Status
	case errors.As(err, new(*apierr.BadRequest)):
		return http.StatusBadRequest
	case errors.Is(err, apierr.ErrConflict):
		return http.StatusConflict
	case errors.As(err, new(*apierr.NoSpace)):
		return http.StatusInsufficientStorage
	case errors.As(err, new(*apierr.Busy)):
		return http.StatusServiceUnavailable
	case errors.Is(err, store.ErrNotFound), errors.As(err, new(*apierr.NoJob)), errors.As(err, new(*apierr.NotFound)):
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

func writeErr(w http.ResponseWriter, err error) {
	msg := err.Error()
	var br *apierr.BadRequest
	var ns *apierr.NoSpace
	var bz *apierr.Busy
	if errors.As(err, &br) {
		msg = br.Msg // what to fix, without what wrapped it
	} else if errors.As(err, &ns) {
		msg = ns.Msg
	} else if errors.As(err, &bz) {
		msg = bz.Msg
	}
	writeJSON(w, Status(err), client.Error{Message: msg})
}

// respond writes a handler's result, or its error.
func respond(w http.ResponseWriter, status int) func(any, error) {
	return func(v any, err error) {
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, status, v)
	}
}

func jobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	return pathID(w, r, "job id", "burst jobs")
}

// pathID reads the request path's {id} as a positive number, or answers 400
// naming what the id is of (what) and the command that lists them (see).
func pathID(w http.ResponseWriter, r *http.Request, what, see string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, 400, client.Error{Message: what + " " + strconv.Quote(r.PathValue("id")) + " is not a number: see `" + see + "`"})
		return 0, false
	}
	return id, true
}

func (h *handler) getJob(w http.ResponseWriter, r *http.Request) (*store.JobRow, bool) {
	return h.readJob(w, r, h.b.Job)
}

// getJobHead is getJob without the spec (nil), for a handler that needs
// none: reading a spec decodes the submitter's whole environment.
func (h *handler) getJobHead(w http.ResponseWriter, r *http.Request, kinds ...string) (*store.JobRow, bool) {
	return h.readJob(w, r, func(ctx context.Context, id int64) (*store.JobRow, error) {
		if j, ok := ctx.Value(jobHeadKey{}).(store.JobRow); ok && j.ID == id {
			return &j, nil // read once for an attach's streams (handleAttach)
		}
		return h.b.JobHead(ctx, id, kinds...)
	})
}

// jobHeadKey carries, in the context of an attach's streams, the job's
// head as the attach read it (with the spec of a map or a pipe, as the
// logs read it): one read of the store for both streams.
type jobHeadKey struct{}

func (h *handler) readJob(w http.ResponseWriter, r *http.Request, read func(context.Context, int64) (*store.JobRow, error)) (*store.JobRow, bool) {
	id, ok := jobID(w, r)
	if !ok {
		return nil, false
	}
	j, err := read(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return nil, false
	}
	return j, true
}
