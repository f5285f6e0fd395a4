package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/atomicfile"
	"github.com/burst-sh/burst/internal/shellquote"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/slurm"
)

// Slurm runs machines as pilot jobs: each machine is one `sbatch`
// allocation whose script runs `burst agent`, which connects back to the
// server, announces the allocation's resources and pulls tasks. Stopping a
// machine is `scancel`; a machine exists while its job is pending or
// running in `squeue`. The Slurm commands are found on PATH and reach the
// cluster as the server's environment says (SLURM_CONF).
type Slurm struct {
	Dir string // pilot scripts and their output files

	mu     sync.Mutex
	states map[string]string    // job id → state, from the last squeue
	why    map[string]string    // job id → Slurm's reason it is pending
	at     time.Time            // when the last squeue applied answered; zero: none has
	begun  time.Time            // when the last squeue applied began
	fresh  map[string]time.Time // jobs just submitted: pending even if a squeue begun before missed them
	tried  bool                 // Alive was asked
	busy   bool                 // a squeue runs for one caller of Alive: the others answer from the last one
}

// Name implements Provider.
func (s *Slurm) Name() string { return SlurmName }

// Caps implements Provider: pilots run agents for a limited time, may wait
// in the Slurm queue behind other people's work for a long time (and say
// why), and the cluster also takes native sbatch jobs.
func (s *Slurm) Caps() Caps {
	return Caps{Agent: true, TimeLimit: true, Native: true, Patient: 24 * time.Hour, Explains: true, Sized: true}
}

// Check implements Provider: some node of the partition (Slurm's default
// one when none is named) must have the machine's CPUs and memory.
func (s *Slurm) Check(ctx context.Context, sp Spec) error {
	if sp.Spot {
		return errors.New("Slurm has no spot machines: drop --spot, or give --provider aws")
	}
	if err := RefuseOptions(s.Name(), sp.Options); err != nil {
		return err
	}
	nodes, err := slurm.Client{}.Nodes(ctx, sp.Partition)
	if err != nil {
		return fmt.Errorf("cannot reach Slurm (%v): check that `sinfo` answers with the server's SLURM_CONF and that slurmctld runs "+
			"(the server reads SLURM_CONF from the environment it was started in: after setting it, restart the server with `burst server stop`, then any command)", err)
	}
	var most burst.Resources
	for _, n := range nodes {
		if n.CPUs >= sp.Res.CPUs && (sp.Res.MemBytes == 0 || n.MemBytes >= sp.Res.MemBytes) {
			return nil
		}
		most.CPUs, most.MemBytes = max(most.CPUs, n.CPUs), max(most.MemBytes, n.MemBytes)
	}
	if len(nodes) == 0 {
		if sp.Partition != "" {
			parts, _ := slurm.Client{}.Partitions(ctx)
			return fmt.Errorf("Slurm has no partition %q: the partitions are %s", sp.Partition, strings.Join(parts, ", "))
		}
		return errors.New("Slurm reports no nodes: see `sinfo`")
	}
	return fmt.Errorf("no Slurm node has %d CPUs and %d MiB (the largest has %d CPUs and %d MiB): ask for a smaller machine with --cpus/--mem",
		sp.Res.CPUs, sp.Res.MemBytes>>20, most.CPUs, most.MemBytes>>20)
}

