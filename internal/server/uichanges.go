package server

import "sync"

// uiChanges counts the changes a dashboard page may show, by the project
// they belong to (a job's, its tasks', a project's, a charge's), and apart
// those of no project (the fleet, users). A signed-in user's live pages
// (/ui/events) are told of the changes of the projects they see and of
// the fleet, never of another project's work (version).
type uiChanges struct {
	mu  sync.Mutex
	all uint64            // changes of no project
	by  map[string]uint64 // changes of each project
}

// bump counts a change of each of projects ("": of none).
func (u *uiChanges) bump(projects ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range projects {
		if p == "" {
			u.all++
			continue
		}
		if u.by == nil {
			u.by = map[string]uint64{}
		}
		u.by[p]++
	}
}

// version is a number that grows with every change of no project and of
// the projects sees lets through, and with no other.
func (u *uiChanges) version(sees func(project string) bool) uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	v := u.all
	for p, n := range u.by {
		if sees(p) {
			v += n
		}
	}
	return v
}

// batchProjects are the projects whose rows b writes ("" for a machine or
// an event of none); c.mu held (a task's project is its job's).
func (c *control) batchProjects(b *batch) []string {
	var out []string
	add := func(p string) {
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	for j := range b.jobs {
		add(j.row.Project)
	}
	last := int64(-1)
	for i := range b.tasks {
		if id := b.tasks[i].JobID; id != last {
			last = id
			if j := c.jobs[id]; j != nil {
				add(j.row.Project)
			}
		}
	}
	for i := range b.machines {
		add(b.machines[i].Project)
	}
	for i := range b.projects {
		add(b.projects[i].Name)
	}
	for i := range b.events {
		add(b.events[i].Project)
	}
	for _, p := range b.shown {
		add(p)
	}
	return out
}
