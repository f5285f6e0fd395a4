// Package client is the Go client of burst's HTTP API: submit and follow
// jobs, read logs, cancel; and the agent protocol (register, lease, report)
// that every burst agent speaks to the server.
//
// It only speaks HTTP (and HTTPS, verifying the server: tls.go): it starts
// no servers and reads no configuration files (only the CA file that
// BURST_CA names, when nothing else says whom to trust). Finding the server (and starting the local one) is internal/discover's,
// used by the CLI and by sdk.Connect, whose Client starts the server again
// should it go away.
//
// A Client rides out a server it cannot reach for a while (one restarting,
// or killed and started again), as its Retry says: DefaultRetry unless
// WithRetry says otherwise. What it asks again:
//
//   - A read (every GET: Job, Jobs, Tasks, Wait, Results, Events, ...) is
//     asked again whenever its answer did not come whole: the connection
//     was refused, broke, or closed mid-answer. Logs goes on from the byte
//     it had reached; Output, which has no offset, only if it had copied
//     nothing yet.
//   - A request that changes something (POST, PATCH, DELETE: Submit,
//     Cancel, Resume, the agent protocol, ...) is asked again only when it
//     was never sent: the connection could not be made. The server cannot
//     tell a submit sent twice from two submits, so a Submit whose
//     connection broke after it was sent is never sent again: its error
//     says it may have been taken.
//   - An answer from the server (an *Error, any status) is never asked
//     again, nor is anything once ctx ends.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/sysuser"
)

// user is who this process acts for, as the audit trail records it:
// looked up at the first request, not at start (it reads the passwd
// database, and may run getent for an account kept in LDAP or SSSD), as
// most processes of the burst binary (burst version, help, a task's stack
// exec) send none.
var user = sync.OnceValue(func() string {
	u, _ := sysuser.Current(context.Background()) // $USER already its fallback: "" only without one
	return u.Name
})

// Client talks to one burst server. It is safe for concurrent use; a copy
// made by WithRetry shares its connection.
type Client struct {
	conn  *conn
	retry Retry
	// blobs is where blobs are read ("" for /v1/blobs/; a stack link's
	// puller reads /v1/stack-pull/blobs/: stacks.go).
	blobs string
	// noSpec: jobs are answered without their spec (WithoutSpec).
	noSpec bool
}

// conn is where the server is, shared by a Client and its copies, and
// what finds it again when it stops answering.
type conn struct {
	ep        atomic.Pointer[endpoint]
	mu        sync.Mutex // one reconnect at a time
	reconnect func(ctx context.Context) (addr, token string, err error)
	ca        []byte // CA certificates (PEM) to trust for https:// (WithCA)
}

// endpoint is one address of the server, with its token.
type endpoint struct {
	base  string // http://host:port or http://unix
	unix  string // the socket's path, for http://unix
	token string
	hc    *http.Client
	// patient is hc without the answer's timeout, for calls whose answer
	// rightly comes late: a backup (the copy is made before its first
	// byte) and an upload (the server syncs the file before it answers).
	patient *http.Client
}

// patientKey marks a call's context as one that waits for its answer as
// long as it takes (endpoint.patient).
type patientKey struct{}

func patiently(ctx context.Context) context.Context {
	return context.WithValue(ctx, patientKey{}, true)
}

// client is the HTTP client for a call made with ctx.
func (ep *endpoint) client(ctx context.Context) *http.Client {
	if ctx.Value(patientKey{}) != nil {
		return ep.patient
	}
	return ep.hc
}

// SlotHeader, on a 503 with Retry-After, says the request waits for one
// of the caller's own open streams (follows, waits) to end: the client
// asks again until it is taken or its context ends.
const SlotHeader = "Burst-Wait-For-Slot"

// Error is an error answer from the server.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	// unread marks a 503 with Retry-After: the server turned the request
	// away before reading it (too many large bodies at once), so it is
	// safe to send again, whatever its method.
	unread bool
	// slot marks such a 503 that waits for one of the caller's own
	// streams to end (SlotHeader: too many follows and waits open at
	// once): asked again for as long as the caller waits, not for
	// Patience alone, since the caller's other streams end in their time.
	slot bool
	// body is the answer's body (its first 64 KiB), for callers that
	// read more of it than the message (a 416's next offset).
	body []byte
}

func (e *Error) Error() string { return e.Message }

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Option changes how New's Client works.
type Option func(*Client)