// Start implements Provider: it submits the pilot job.
func (s *Slurm) Start(ctx context.Context, sp Spec, c Connect) (Handle, error) {
	if err := ctx.Err(); err != nil {
		return Handle{}, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return Handle{}, err
	}
	script, logPath := filepath.Join(s.Dir, sp.ID+".sbatch"), filepath.Join(s.Dir, sp.ID+".log")
	if c.JoinURL != "" {
		// This start's agent joins with its own token: it keeps what it
		// gets in its own state file, which a pilot of an earlier start
		// must not have left behind (its credential is revoked). A pilot
		// Slurm requeues runs the same script and finds its credential.
		join, state := PilotJoinFiles(s.Dir, sp.ID)
		if err := os.Remove(state); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Handle{}, err
		}
		if err := atomicfile.Write(join, []byte(c.JoinURL+"\n")); err != nil { // 0600
			return Handle{}, err
		}
	}
	if err := os.WriteFile(script, []byte(PilotScript(sp, c, logPath)), 0o700); err != nil {
		return Handle{}, err
	}
	n, err := slurm.Client{}.Submit(ctx, pilotBatch(sp, script, logPath))
	if err != nil {
		return Handle{}, err
	}
	id := strconv.FormatInt(n, 10)
	s.mu.Lock()
	if s.states == nil {
		s.states = map[string]string{}
	}
	if s.fresh == nil {
		s.fresh = map[string]time.Time{}
	}
	s.states[id] = "PENDING" // until the next squeue says otherwise
	s.fresh[id] = time.Now()
	s.mu.Unlock()
	return Handle{External: "slurm job " + id}, nil
}

// jobID is the Slurm job id of a pilot's handle.
func jobID(h Handle) string { return strings.TrimPrefix(h.External, "slurm job ") }

// pilotBatch is the sbatch submission of a pilot: the machine's size,
// partition and time limit, and script (PilotScript) to run. The time
// limit is rounded up to whole minutes: the agent stops before it anyway.
func pilotBatch(sp Spec, script, logPath string) slurm.Batch {
	b := slurm.Batch{Name: "burst-" + sp.ID, Output: logPath, NTasks: 1, CPUsPerTask: max(sp.Res.CPUs, 1),
		MemBytes: sp.Res.MemBytes, Partition: sp.Partition, Time: sp.TimeLimit, Script: script}
	if sp.Res.GPUs > 0 {
		b.GRES = "gpu:" + strconv.Itoa(sp.Res.GPUs) // per node: a pilot is one node
	}
	return b
}

// PilotScript is the batch script of a pilot: it runs the agent. The
// agent gets the allocation's time limit so that it ends its tasks (which
// the server requeues) and exits before Slurm kills it. The allocation's
// options are given on sbatch's command line (see pilotBatch); a comment
// repeats them for whoever reads the script.
func PilotScript(sp Spec, c Connect, logPath string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# a burst pilot: this allocation is machine %s of cluster %s\n", sp.ID, sp.Cluster)
	b.WriteString("# submitted with: sbatch")
	for _, o := range pilotBatch(sp, "", logPath).Options() {
		b.WriteString(" " + shellquote.Quote(o))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "export BURST_HOME=%s\n", shellquote.Quote(c.Home))
	if c.HomeID != "" {
		fmt.Fprintf(&b, "export %s=%s\n", runner.HomeIDEnv, shellquote.Quote(c.HomeID))
	}
	args := []string{c.Exe, "agent", "--server", c.Server, "--token-file", c.TokenFile}
	if c.JoinURL != "" {
		// The join URL is a secret: it stays in its 0600 file, out of the
		// script and of the agent's command line (ps shows it to anyone on
		// the node).
		join, state := PilotJoinFiles(filepath.Dir(logPath), sp.ID)
		args = []string{c.Exe, "agent", "--join-file", join, "--join-state", state, "--machine", sp.ID}
	} else {
		args = append(args, "--machine", sp.ID, "--cluster", sp.Cluster) // a join token names the cluster itself
	}
	args = append(args, "--cpus", strconv.Itoa(max(sp.Res.CPUs, 1)))
	if sp.Res.MemBytes > 0 {
		args = append(args, "--mem", strconv.FormatInt(sp.Res.MemBytes>>10, 10)+"K")
	}
	if sp.Res.GPUs > 0 {
		args = append(args, "--gpus", strconv.Itoa(sp.Res.GPUs))
	}
	if sp.TimeLimit > 0 {
		args = append(args, "--time-limit", sp.TimeLimit.String())
	}
	b.WriteString("exec")
	for _, a := range args {
		b.WriteString(" " + shellquote.Quote(a))
	}
	b.WriteString("\n")
	return b.String()
}

