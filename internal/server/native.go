package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/slurm"
)

// Native mode: each Slurm cluster has, beside its pilots, one machine
// "<cluster>-native" served by an agent inside this server that submits its
// tasks with sbatch and tracks them in Slurm (internal/slurm). Jobs asking
// for --native go to it through the same queue, scheduler, meter and
// guardrails as every other job; it speaks the agent protocol over the
// server's own socket, so a server restart finds its Slurm jobs again by
// name.

// nativeCluster is the name the native machine of cluster c registers with.
func nativeCluster(c string) string { return c + ":native" }

// startNative runs the native agent of a cluster whose provider takes
// native jobs (Caps.Native: Slurm) until its cluster is deleted or the
// server stops, which waits for it. Called with s.mu held.
func (s *Server) startNative(c *clusterRT) {
	if !c.caps().Native || s.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	c.stopNative = cancel
	s.loops.Go(func() {
		log := s.log.With("native", c.def.Name)
		for ctx.Err() == nil {
			if err := s.runNative(ctx, c, log); err != nil && ctx.Err() == nil {
				log.Warn("native agent stopped; starting it again", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
}

// nativeWaiting says which native job of cluster c waits in Slurm's queue
// ("" if none): handed to its native machine, submitted, not started. Its
// pilots, whose allocations may hold the nodes it needs, give way to it
// once idle (scale.Cluster.Yield), rather than after --idle-stop. Called
// with s.mu held.
func (s *Server) nativeWaiting(c *clusterRT) string {
	if !c.caps().Native {
		return ""
	}
	m := s.machines[c.def.Name+"-native"]
	if m == nil {
		return ""
	}
	var first *taskRT
	for _, t := range m.tasks {
		if !t.started && !t.cancel && (first == nil || t.row.JobID < first.row.JobID) {
			first = t
		}
	}
	if first == nil {
		return ""
	}
	return fmt.Sprintf("native job %d waits in Slurm's queue", first.row.JobID)
}

func (s *Server) runNative(ctx context.Context, c *clusterRT, log *slog.Logger) error {
	res, err := slurm.Capacity(ctx, c.def.Partition)
	if err != nil {
		return err
	}
	cl, err := client.New("unix://"+s.home.Socket(), s.token)
	if err != nil {
		return err
	}
	return slurm.Run(ctx, slurm.Config{
		Client: cl, Machine: c.def.Name + "-native", Cluster: nativeCluster(c.def.Name), Partition: c.def.Partition,
		Dir: filepath.Join(string(s.home), "native", c.def.Name), HomeID: s.homeID, Res: res, Log: log,
	})
}
