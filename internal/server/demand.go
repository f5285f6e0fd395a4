package server

import "github.com/burst-sh/burst/internal/scale"

// demand is the work that waits, per cluster, as the autoscaler sees it:
// each active job's tasks that could be placed now (within its -j cap),
// on its cluster; a pipe that has not started asks for all its stages at
// once, each on its own cluster, and nothing once it runs. A job whose
// project has spent its budget, or that is being cancelled, asks for
// nothing: no machine starts for it. What the machines up now can still
// take is netted out by scale.Plan.
func (c *control) demand() []scale.Demand {
	var dem []scale.Demand
	for _, id := range c.order {
		j := c.jobs[id]
		if j == nil || c.x.held(j) {
			continue
		}
		n := j.pending()
		switch {
		case n <= 0:
		case j.row.Spec.Pipe != nil:
			if len(j.running) == 0 {
				for _, p := range c.pipeParts(j) {
					dem = append(dem, scale.Demand{Cluster: p.Cluster, Res: p.Res, Count: p.Count})
				}
			}
		default:
			dem = append(dem, scale.Demand{Cluster: c.x.jobCluster(j), Res: j.row.Spec.Resources, Count: n})
		}
	}
	return dem
}
