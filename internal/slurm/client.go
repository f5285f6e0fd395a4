package slurm

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
)

// Client runs Slurm's client commands (sbatch, squeue, scontrol, sacct,
// scancel, sinfo) and reads their answers. It serves both the pilot
// provider and native mode: whatever burst asks of Slurm goes through it.
// The commands are found on PATH and reach the cluster as this process's
// environment says (SLURM_CONF). Every call takes a context and is bounded
// by a timeout, since a slurmctld that is gone makes the commands wait
// before they fail. The zero Client is ready to use.
type Client struct {
	Timeout       time.Duration // squeue, scontrol, sacct, scancel, sinfo; 0: one minute
	SubmitTimeout time.Duration // sbatch; 0: two minutes
}

// Job is one Slurm job as squeue, scontrol or sacct report it. Each fills
// what it knows: squeue the comment and, for a pending job, why it waits;
// scontrol and sacct the exit code, end time and nodes.
type Job struct {
	ID         int64
	Name       string
	Comment    string
	State      string // its base name: RUNNING, CANCELLED, ...
	Reason     string // why it waits or how it ended; "None" when there is nothing to say
	ExitStatus int    // X of ExitCode=X:Y
	Signal     int    // Y
	Start, End time.Time
	NodeList   string
}

// Ran reports whether Slurm gave the job a node (a job cancelled while
// pending never ran: scontrol lists no node, sacct "None assigned").
func (j *Job) Ran() bool {
	switch j.NodeList {
	case "", "(null)", "None", "None assigned":
		return false
	}
	return true
}

// Node is one Slurm node as sinfo lists it.
type Node struct {
	Name     string
	CPUs     int
	MemBytes int64
	GPUs     int
}

// squeueFormat is what Queue asks squeue for: the name and the comment
// last, since they may hold anything (a '|' in a name shifts the comment;
// burst's own names and tags have none).
const squeueFormat = "%i|%T|%r|%S|%j|%k"

// Submit runs sbatch for b and returns the new job's id; the error's text
// is sbatch's own message.
func (c Client) Submit(ctx context.Context, b Batch) (int64, error) {
	args, err := b.Args()
	if err != nil {
		return 0, err
	}
	out, err := c.run(ctx, c.SubmitTimeout, 2*time.Minute, b.Env, "sbatch", args...)
	if err != nil {
		return 0, err
	}
	id, err := parseSbatchID(out)
	if err != nil {
		return 0, fmt.Errorf("sbatch: %w", err)
	}
	return id, nil
}

// Queue lists this user's jobs in every state and partition slurmctld
// still knows (finished ones for MinJobAge). Plain squeue is used because
// `squeue --json` ignores its filters in Slurm 22.05.
func (c Client) Queue(ctx context.Context) ([]Job, error) {
	out, err := c.Run(ctx, "squeue", "--me", "-a", "-h", "-t", "all", "-o", squeueFormat)
	if err != nil {
		return nil, err
	}
	return parseSqueue(out), nil
}

// Show reads one job from slurmctld with `scontrol show job -o`; nil, nil
// when slurmctld does not know it (any more).
func (c Client) Show(ctx context.Context, id int64) (*Job, error) {
	out, err := c.Run(ctx, "scontrol", "show", "job", "-o", strconv.FormatInt(id, 10))
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return nil, nil
		}
		return nil, err
	}
	for line := range strings.Lines(out) {
		if j, err := parseScontrol(line); err == nil && j.ID == id {
			return j, nil
		}
	}
	return nil, nil
}

// Accounting reads one job from Slurm's accounting database with
// `sacct -P` (not --json, whose exit codes are wrong in 22.05); nil, nil
// when there is no database (or no sacct) or it does not know the job.
func (c Client) Accounting(ctx context.Context, id int64) (*Job, error) {
	out, err := c.Run(ctx, "sacct", "-n", "-P", "-X", "-j", strconv.FormatInt(id, 10),
		"-o", "JobIDRaw,JobName,State,ExitCode,Start,End,NodeList")
	if err != nil {
		return nil, nil // nothing more to learn
	}
	return parseSacct(out, id), nil
}

// Cancel runs scancel for one job. Cancelling a job that has ended is not
// an error (scancel says nothing then).
func (c Client) Cancel(ctx context.Context, id int64) error {
	_, err := c.Run(ctx, "scancel", strconv.FormatInt(id, 10))
	return err
}

// Nodes lists the nodes of partition ("" = Slurm's default partition, or
// every node when none is the default), each once, from
// `sinfo -h -N -o "%N %c %m %G %P"`: CPUs, memory (MB → bytes) and GPUs
// (gres "gpu:N" or "gpu:TYPE:N").
func (c Client) Nodes(ctx context.Context, partition string) ([]Node, error) {
	args := []string{"-h", "-N", "-o", "%N %c %m %G %P"}
	if partition != "" {
		args = append(args, "-p", partition)
	}
	out, err := c.Run(ctx, "sinfo", args...)
	if err != nil {
		return nil, err
	}
	return parseNodes(out, partition), nil
}

