package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/burst-sh/burst"
)

// Projects lists the projects with their budget reports.
func (c *Client) Projects(ctx context.Context) ([]burst.Project, error) {
	var out []burst.Project
	return out, c.do(ctx, "GET", "/v1/projects", nil, &out)
}

// CreateProject creates a project.
func (c *Client) CreateProject(ctx context.Context, spec *burst.ProjectSpec) (*burst.Project, error) {
	var out burst.Project
	return &out, c.do(ctx, "POST", "/v1/projects", spec, &out)
}

// UpdateProject changes the fields of a project that spec sets.
func (c *Client) UpdateProject(ctx context.Context, spec *burst.ProjectSpec) (*burst.Project, error) {
	var out burst.Project
	return &out, c.do(ctx, "PATCH", "/v1/projects/"+url.PathEscape(spec.Name), spec, &out)
}

// Project returns one project with its budget report.
func (c *Client) Project(ctx context.Context, name string) (*burst.Project, error) {
	var out burst.Project
	return &out, c.do(ctx, "GET", "/v1/projects/"+url.PathEscape(name), nil, &out)
}

// Budget returns a project's budget report.
func (c *Client) Budget(ctx context.Context, project string) (*burst.BudgetReport, error) {
	var out burst.BudgetReport
	return &out, c.do(ctx, "GET", "/v1/projects/"+url.PathEscape(project)+"/budget", nil, &out)
}

// Clusters lists the clusters with their live figures.
func (c *Client) Clusters(ctx context.Context) ([]burst.Cluster, error) {
	var out []burst.Cluster
	return out, c.do(ctx, "GET", "/v1/clusters", nil, &out)
}

// CreateCluster creates a cluster.
func (c *Client) CreateCluster(ctx context.Context, spec *burst.ClusterSpec) (*burst.Cluster, error) {
	var out burst.Cluster
	return &out, c.do(ctx, "POST", "/v1/clusters", spec, &out)
}

// DeleteCluster stops a cluster's machines and removes it.
func (c *Client) DeleteCluster(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/v1/clusters/"+url.PathEscape(name), nil, nil)
}

// StartInCluster starts a machine in a cluster: a stopped one again, or a
// new one.
func (c *Client) StartInCluster(ctx context.Context, cluster string) (*burst.Machine, error) {
	var out burst.Machine
	return &out, c.do(ctx, "POST", "/v1/clusters/"+url.PathEscape(cluster)+"/start", nil, &out)
}

// StartNamed starts machine name of a cluster of elastic Slurm nodes (the
// node Slurm resumes); it does nothing if it runs already.
func (c *Client) StartNamed(ctx context.Context, cluster, name string) (*burst.Machine, error) {
	var out burst.Machine
	return &out, c.do(ctx, "POST", "/v1/clusters/"+url.PathEscape(cluster)+"/start?machine="+url.QueryEscape(name), nil, &out)
}

// MachinesIn lists the machines of one cluster ("" for all), with cost.
func (c *Client) MachinesIn(ctx context.Context, cluster string) ([]burst.Machine, error) {
	var out []burst.Machine
	path := "/v1/machines"
	if cluster != "" {
		path += "?cluster=" + url.QueryEscape(cluster)
	}
	return out, c.do(ctx, "GET", path, nil, &out)
}

// StartMachine starts a stopped machine again.
func (c *Client) StartMachine(ctx context.Context, id string) (*burst.Machine, error) {
	var out burst.Machine
	return &out, c.do(ctx, "POST", "/v1/machines/"+url.PathEscape(id)+"/start", nil, &out)
}

// StopMachine stops a machine: at once, requeuing its tasks, or with drain
// once its tasks end.
func (c *Client) StopMachine(ctx context.Context, id string, drain bool) (*burst.Machine, error) {
	var out burst.Machine
	path := "/v1/machines/" + url.PathEscape(id) + "/stop"
	if drain {
		path += "?drain=1"
	}
	return &out, c.do(ctx, "POST", path, nil, &out)
}

// TerminateMachine stops a machine for good.
func (c *Client) TerminateMachine(ctx context.Context, id string) (*burst.Machine, error) {
	var out burst.Machine
	return &out, c.do(ctx, "POST", "/v1/machines/"+url.PathEscape(id)+"/terminate", nil, &out)
}

// Types lists the price catalog (only types with GPUs when gpu is set).
func (c *Client) Types(ctx context.Context, gpu bool) ([]burst.MachineType, error) {
	var out []burst.MachineType
	path := "/v1/types"
	if gpu {
		path += "?gpu=1"
	}
	return out, c.do(ctx, "GET", path, nil, &out)
}

// Tiers lists the storage tiers of the price catalog with their price per
// GB-month.
func (c *Client) Tiers(ctx context.Context) ([]burst.StorageTier, error) {
	var out []burst.StorageTier
	return out, c.do(ctx, "GET", "/v1/tiers", nil, &out)
}

// Cost totals what was spent by job, machine, user, day, project or kind,
// for one project or all ("").
func (c *Client) Cost(ctx context.Context, by, project string) (*burst.CostReport, error) {
	var out burst.CostReport
	v := url.Values{}
	if by != "" {
		v.Set("by", by)
	}
	if project != "" {
		v.Set("project", project)
	}
	return &out, c.do(ctx, "GET", "/v1/cost?"+v.Encode(), nil, &out)
}

// EventsQuery selects audit events.
type EventsQuery struct {
	Project string
	After   int64 // only events with a larger id
	Limit   int   // the newest Limit (0: 200)
	WaitMS  int   // wait this long for one when there are none
}

// Events lists audit events, oldest first.
func (c *Client) Events(ctx context.Context, q EventsQuery) ([]burst.Event, error) {
	var out []burst.Event
	v := url.Values{}
	if q.Project != "" {
		v.Set("project", q.Project)
	}
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.WaitMS > 0 {
		v.Set("wait_ms", strconv.Itoa(q.WaitMS))
	}
	return out, c.do(ctx, "GET", "/v1/events?"+v.Encode(), nil, &out)
}