// WithRetry sets how the Client rides out a server it cannot reach;
// Retry{} never asks again.
func WithRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// WithReconnect sets what the Client calls when the server stopped
// answering, before it asks again: it makes the server reachable again if
// it can (sdk.Connect's starts the local server anew) and says where it
// listens now. An error leaves the Client where it was; it asks again all
// the same, until its Retry's patience runs out, unless the error wraps
// ErrNoServer: then the call ends at once with it. One call at a time runs
// it, and a call that failed on an address another already replaced just
// asks again.
func WithReconnect(fn func(ctx context.Context) (addr, token string, err error)) Option {
	return func(c *Client) { c.conn.reconnect = fn }
}

// New returns a client for addr, which is "unix:///path/to/socket",
// "http://host:port" or "https://host:port", authenticating with token. It
// retries as DefaultRetry says unless an option says otherwise. An https://
// server is verified by the CA hash its address pins
// ("https://host:port#sha256:..."), else by WithCA's CA, else by the file
// BURST_CA names, else by the system's roots.
func New(addr, token string, opts ...Option) (*Client, error) {
	c := &Client{conn: &conn{}, retry: DefaultRetry}
	for _, o := range opts {
		o(c)
	}
	ep, err := c.conn.newEndpoint(addr, token)
	if err != nil {
		return nil, err
	}
	c.conn.ep.Store(ep)
	return c, nil
}

// expectContinueBody is the size past which a request's body waits for
// the server's "100 Continue" (internal/api passes bodies up to 1 MiB
// without a turn); expectContinueWait is how long it waits before it is
// sent regardless, for a server or proxy that never answers 100.
const (
	expectContinueBody = 1 << 20
	expectContinueWait = 5 * time.Second
)

// answerTimeout is how long a call waits for the first line of the
// server's answer once its request is sent: past the longest the server
// holds a long poll (GET /v1/jobs/N/wait, 60 s).
var answerTimeout = 75 * time.Second

func (k *conn) newEndpoint(addr, token string) (*endpoint, error) {
	// A server that takes the connection and then says nothing (stopped,
	// wedged, or not burst) fails a call instead of holding it forever:
	// connecting and the TLS handshake get 10 s each, and the answer's
	// first line answerTimeout once the request is sent (the server ends
	// its long polls within a minute; streams answer at once).
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: answerTimeout,
		ExpectContinueTimeout: expectContinueWait}
	ep := &endpoint{token: token, hc: &http.Client{Transport: tr}}
	switch {
	case strings.HasPrefix(addr, "unix://"):
		path := strings.TrimPrefix(addr, "unix://")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		}
		ep.base, ep.unix = "http://unix", path
	case strings.HasPrefix(addr, "https://"):
		base, pin, err := SplitPin(addr)
		if err != nil {
			return nil, err
		}
		if tr.TLSClientConfig, err = k.tlsConfig(base, pin); err != nil {
			return nil, err
		}
		ep.base = base
	case strings.HasPrefix(addr, "http://"):
		ep.base = strings.TrimRight(addr, "/")
		u, err := url.Parse(ep.base)
		if err != nil {
			return nil, fmt.Errorf("server address %q: %w", addr, err)
		}
		if token != "" && !Loopback(u.Hostname()) {
			return nil, fmt.Errorf("server address %q: plain http:// beyond loopback would send the credential in clear: use https://%s", addr, u.Host)
		}
	default:
		return nil, fmt.Errorf("server address %q: use unix:///path/to/burst.sock, http://host:port or https://host:port", addr)
	}
	slow := tr.Clone()
	slow.ResponseHeaderTimeout = 0
	ep.patient = &http.Client{Transport: slow}
	return ep, nil
}

// WithRetry returns a Client that retries as r says and shares c's
// connection (a reconnect by one serves both): e.g. a follow that rides
// out a restart for longer than the reads around it, or Retry{} for a
// caller with a retry loop of its own. It keeps c's WithoutSpec.
func (c *Client) WithRetry(r Retry) *Client {
	return &Client{conn: c.conn, retry: r, noSpec: c.noSpec}
}

// request sends one request, with body (nil: none) of contentType, and
// returns the answer, or the server's error answer as an *Error, or a
// failure to connect in the words of tlsFailure. It does not retry.
func (ep *endpoint) request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := ep.newRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ep.client(ctx).Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "timeout awaiting response headers") {
			return nil, fmt.Errorf("%s %s: %s took the request but did not answer within %v: the server is stopped or overloaded (`burst server info` on its host; a local one restarts with `burst server stop` and the next command): %w",
				method, path, ep.base, answerTimeout, err)
		}
		return nil, tlsFailure(err, ep.base)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, ep.errorOf(resp)
	}
	return resp, nil
}