// Partitions lists the cluster's partitions by name.
func (c Client) Partitions(ctx context.Context) ([]string, error) {
	out, err := c.Run(ctx, "sinfo", "-h", "-o", "%R")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// Hostnames expands a Slurm hostlist such as "cl[1-3],gpu1" into node
// names (`scontrol show hostnames`).
func (c Client) Hostnames(ctx context.Context, list string) ([]string, error) {
	out, err := c.Run(ctx, "scontrol", "show", "hostnames", list)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// Capacity is what the nodes of partition (as Nodes) hold together.
func (c Client) Capacity(ctx context.Context, partition string) (burst.Resources, error) {
	nodes, err := c.Nodes(ctx, partition)
	if err != nil {
		return burst.Resources{}, err
	}
	r := sum(nodes)
	if r.CPUs == 0 {
		where := "the default partition"
		if partition != "" {
			where = "partition " + partition
		}
		return r, fmt.Errorf("sinfo lists no nodes with CPUs in %s", where)
	}
	return r, nil
}

// Run runs one Slurm command with the client's timeout and returns its
// stdout. Its error names a missing command's fix, or carries the
// command's stderr.
func (c Client) Run(ctx context.Context, name string, args ...string) (string, error) {
	return c.run(ctx, c.Timeout, time.Minute, nil, name, args...)
}

func (c Client) run(ctx context.Context, timeout, def time.Duration, env []string, name string, args ...string) (string, error) {
	if timeout <= 0 {
		timeout = def
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, command(name), args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.String(), nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("%s not found: install Slurm's client commands (Debian: slurm-client) and set SLURM_CONF, or use another provider", name)
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		msg = strings.TrimSpace(stdout.String())
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return stdout.String(), fmt.Errorf("%s: no answer within %s: is slurmctld up?", name, timeout)
	case ctx.Err() != nil:
		return stdout.String(), fmt.Errorf("%s: %w", name, ctx.Err())
	case msg == "":
		return stdout.String(), fmt.Errorf("%s: %w", name, err)
	case strings.HasPrefix(msg, name+":"):
		return stdout.String(), errors.New(msg) // sbatch: error: ...
	}
	return stdout.String(), errors.New(name + ": " + msg)
}

// commandDirs are where Slurm's commands are looked for when they are not
// on PATH: slurmctld runs ResumeProgram and SuspendProgram with no PATH.
var commandDirs = []string{"/usr/bin", "/usr/local/bin", "/opt/slurm/bin"}

// command is the path to run Slurm command name by: the first on PATH,
// else the first of commandDirs that has it, never burst's own (its Slurm
// personality, `burst slurm link` first on a PATH: a server started from
// such a shell would ask itself for its cluster's nodes).
func command(name string) string {
	dirs := append(filepath.SplitList(os.Getenv("PATH")), commandDirs...)
	for _, d := range dirs {
		if !filepath.IsAbs(d) { // "", ".": the server's working directory is no place for Slurm
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 && !isSelf(p, st) {
			return p
		}
	}
	return name // exec says it is not found
}

// isSelf says whether the program at path p (st) is burst: this program's
// own file, or another build of burst (a copy installed elsewhere, or this
// one's file replaced since it started), by the Go module it was built from.
// Slurm's commands are not Go programs.
func isSelf(p string, st os.FileInfo) bool {
	me := self()
	if me.file != nil && os.SameFile(st, me.file) {
		return true
	}
	if me.module == "" {
		return false
	}
	bi, err := buildinfo.ReadFile(p)
	return err == nil && bi.Main.Path == me.module
}

// self is this program: its file, and the Go module it was built from.
var self = sync.OnceValue(func() (me struct {
	file   os.FileInfo
	module string
}) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		me.module = bi.Main.Path
	}
	if exe, err := os.Executable(); err == nil {
		me.file, _ = os.Stat(exe)
	}
	return me
})

// Capacity is what the nodes of partition hold together, as the zero
// Client reads it.
func Capacity(ctx context.Context, partition string) (burst.Resources, error) {
	return Client{}.Capacity(ctx, partition)
}

func sum(nodes []Node) burst.Resources {
	var r burst.Resources
	for _, n := range nodes {
		r.CPUs += n.CPUs
		r.MemBytes += n.MemBytes
		r.GPUs += n.GPUs
	}
	return r
}

// ---------------------------------------------------------------- states

// terminalStates are the Slurm job states after which nothing happens.
var terminalStates = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"OUT_OF_MEMORY": true, "PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true, "REVOKED": true,
}

// runningStates are those of a job that runs, or ran and is ending.
var runningStates = map[string]bool{
	"RUNNING": true, "COMPLETING": true, "SUSPENDED": true, "STOPPED": true, "SIGNALING": true,
	"STAGE_OUT": true, "RESIZING": true,
}

// baseState is the state's name alone: sacct writes "CANCELLED by 1000",
// some tools a trailing '+'.
func baseState(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	return strings.TrimRight(strings.ToUpper(s), "+")
}

// Terminal reports whether a job in state s has ended for good.
func Terminal(s string) bool { return terminalStates[baseState(s)] }

// Started reports whether Slurm started a job in state s (it may have
// ended since).
func Started(s string) bool { return runningStates[baseState(s)] || Terminal(s) }

// Live reports whether a job in state s holds, or waits for, an
// allocation that will run it: pending (also after a requeue), starting
// or running. A job held (REQUEUE_HOLD, SPECIAL_EXIT) or ended is not.
func Live(s string) bool {
	switch b := baseState(s); b {
	case "PENDING", "CONFIGURING", "REQUEUED":
		return true
	default:
		return runningStates[b] && b != "STOPPED"
	}
}
