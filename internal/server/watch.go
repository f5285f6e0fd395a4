package server

import "github.com/burst-sh/burst"

// liveFigures fills in, for the tasks of job id that run, the figures and
// srun steps their agents sent so far (progress events), which the store
// does not hold:
// ts are rows read from the store. It takes s.mu.
func (s *Server) liveFigures(id int64, ts []burst.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil || j.row.Spec.Pipe == nil && j.row.Spec.Batch == nil { // only a pipe's stages and batch tasks send progress
		return
	}
	for i := range ts {
		x := &ts[i]
		if x.State != burst.Running {
			continue
		}
		t := j.running[x.Index]
		if t == nil || t.row.Attempt != x.Attempt || !t.started {
			continue
		}
		x.UserSeconds, x.SysSeconds, x.MaxRSSBytes = t.row.UserSeconds, t.row.SysSeconds, t.row.MaxRSSBytes
		x.ReadBytes, x.WroteBytes = t.row.ReadBytes, t.row.WroteBytes
		x.Steps = t.row.Steps // its srun steps so far (squeue -s, sstat)
	}
}

// liveJobFigures adds to a running pipe's CPU time and peak memory (job,
// as read from the store: its ended tasks') what its running stages used
// so far. It takes s.mu.
func (s *Server) liveJobFigures(job *burst.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[job.ID]
	if j == nil || j.row.Spec.Pipe == nil {
		return
	}
	for _, t := range j.running {
		if t.started {
			job.CPUSeconds += t.row.UserSeconds + t.row.SysSeconds
			job.MaxRSSBytes = max(job.MaxRSSBytes, t.row.MaxRSSBytes)
		}
	}
}

// watch returns a channel closed when job id next changes, or nil if the job
// is not active (its stored state is final).
func (s *Server) watch(id int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil {
		return j.changed
	}
	return nil
}

// taskActive reports whether task idx of job id may still run or write
// output, and a channel closed when the job next changes.
func (s *Server) taskActive(id int64, idx int) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return false, nil
	}
	if j.finished {
		return false, j.changed
	}
	if _, ok := j.running[idx]; ok {
		return true, j.changed
	}
	if j.row.CancelRequested {
		return false, j.changed
	}
	if idx >= j.row.Dispatched && !j.skip[idx] {
		return true, j.changed
	}
	for _, r := range j.requeue {
		if int(r.index) == idx {
			return true, j.changed
		}
	}
	return false, j.changed
}