// newRequest is a request to the server, with its credential.
func (ep *endpoint) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, ep.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+ep.token)
	if req.ContentLength > expectContinueBody {
		// The server may turn a large body away (503, its gate of
		// bodies in flight; 401; 413) before reading it: asked first,
		// it answers before a byte is sent, rather than closing the
		// connection under a body still being written, which a client
		// sees as a broken pipe and cannot tell from a request carried
		// out. (A JSON body: NewRequest knows its length. A blob's file,
		// whose length its caller sets after, goes without asking: the
		// gate does not hold blobs.)
		req.Header.Set("Expect", "100-continue")
	}
	if u := user(); u != "" {
		req.Header.Set("X-Burst-User", u)
	}
	return req, nil
}

// errorOf is the *Error of the server's error answer resp (its body is
// read, not closed).
func (ep *endpoint) errorOf(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	e.unread = resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
	e.slot = e.unread && resp.Header.Get(SlotHeader) != ""
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	e.body = b
	if json.Unmarshal(b, e) != nil || e.Message == "" {
		e.Message = fmt.Sprintf("server answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		if resp.StatusCode == http.StatusBadRequest && strings.Contains(string(b), plainToTLS) {
			e.Message = fmt.Sprintf("%s serves HTTPS only: use https://%s (and log in with `burst login`)", ep.base, strings.TrimPrefix(ep.base, "http://"))
		}
	} else if resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(e.Message, unknownField) {
		e.Message += olderServer
	}
	return e
}

// unknownField begins the server's refusal of a body with a field it does
// not know. This client sends only the fields of its own types: a server
// that does not know one is older than it.
const unknownField = `bad request body: json: unknown field "`

// olderServer is added to such a refusal.
const olderServer = ": the server runs an older burst than this client, which does not know that field; " +
	"upgrade the server (this host's own: `burst server stop`, and the next command starts this burst's), " +
	"or leave out the option that sets it"

// do sends a request and decodes its JSON answer into out (nil: none),
// asking again as the package comment says: a GET whenever the answer did
// not come whole, anything else only when it was never sent.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if a, ok := body.(interface{ AppendJSON([]byte) ([]byte, error) }); ok {
			b, err = a.AppendJSON(make([]byte, 0, 4096)) // a Report: see wirefast.go
		} else {
			b, err = json.Marshal(body)
		}
		if err != nil {
			return err
		}
	}
	return c.retrying(ctx, method, path, nil, func(ep *endpoint) error {
		var r io.Reader
		if b != nil {
			r = bytes.NewReader(b)
		}
		resp, err := ep.request(ctx, method, path, r, "application/json")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if out == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		}
		// Read whole, then decoded: one copy of the answer, as a
		// json.Decoder holds too, kept for decodeNewer.
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			if err = json.Unmarshal(data, out); err != nil {
				err = decodeNewer(data, out, err)
			}
		}
		if err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
		return nil
	})
}

// decodeNewer reads data, an answer that failed to decode into out with
// err, as the answer of a server newer than this client: a job's spec is
// read strictly (as the server reads a request, so that a misspelt option
// is refused), and a newer server's spec may carry fields this client's
// types do not know. Each field refused so is left out, wherever it is,
// and the answer read again; any other error is returned as it is.
func decodeNewer(data []byte, out any, err error) error {
	for range 16 {
		field, ok := UnknownField(err)
		if !ok {
			return err
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber() // ids and byte counts stay exact
		if d.Decode(&v) != nil || !dropKey(v, field) {
			return err
		}
		if data, err = json.Marshal(v); err != nil {
			return err
		}
		if err = json.Unmarshal(data, out); err == nil {
			return nil
		}
	}
	return err
}

// UnknownField is the field a strict decoding of JSON refused in err
// (`json: unknown field "F"`: an older server's refusal of a request, or a
// newer server's spec read here), and whether err is such a refusal.
func UnknownField(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	_, field, ok := strings.Cut(err.Error(), `json: unknown field "`)
	if !ok {
		return "", false
	}
	field, _, ok = strings.Cut(field, `"`)
	return field, ok
}

// dropKey removes key from every object in v, and says whether there was
// one.
func dropKey(v any, key string) bool {
	found := false
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v[key]; ok {
			delete(v, key)
			found = true
		}
		for _, e := range v {
			found = dropKey(e, key) || found
		}
	case []any:
		for _, e := range v {
			found = dropKey(e, key) || found
		}
	}
	return found
}

