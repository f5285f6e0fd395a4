package sched

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// maxWhy is how many machines a wait reason names.
const maxWhy = 3

// waitReason says why entry p waits, given the nodes as Place left them.
func waitReason(now time.Time, p Pending, nodes []*node, resv *reservation) string {
	if len(p.Gang) == 0 {
		return taskReason(now, normalize(p.Res), p.Cluster, p.tenant(), p.JobID, nodes, resv)
	}
	for _, k := range gangOrder(p) {
		part := p.Gang[k]
		res := partRes(part)
		if part.Count < 1 || bestFit(now, res, part.Cluster, p.tenant(), nodes, nil) != nil {
			continue
		}
		return "its stages start together; one " + taskReason(now, normalize(part.Res), part.Cluster, p.tenant(), p.JobID, nodes, resv)
	}
	if resv != nil && resv.job != p.JobID {
		return fmt.Sprintf("its stages start together, and the machines they need are kept for job %d, ahead in line", resv.job)
	}
	return "its stages start together, and they do not all fit on the machines that are up at once"
}

// taskReason says why a task of res (normalized) of job of project, bound
// to cluster unless "", cannot start now.
func taskReason(now time.Time, res burst.Resources, cluster string, who tenant, job int64, nodes []*node, resv *reservation) string {
	var mine []*node
	other, home, noStacks := "", false, false
	project := who.project
	for _, n := range nodes {
		switch {
		case n.m.serves(cluster, who):
			mine = append(mine, n)
		case who.stack && n.m.serves(cluster, tenant{project: project, untrusted: who.untrusted}):
			noStacks = true // it would take the job but for its stack
		case n.m.serves(cluster, tenant{project: n.m.Project}) && other == "" && n.m.Project != "" && n.m.Project != project:
			other = n.m.Project
		case n.m.serves(cluster, tenant{project: project}):
			home = true
		}
	}
	if len(mine) == 0 && noStacks {
		where := "no machine that is up"
		if cluster != "" {
			where = "no machine of cluster " + cluster
		}
		return where + " can run stacks (bwrap and user namespaces: see docs/stacks.md)"
	}
	if len(mine) == 0 && home {
		// The machines that would take it see the server's home, where a
		// task could read the admin's token.
		where := "the machines that are up"
		if cluster != "" {
			where = "the machines of cluster " + cluster
		}
		return where + " share the server's files (a task there could read the admin's token) and take only admins' work: run it on a cluster of machines that joined from elsewhere (--on NAME), or the admin trusts members there (`burst server --trust-members-on CLUSTER`)"
	}
	if len(mine) == 0 && other != "" {
		// Only machines bound to another project are up there: they
		// never take this job's tasks.
		where := "the machines that are up"
		if cluster != "" {
			where = "the machines of cluster " + cluster
		}
		return fmt.Sprintf("%s run only project %s's work (they joined for it), and this job is of project %q: submit it to a cluster of %q (--on NAME)", where, other, project, project)
	}
	if len(mine) == 0 {
		if cluster == "" {
			return "no machine is up"
		}
		return "no machine of cluster " + cluster + " is up"
	}
	need := "needs " + joinAnd(asked(res))
	var parts []string
	for _, n := range mine {
		if fits(res, n.cap) {
			parts = append(parts, n.why(now, res, job, resv))
		}
	}
	if len(parts) == 0 {
		ms := make([]Machine, len(mine))
		for i, n := range mine {
			ms[i] = *n.m
		}
		return need + ", more than any machine that is up has: " + listMachines(ms)
	}
	if more := len(parts) - maxWhy; more > 0 {
		parts = append(parts[:maxWhy], fmt.Sprintf("and %d more machines", more))
	}
	return need + ": " + strings.Join(parts, "; ")
}

// why says why a task of res of job cannot start on n now, n being large
// enough to hold it.
func (n *node) why(now time.Time, res burst.Resources, job int64, resv *reservation) string {
	name := n.m.Name
	if name == "" {
		name = n.m.ID
	}
	if !n.outlives(now, res) {
		return fmt.Sprintf("%s goes away in %s, before the task's time limit would end", name, n.m.Until.Sub(now).Round(time.Second))
	}
	if fits(res, n.free) {
		if _, ok := resv.on(n); ok && resv.job != job {
			return fmt.Sprintf("%s is kept for job %d, ahead in line", name, resv.job)
		}
		return name + " has room for it now"
	}
	var have, total string
	var amount func(burst.Resources) int64
	switch {
	case res.CPUs > n.free.CPUs:
		have, total = strconv.Itoa(max(n.free.CPUs, 0)), count(n.cap.CPUs, "CPU")
		amount = func(r burst.Resources) int64 { return int64(r.CPUs) }
	case res.MemBytes > 0 && res.MemBytes > n.free.MemBytes:
		have, total = size(max(n.free.MemBytes, 0)), size(n.cap.MemBytes)+" memory"
		amount = func(r burst.Resources) int64 { return r.MemBytes }
	default:
		have, total = strconv.Itoa(max(n.free.GPUs, 0)), count(n.cap.GPUs, "GPU")
		amount = func(r burst.Resources) int64 { return int64(r.GPUs) }
	}
	s := fmt.Sprintf("%s has %s of %s free", name, have, total)
	if h := n.holders(amount); h != "" {
		s += ", held by " + h
	}
	return s
}

// holders names what holds the resource amount measures on n, the largest
// holders first, e.g. "job 11", "jobs 11, 12 and 3 more" or "machines of
// cluster work and job 11".
func (n *node) holders(amount func(burst.Resources) int64) string {
	type holder struct {
		job  int64
		name string
		n    int64
	}
	var hs []holder
	for _, e := range n.running {
		a := amount(e.res)
		if a <= 0 {
			continue
		}
		i := slices.IndexFunc(hs, func(h holder) bool { return h.job == e.job && h.name == e.holder })
		if i < 0 {
			hs = append(hs, holder{job: e.job, name: e.holder})
			i = len(hs) - 1
		}
		hs[i].n += a
	}
	slices.SortFunc(hs, func(a, b holder) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.job, b.job)
	})
	var others, jobs []string
	for _, h := range hs {
		if h.name != "" {
			others = append(others, h.name)
		} else if len(jobs) < maxWhy {
			jobs = append(jobs, strconv.FormatInt(h.job, 10))
		}
	}
	if nJobs := len(hs) - len(others); nJobs > 0 {
		word := "job "
		if nJobs > 1 {
			word = "jobs "
		}
		if more := nJobs - len(jobs); more > 0 {
			jobs = append(jobs, fmt.Sprintf("%d more", more))
		}
		others = append(others, word+joinAnd(jobs))
	}
	return joinAnd(others)
}
