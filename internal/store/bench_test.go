package store

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// BenchmarkTaskEnd is the store's share of a short task's end as the
// server writes it: one transaction holding its row and its job's.
func BenchmarkTaskEnd(b *testing.B) {
	ctx := context.Background()
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	spec := &burst.JobSpec{Argv: []string{"true"}, Tasks: 1 << 30}
	spec.Defaults()
	var id int64
	if err := s.Write(ctx, func(tx *Tx) (err error) { id, err = InsertJob(tx, spec, "", time.Now()); return err }); err != nil {
		b.Fatal(err)
	}
	job := JobRow{Job: burst.Job{ID: id, State: burst.Running}}
	now := time.Now()
	code := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		t := TaskRow{Task: burst.Task{JobID: id, Index: i, State: burst.Succeeded, Attempt: 1, Machine: "local-1",
			ExitCode: &code, StartedAt: &now, EndedAt: &now, Stdout: "/x/1.out", Stderr: "/x/1.err"}}
		job.Dispatched = i + 1
		job.Tasks.Succeeded = i + 1
		if err := s.Write(ctx, func(tx *Tx) error {
			if err := SaveTask(tx, &t); err != nil {
				return err
			}
			return SaveJob(tx, &job)
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