// PilotJoinFiles are, in the pilots' directory dir (the server owner's,
// 0700), the file holding machine id's join URL (0600) and the one its
// agent keeps its machine credential in (burst agent --join-state): each
// pilot has its own, so no pilot serves with another's credential.
func PilotJoinFiles(dir, id string) (join, state string) {
	return filepath.Join(dir, id+".join"), filepath.Join(dir, id+".joined.json")
}

// PilotMargin is how long before its allocation ends a pilot stops: its
// agent ends what still runs and exits, and the scheduler places there no
// task whose time limit reaches past that.
func PilotMargin(limit time.Duration) time.Duration {
	return min(time.Minute, max(5*time.Second, limit/20))
}

// Stop implements Provider: scancel, then wait (up to 30 s, or until ctx
// ends) for the job to leave the running states.
func (s *Slurm) Stop(ctx context.Context, h Handle) error {
	if h.External == "" {
		return nil
	}
	id, err := strconv.ParseInt(jobID(h), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a Slurm job: cannot scancel it", h.External)
	}
	if err := (slurm.Client{}).Cancel(ctx, id); err != nil {
		return err
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		s.refresh(ctx)
		if !s.alive(jobID(h)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("job %s scancelled, not yet gone from the queue: %w", h.External, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("job %s still in the queue 30 s after scancel", h.External)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Alive implements Provider from one squeue of all jobs, at most every
// second however many machines ask: the caller that finds the last answer
// a second old runs squeue (bounded by ctx), the others answer from the
// last one meanwhile. Until a squeue has answered no pilot is taken for
// gone. The server calls it without its lock, from its own loop, so a
// slurmctld that is gone or hung (squeue waits 9 s before it fails) holds
// up nothing else.
func (s *Slurm) Alive(ctx context.Context, h Handle) bool {
	if h.External == "" {
		return false
	}
	s.mu.Lock()
	stale := !s.busy && time.Since(s.at) >= time.Second
	s.tried = true
	if stale {
		s.busy = true
	}
	s.mu.Unlock()
	if stale {
		s.refresh(ctx)
		s.mu.Lock()
		s.busy = false
		s.mu.Unlock()
	}
	s.mu.Lock()
	known := !s.at.IsZero()
	s.mu.Unlock()
	if !known {
		return true // no squeue has answered yet: nothing is known to be gone
	}
	return s.alive(jobID(h))
}

// Why implements Explainer: Slurm's reason a pilot waits in the queue
// (Resources, Priority, PartitionConfig, ...).
func (s *Slurm) Why(h Handle) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.why[jobID(h)]; r != "" {
		return "Slurm: " + r
	}
	return ""
}

func (s *Slurm) alive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slurm.Live(s.states[id])
}

// refresh reads every job's state with squeue. On failure it keeps what it
// knew: a slurmctld that does not answer for a moment loses no machine.
func (s *Slurm) refresh(ctx context.Context) {
	begun := time.Now()
	jobs, err := slurm.Client{}.Queue(ctx)
	if err != nil {
		return
	}
	states, why := map[string]string{}, map[string]string{}
	for _, j := range jobs {
		id := strconv.FormatInt(j.ID, 10)
		states[id] = j.State
		if j.State == "PENDING" && j.Reason != "" && j.Reason != "None" {
			why[id] = j.Reason
		}
	}
	s.apply(states, why, begun, time.Now())
}

// apply takes what a squeue begun at begun answered (at now): every job's
// state, and why those pending wait.
func (s *Slurm) apply(states, why map[string]string, begun, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if begun.Before(s.begun) {
		return // a squeue begun later has answered already: this one knows less
	}
	for id, at := range s.fresh {
		if _, seen := states[id]; seen {
			if begun.After(at) {
				delete(s.fresh, id) // Slurm knows it: squeue tells from now on
			}
			continue
		}
		if !begun.After(at) || now.Sub(at) < 10*time.Second {
			states[id] = "PENDING" // this squeue may have begun before Slurm had it
		} else {
			delete(s.fresh, id)
		}
	}
	s.states, s.why, s.at, s.begun = states, why, now, begun
}
