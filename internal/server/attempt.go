package server

// TaskAttempt says, from memory, which attempt task idx of job id runs as
// now; running is false when it runs as none (queued, between attempts,
// ended, or its job is not active). A followed log asks it for every chunk
// it sends, so it must read no store.
func (b backend) TaskAttempt(id int64, idx int) (attempt int, running bool) {
	s := b.Server
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil {
		if t := j.running[idx]; t != nil {
			return t.row.Attempt, true
		}
	}
	return 0, false
}
