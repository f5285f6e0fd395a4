package web

import (
	"time"

	"github.com/burst-sh/burst"
)

// The views are what the server hands the templates: burst's own API types
// (the same the CLI prints), gathered for one page. Rendering is a pure
// function of a view.

// Page is what every page shares.
type Page struct {
	Title    string
	Active   string // nav item: "projects", "clusters", "jobs"
	CSRF     string // the session's token for state-changing requests
	User     string // who is signed in
	Now      time.Time
	Version  string
	Fragment bool // render only the contents of <main> (a live refresh)
}

// LoginView is the sign-in page.
type LoginView struct {
	Page
	Error string
}

// ErrorView is an error page: its HTTP status, a heading and the message
// that says what went wrong and what to do.
type ErrorView struct {
	Page
	Status  int
	Heading string
	Message string
}

// OverviewView is the projects overview (/ui/).
type OverviewView struct {
	Page
	Projects []burst.Project // each with its live Budget report
	// Per project: machines running now and jobs running or queued.
	Running map[string]int
	Active  map[string]int
}

// SpendPoint is a project's spending up to the end of a day.
type SpendPoint struct {
	Day        time.Time // midnight UTC
	Cumulative float64   // USD spent up to the end of that day
}

// ProjectView is one project's page.
type ProjectView struct {
	Page
	Project  burst.Project          // with Budget (running and stopped machines, storage)
	Spend    []SpendPoint           // ascending days, from the project's first spending to today
	Jobs     []burst.Job            // newest first (at most 50), each with Spec for pipes' stages
	JobTasks map[int64][]burst.Task // for pipes: their stages' tasks, to show per-stage state
	Events   []burst.Event          // newest first (at most 20)
	Rules    []string               // its storage lifecycle rules in words ("to cold_hdd after 30d")
}

// ClusterBox is one cluster with its machines and what happened to it.
type ClusterBox struct {
	Cluster  burst.Cluster
	Machines []burst.Machine
	Events   []burst.Event // scaling and machine events, newest first (at most 10)
}

// ClustersView is the clusters page.
type ClustersView struct {
	Page
	Clusters []ClusterBox
}

// JobView is one job's page.
type JobView struct {
	Page
	Job   burst.Job // with Spec
	Tasks []burst.Task
	// LogURL is where the page follows the job's output (server-sent
	// events, one "log" event per chunk, data a JSON string; "end" when the
	// task ended); Task is which task it follows.
	LogURL string
	Task   int
}