// ErrorTrailer is the HTTP trailer by which the server reports an error
// it met after a stream's answer had begun (its status is sent then): a
// store that cannot be read, an output file that cannot. A stream that
// carries it fails with the server's message, even though every byte
// sent arrived: what is missing must not look like the end.
const ErrorTrailer = "X-Burst-Error"

// stream sends a GET and copies its answer to w. resume says whether a
// broken answer can go on from where it was: path(n) then asks for the
// answer past the n bytes copied so far; otherwise it is asked again only
// if nothing was copied.
func (c *Client) stream(ctx context.Context, path func(n int64) string, resume bool, w io.Writer) error {
	cw := &countWriter{w: w}
	return c.retrying(ctx, "GET", path(0), cw, func(ep *endpoint) error {
		resp, err := ep.request(ctx, "GET", path(cw.n), nil, "")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(cw, resp.Body)
		if err != nil && !resume && cw.n > 0 {
			return &final{err}
		}
		if msg := resp.Trailer.Get(ErrorTrailer); err == nil && msg != "" {
			// The trailer is read once the body has ended: the server's
			// own word, not asked again.
			return &Error{Status: http.StatusInternalServerError, Message: msg}
		}
		return err
	})
}

// Health returns the server's identity; it fails if the server is not
// reachable or the token is wrong.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.do(ctx, "GET", "/v1/health", nil, &h)
}

// Submit admits a job and returns it with its id.
func (c *Client) Submit(ctx context.Context, spec *burst.JobSpec) (*burst.Job, error) {
	var j burst.Job
	err := c.do(ctx, "POST", "/v1/jobs"+c.specQuery("?"), spec, &j)
	var e *Error
	if field, ok := UnknownField(err); ok && errors.As(err, &e) && e.Status == http.StatusBadRequest {
		if without := withoutOptional(spec, field); without != nil {
			return c.Submit(ctx, without) // a refused body recorded nothing
		}
	}
	return &j, err
}

// withoutOptional is spec without field, one that a server older than
// this client refuses (it reads a request strictly) and that the job can
// do without there: a map's halt (a --resume of it names no task its
// --halt counted, the halt itself is in max_failures or halt_on) and a
// batch job's comment (not shown, as such a server ignored sbatch
// --comment). Nil when field is none of those, or spec does not set it.
func withoutOptional(spec *burst.JobSpec, field string) *burst.JobSpec {
	s := *spec
	switch {
	case field == "halt" && s.Map != nil && s.Map.Halt != "":
		m := *s.Map
		m.Halt = ""
		s.Map = &m
	case field == "comment" && s.Batch != nil && s.Batch.Comment != "":
		b := *s.Batch
		b.Comment = ""
		s.Batch = &b
	default:
		return nil
	}
	return &s
}

// CheckSubmit runs every check of Submit and submits nothing: the spec as
// it would be admitted (its defaults filled), or Submit's refusal.
func (c *Client) CheckSubmit(ctx context.Context, spec *burst.JobSpec) (*burst.JobSpec, error) {
	var out burst.JobSpec
	return &out, c.do(ctx, "POST", "/v1/jobs/check", spec, &out)
}

// Job returns one job, with its spec (unless WithoutSpec).
func (c *Client) Job(ctx context.Context, id int64) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "GET", "/v1/jobs/"+strconv.FormatInt(id, 10)+c.specQuery("?"), nil, &j)
}

// WithoutSpec is c, sharing its connection, whose Submit, Job, Wait and
// WaitFor answer jobs without their spec (Spec nil): what a caller that
// follows a job it submitted needs, for less work on both sides.
func (c *Client) WithoutSpec() *Client {
	cp := *c
	cp.noSpec = true
	return &cp
}

// specQuery is the query parameter that leaves the spec out of a job's
// answer, after sep ("?" or "&"), or "".
func (c *Client) specQuery(sep string) string {
	if c.noSpec {
		return sep + "spec=false"
	}
	return ""
}

// JobsQuery filters Jobs.
type JobsQuery struct {
	Project string
	States  []burst.State
	Limit   int
}

