package auth

import (
	"fmt"

	"github.com/burst-sh/burst/client"
)

// Action is what a request asks to do; the route table of internal/api
// names one for every route.
type Action string

const (
	// Open: anything an authenticated user may ask whatever their roles
	// (the health, the price catalog, storage tiers, who they are).
	Open Action = "open"
	// List: a listing across projects (jobs, projects, events, cost,
	// clusters, machines): open to every user, answered with the projects
	// they hold a role in (the handler filters).
	List Action = "list"
	// Read: see one project: its jobs, logs, costs, budget, events.
	Read Action = "read"
	// Submit: new work in a project (run, map, pipe).
	Submit Action = "submit"
	// Cancel: cancel, hold, release, requeue, update, signal or resume a
	// job; one's own work needs a member, anyone else's an owner (Allow
	// compares the job's submitter with the caller).
	Cancel Action = "cancel"
	// Budget: change a project's budget, end date and guardrails.
	Budget Action = "budget"
	// Settings: change a project's other rules (its storage lifecycle, its
	// cache default): an owner's, as its budget is.
	Settings Action = "settings"
	// ClusterManage: create and delete a project's clusters, start and stop
	// their machines.
	ClusterManage Action = "cluster-manage"
	// Members: grant and revoke roles in a project.
	Members Action = "members"
	// CreateProject: a new project, with a budget of its own.
	CreateProject Action = "create-project"
	// AdminOnly: users and grants, backups, sign-in codes for others.
	AdminOnly Action = "admin"
	// Probe: what the server is (GET /v1/health), for any credential,
	// machines' too (an agent asks it before registering).
	Probe Action = "probe"
	// Agent: the agent protocol (register, lease, report).
	Agent Action = "agent"
	// ReadMetrics: the server's metrics (GET /metrics), which add up every
	// project: a metrics credential or an admin.
	ReadMetrics Action = "metrics"
)

const (
	roleViewer = client.RoleViewer
	roleMember = client.RoleMember
	roleOwner  = client.RoleOwner
)

// rank orders the roles, weakest first.
var rank = map[string]int{roleViewer: 1, roleMember: 2, roleOwner: 3}

// ValidRole says whether role is one a user may be granted.
func ValidRole(role string) bool { return rank[role] > 0 }

// Denied is a request refused by the policy. NotFound: the caller holds
// no role in the project, which then does not exist for them (404, the
// answer an unknown project gets, so that names do not leak); otherwise
// 403, and Msg names the role needed.
type Denied struct {
	Msg      string
	NotFound bool
}

func (e *Denied) Error() string { return e.Msg }

// MachineScope is the answer to a machine credential used beyond the
// agent protocol.
const MachineScope = "a machine credential serves the agent protocol only"

// MetricsScope is the answer to a metrics credential used beyond /metrics.
const MetricsScope = "a metrics credential reads /metrics only (people use `burst user token` for a credential of their own)"

// Allow is nil when p may do action in project (on work owner submitted,
// for Cancel), else a *Denied that says what is needed. It reads nothing
// but its arguments.
func Allow(p *Principal, action Action, project, owner string) error {
	return AllowDoing(p, action, project, owner, "")
}

// AllowDoing is Allow for a route that acts on a job under the Cancel
// action (hold, signal, update, resume...): its refusal names what the
// route does ("holding bob's job in mars needs the owner role"); doing ""
// is "cancelling".
func AllowDoing(p *Principal, action Action, project, owner, doing string) error {
	if doing == "" {
		doing = "cancelling"
	}
	if p == nil {
		return &Denied{Msg: "401: no credential"}
	}
	if p.Kind == Machine {
		if action == Agent || action == Probe {
			return nil // which machine may do what is the agent routes' business
		}
		return &Denied{Msg: "403: " + MachineScope + " (burst join-token create gives machines theirs; people use `burst user token`)"}
	}
	if p.Kind == Metrics {
		if action == ReadMetrics {
			return nil
		}
		return &Denied{Msg: "403: " + MetricsScope}
	}
	if action == Agent {
		if p.Kind == Admin {
			return nil
		}
		return &Denied{Msg: "403: the agent protocol takes a machine's credential (burst join-token create), not a user's"}
	}
	if p.Kind == Admin || p.IsAdmin {
		return nil
	}
	switch action {
	case Open, List, Probe:
		return nil
	case ReadMetrics:
		return &Denied{Msg: fmt.Sprintf("403: /metrics needs a metrics credential or an admin; %s is neither (an admin runs `burst user add prom --metrics`, then `burst user token prom`)", p.Name)}
	case AdminOnly:
		return &Denied{Msg: fmt.Sprintf("403: this needs an admin; %s is not one (an admin runs `burst user add %s --admin`)", p.Name, p.Name)}
	case CreateProject:
		return &Denied{Msg: "403: creating a project needs an admin: a project's budget is money the lab spends; ask an admin to create it and grant you the owner role"}
	}
	have := p.Roles[project]
	if have == "" {
		return &Denied{NotFound: true, Msg: fmt.Sprintf("404: no project %s (or you hold no role in it: an admin grants one with `burst project grant %s %s --role viewer`)", project, project, p.Name)}
	}
	need, what := roleOwner, ""
	switch action {
	case Read:
		need = roleViewer
	case Submit:
		need, what = roleMember, "submitting work to "+project
	case Cancel:
		if owner == p.Name {
			need, what = roleMember, doing+" your own job in "+project
		} else {
			need, what = roleOwner, fmt.Sprintf("%s %s's job in %s", doing, owner, project)
		}
	case Budget:
		what = "changing the budget of " + project
	case Settings:
		what = "changing the rules of " + project
	case ClusterManage:
		what = "managing the clusters of " + project
	case Members:
		what = "granting roles in " + project
	default:
		return &Denied{Msg: fmt.Sprintf("403: unknown action %q", action)}
	}
	if rank[have] >= rank[need] {
		return nil
	}
	if what == "" {
		what = "reading " + project
	}
	return &Denied{Msg: fmt.Sprintf("403: %s needs the %s role; you are a %s", what, need, have)}
}

// Visible are the projects p sees of all; all itself for an admin.
func Visible(p *Principal, all []string) []string {
	if p == nil || p.Kind == Admin || p.IsAdmin {
		return all
	}
	out := []string{}
	for _, name := range all {
		if p.Roles[name] != "" {
			out = append(out, name)
		}
	}
	return out
}

// SeesHostPaths says whether p may learn where the server keeps files on
// its host (its home, socket and CA file, the log files of tasks) and its
// process id: an admin, or a machine (an agent reads server.json in the
// home to learn whether it shares the server's disk). A user who is not
// an admin learns what the server is and what their tasks wrote (through
// the API), not where it is kept.
func SeesHostPaths(p *Principal) bool { return p == nil || p.Kind != User || p.IsAdmin }

// SeesAll says whether p sees every project (no filtering).
func SeesAll(p *Principal) bool { return p == nil || p.Kind == Admin || p.IsAdmin }

// Sees says whether p sees project.
func Sees(p *Principal, project string) bool { return SeesAll(p) || p.Roles[project] != "" }
