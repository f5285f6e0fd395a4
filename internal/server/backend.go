package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// actorFrom is who made the request of ctx (see api.Actor).
func actorFrom(ctx context.Context) string { return api.Actor(ctx) }

// handler is the HTTP API and the dashboard over this server.
func (s *Server) handler() (http.Handler, error) {
	return api.New(backend{s}, api.Options{Token: s.token, TokenFile: s.home.Token(), ServerLog: s.home.ServerLog(),
		User: s.user, Addr: s.addr, Log: s.log})
}

// backend is the server as the API's handlers see it: the exported
// methods of Server, and the reads below.
type backend struct{ *Server }

var _ api.Backend = backend{}

// readJob reads a job from the store, with errNoJob for an unknown id.
func (s *Server) readJob(ctx context.Context, id int64) (*store.JobRow, error) {
	j, err := s.st.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &errNoJob{ID: id}
	}
	return j, err
}

func (b backend) HasProject(name string) error { return b.hasProject(name) }

func (b backend) Job(ctx context.Context, id int64) (*store.JobRow, error) { return b.readJob(ctx, id) }

func (b backend) JobHead(ctx context.Context, id int64, kinds ...string) (*store.JobRow, error) {
	j, err := b.st.GetJobHead(ctx, id, kinds...)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &errNoJob{ID: id}
	}
	return j, err
}

func (b backend) JobList(ctx context.Context, f store.JobFilter) ([]*store.JobRow, error) {
	return b.st.ListJobs(ctx, f)
}

func (b backend) TaskRows(ctx context.Context, job int64, from, limit int) ([]*store.TaskRow, error) {
	return b.st.ListTasks(ctx, job, from, limit)
}

func (b backend) TaskRowsIn(ctx context.Context, job int64, from, limit int, states []string) ([]*store.TaskRow, error) {
	return b.st.TasksInState(ctx, job, from, limit, states)
}

func (b backend) TaskRow(ctx context.Context, job int64, idx int) (*store.TaskRow, error) {
	return b.st.GetTask(ctx, job, idx)
}

func (b backend) Inputs(ctx context.Context, job int64) ([][]string, error) {
	return b.st.Inputs(ctx, job)
}

func (b backend) JobCosts(ctx context.Context, jobs []*burst.Job) error { return b.jobCosts(ctx, jobs) }
func (b backend) FillWaiting(jobs []*burst.Job)                         { b.fillWaiting(jobs) }
func (b backend) LiveJobFigures(job *burst.Job)                         { b.liveJobFigures(job) }

func (b backend) LiveTasks(job int64, ts []burst.Task) []burst.Task {
	b.liveFigures(job, ts)
	return b.queuedWhy(job, ts)
}

func (b backend) Watch(id int64) <-chan struct{} { return b.watch(id) }

func (b backend) TaskActive(id int64, idx int) (bool, <-chan struct{}) { return b.taskActive(id, idx) }

func (b backend) Health() client.Health { return b.health() }

func (b backend) RecentEvents(ctx context.Context, f store.EventFilter) ([]burst.Event, error) {
	return b.st.ListEvents(ctx, f)
}

func (b backend) Changes(sees func(project string) bool) uint64 { return b.ui.version(sees) }

func (b backend) Session(ctx context.Context, idHash string) (*store.SessionRow, error) {
	return b.st.GetSession(ctx, idHash)
}

func (b backend) SaveSession(ctx context.Context, r store.SessionRow, now time.Time) error {
	if err := b.refuseWrite(); err != nil {
		return err // a sign-in on a full disk is refused at once, naming it
	}
	return b.st.Write(ctx, func(tx *store.Tx) error { return tx.SaveSession(r, now) })
}

func (b backend) DeleteSession(ctx context.Context, idHash string) error {
	if err := b.refuseWrite(); err != nil {
		return err
	}
	return b.st.Write(ctx, func(tx *store.Tx) error { return tx.DeleteSession(idHash) })
}

// Overview gathers the dashboard's projects overview.
func (b backend) Overview() *web.OverviewView {
	s := b.Server
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