// Jobs lists jobs, newest first.
func (c *Client) Jobs(ctx context.Context, q JobsQuery) ([]burst.Job, error) {
	v := url.Values{}
	if q.Project != "" {
		v.Set("project", q.Project)
	}
	for _, s := range q.States {
		v.Add("state", string(s))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out []burst.Job
	return out, c.do(ctx, "GET", "/v1/jobs?"+v.Encode(), nil, &out)
}

// Tasks lists a job's tasks from index from (at most limit); with states,
// only the tasks in those states.
func (c *Client) Tasks(ctx context.Context, id int64, from, limit int, states ...burst.State) ([]burst.Task, error) {
	var out []burst.Task
	p := fmt.Sprintf("/v1/jobs/%d/tasks?from=%d&limit=%d", id, from, limit)
	for _, s := range states {
		p += "&state=" + url.QueryEscape(string(s))
	}
	return out, c.do(ctx, "GET", p, nil, &out)
}

// Cancel cancels a job; cancelling a finished job is not an error (see
// CancelResult.AlreadyFinished).
func (c *Client) Cancel(ctx context.Context, id int64) (*CancelResult, error) {
	var r CancelResult
	return &r, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/cancel", id), nil, &r)
}

// CancelWaiting cancels the tasks of job id that have not started, letting
// those that have run to their end (scancel -t PENDING of a job array).
func (c *Client) CancelWaiting(ctx context.Context, id int64) (*CancelResult, error) {
	var r CancelResult
	return &r, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/cancel?waiting=1", id), nil, &r)
}

// Hold holds job id until Release (scontrol hold, sbatch -H): it stays
// queued and asks for no machine; of a map some of whose tasks run, the
// rest wait. A job with nothing left to start is left as it is.
func (c *Client) Hold(ctx context.Context, id int64) error {
	return c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/hold", id), nil, nil)
}

// UserHold is Hold as scontrol uhold asks it: a hold its user may release
// even when an admin made it (an admin's Hold only an admin may release).
func (c *Client) UserHold(ctx context.Context, id int64) error {
	return c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/hold?user=1", id), nil, nil)
}

// Release lets job id start once its dependencies and begin time allow
// (scontrol release).
func (c *Client) Release(ctx context.Context, id int64) error {
	return c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/release", id), nil, nil)
}

// Update changes what o names of job id, which has not ended (scontrol
// update).
func (c *Client) Update(ctx context.Context, id int64, o UpdateOptions) error {
	return c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/update", id), o, nil)
}

// Requeue stops task of job id, running, and runs it again from the start,
// its attempt not counted against --retries (scontrol requeue).
func (c *Client) Requeue(ctx context.Context, id int64, task int) error {
	return c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/requeue?task=%d", id, task), nil, nil)
}

// RequeueHold is Requeue, and holds the job until it is released
// (scontrol requeuehold).
func (c *Client) RequeueHold(ctx context.Context, id int64, task int) error {
	return c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/requeuehold?task=%d", id, task), nil, nil)
}

// CancelTask cancels one task of job id (one task of a job array).
func (c *Client) CancelTask(ctx context.Context, id int64, task int) (*CancelResult, error) {
	var r CancelResult
	return &r, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/cancel?task=%d", id, task), nil, &r)
}

// Signal sends sig to job id's running tasks (task alone when >= 0), to the
// processes scope names (scancel --signal).
func (c *Client) Signal(ctx context.Context, id int64, task, sig int, scope SignalScope) (*SignalResult, error) {
	var r SignalResult
	q := fmt.Sprintf("/v1/jobs/%d/signal?signal=%d&scope=%s", id, sig, scope)
	if task >= 0 {
		q += fmt.Sprintf("&task=%d", task)
	}
	return &r, c.do(ctx, "POST", q, nil, &r)
}

// Notify writes msg into the error file of task of job id, running, as
// slurmstepd writes what scontrol notify sends (task 0 of an array when
// task < 0). The answer counts the tasks told: none when the task runs no
// more, or not yet (AlreadyFinished says which).
func (c *Client) Notify(ctx context.Context, id int64, task int, msg string) (*SignalResult, error) {
	var r SignalResult
	q := fmt.Sprintf("/v1/jobs/%d/notify?task=%d", id, max(task, 0))
	return &r, c.do(ctx, "POST", q, struct {
		Message string `json:"message"`
	}{msg}, &r)
}

// ResolveID says which job (and which task of a job array) ref names: a
// job id, an array task's own id, or ARRAYID_INDEX.
func (c *Client) ResolveID(ctx context.Context, ref string) (*IDRef, error) {
	var r IDRef
	return &r, c.do(ctx, "GET", "/v1/ids/"+url.PathEscape(ref), nil, &r)
}

// Wait blocks until the job is finished or ctx ends.
func (c *Client) Wait(ctx context.Context, id int64) (*burst.Job, error) {
	for {
		var j burst.Job
		if err := c.do(ctx, "GET", fmt.Sprintf("/v1/jobs/%d/wait?timeout_ms=25000", id)+c.specQuery("&"), nil, &j); err != nil {
			return nil, err
		}
		if j.State.Terminal() {
			return &j, nil
		}
	}
}

// WaitFor waits up to d for job id to end and returns it as it is then:
// ended, or as far as it got. It answers as soon as the job ends, where
// polling Job every d would answer up to d later.
func (c *Client) WaitFor(ctx context.Context, id int64, d time.Duration) (*burst.Job, error) {
	var j burst.Job
	if err := c.do(ctx, "GET", fmt.Sprintf("/v1/jobs/%d/wait?timeout_ms=%d", id, d.Milliseconds())+c.specQuery("&"), nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// LogsQuery selects a task's output stream.
type LogsQuery struct {
	Task   int
	Stream string // "stdout" (default) or "stderr"
	Follow bool   // keep streaming until the task ends
	Offset int64
}

// Logs copies a task's output to w; with Follow it returns when the task has
// ended and all its output was copied. Should the server go away in the
// middle, it asks again from the byte it had reached: w gets each byte once.
func (c *Client) Logs(ctx context.Context, id int64, q LogsQuery, w io.Writer) error {
	if q.Stream == "" {
		q.Stream = "stdout"
	}
	return c.stream(ctx, func(n int64) string {
		return fmt.Sprintf("/v1/jobs/%d/logs?task=%d&stream=%s&offset=%d&follow=%t", id, q.Task, url.QueryEscape(q.Stream), q.Offset+n, q.Follow)
	}, true, w)
}

// Machines lists the machines the server knows.
func (c *Client) Machines(ctx context.Context) ([]burst.Machine, error) {
	var out []burst.Machine
	return out, c.do(ctx, "GET", "/v1/machines", nil, &out)
}

// Results lists a job's tasks in input order from index from (at most
// limit), with their inputs; inline adds each task's stdout (up to 1 MiB).
func (c *Client) Results(ctx context.Context, id int64, from, limit int, inline bool) ([]Result, error) {
	var out []Result
	p := fmt.Sprintf("/v1/jobs/%d/results?from=%d&limit=%d&inline=%t", id, from, limit, inline)
	return out, c.do(ctx, "GET", p, nil, &out)
}

// Output copies the stdout of a job's tasks to w in input order from task
// from; with follow it waits for each task to end, up to the last. It is
// asked again only if the server went away before the first byte: its
// answer has no offset to go on from.
func (c *Client) Output(ctx context.Context, id int64, from int, follow bool, w io.Writer) error {
	return c.stream(ctx, func(int64) string {
		return fmt.Sprintf("/v1/jobs/%d/output?from=%d&follow=%t", id, from, follow)
	}, false, w)
}

// Resume queues again every task of a finished job that did not succeed.
func (c *Client) Resume(ctx context.Context, id int64) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/resume", id), nil, &j)
}

// UICode asks for a one-time sign-in link to the dashboard. Over TCP the
// link names the address this client reached the server at, not the one
// the server names itself by (its host name, with --listen 0.0.0.0), which
// the client's machine may not resolve, or resolve to itself.
func (c *Client) UICode(ctx context.Context) (*UICode, error) {
	var u UICode
	if err := c.do(ctx, "POST", "/v1/ui/code", struct{}{}, &u); err != nil {
		return &u, err
	}
	if ep := c.conn.ep.Load(); ep != nil && ep.unix == "" {
		b, berr := url.Parse(ep.base)
		l, lerr := url.Parse(u.URL)
		if berr == nil && lerr == nil && b.Host != "" {
			l.Scheme, l.Host = b.Scheme, b.Host
			u.URL = l.String()
		}
	}
	return &u, nil
}

// ResumeWith is Resume with some of the map's settings changed for the
// tasks it runs again: nil fields keep the job's own.
func (c *Client) ResumeWith(ctx context.Context, id int64, o ResumeOptions) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/resume", id), o, &j)
}
