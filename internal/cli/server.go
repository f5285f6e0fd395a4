package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/burst-sh/burst/internal/atomicfile"
	"github.com/spf13/pflag"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/discover"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/server"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/store"
)

func newServerCmd() *cobra.Command {
	var (
		port   int
		listen string
		every  time.Duration
		keep   int

		agentTimeout time.Duration
		trustOn      []string
		tlsOpt       server.TLS
		inputsMemory string
	)
	c := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane in the foreground; stop, back up or restore it",
		Long: `Run burst's control plane: the HTTP API (under /v1/) on a unix socket in
$BURST_HOME and on 127.0.0.1, the durable job queue, the scheduler and an
agent for this machine. Every request needs the bearer token kept (0600) in
$BURST_HOME/token, created on first start.

You rarely need this: any burst command starts a server in the background
when none runs. Stopping the server does not stop running jobs; they go on
and the next server picks them up ('burst server stop --all' stops them). One server serves a $BURST_HOME: a
second one exits with status 10.

$BURST_HOME is kept private: at start it and everything in it that others
could reach lose their group and other permissions (0700 directories, 0600
files), and a home that another user owns is refused.

The store is checked at start (SQLite's quick_check); a damaged one is not
served, and the message names the snapshot to restore (burst server
restore). While the store is written, a snapshot of it goes to
$BURST_HOME/backups every --snapshot-every (15m), keeping the newest
--snapshot-keep (8); 'burst server backup FILE' makes one when you ask.

With --listen HOST:PORT the API listens there instead of 127.0.0.1, for
agents and people on other machines. Beyond loopback (any HOST but
127.0.0.0/8 and ::1; 0.0.0.0 included) it serves TLS only: on its first
such start the server creates its own CA in $BURST_HOME/tls and a
certificate for HOST, this host's name and addresses (and every --tls-san),
and prints the https:// URL and the CA's hash. People on other machines log
in with 'burst login https://HOST:PORT#sha256:HASH'; 'burst server info'
prints both again. --tls serves TLS on a loopback --listen too (behind a
port forward); --tls-cert and --tls-key serve your own certificate instead
(see docs/security-tls.md). The unix socket and the default 127.0.0.1
listener stay plain HTTP.

An agent keeps a lease request open at the server at all times. One that
goes silent (its host's network dropped, its host died) keeps its tasks for
--agent-timeout; past it, its machine is declared lost and its tasks run
again elsewhere, once. The default is 30s for agents on this host or its
filesystem and 90s for machines that share nothing with the server, so that
an outage of 30 s loses nothing; --agent-timeout sets one lease for all.

Users who are not admins run nothing on clusters whose machines share this
host (the built-in local cluster, and clusters of the local provider): a
task there runs as the server's Unix user and could read $BURST_HOME/token,
the admin's own token. Their work goes to a cluster of joined machines or
Slurm of their project. --trust-members-on CLUSTER (repeat it) lets them run
on that cluster anyway: use it only where every member may be as trusted as
the admin.`,
		Example: `  burst server
  burst server --port 8080
  BURST_HOME=/scratch/me/burst burst server --port 0   # any free port
  burst server --snapshot-every 5m --snapshot-keep 24
  burst server --listen 0.0.0.0:7780 --tls-san lab.example.org
  burst server --listen 0.0.0.0:7780 --agent-timeout 2m
  burst server --trust-members-on local   # members' tasks may run here (they could act as the admin)
  burst server info`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 { // burst server stpo: the subcommands it has, exit 2
				return unknownCommand(c.CommandPath(), c, args[0], nil)
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			discover.CloseInherited() // nothing of whoever started it is held, or passed to its agents
			h, err := home.Resolve()
			if err != nil {
				return usage("%v", err)
			}
			if err := checkTLSFlags(listen, tlsOpt); err != nil {
				return err
			}
			if !c.Flags().Changed("port") {
				port = -1
				if v := os.Getenv("BURST_PORT"); v != "" {
					p, err := strconv.Atoi(v)
					if err != nil || p < 0 || p > 65535 {
						return usage("BURST_PORT=%s: use a port number from 0 to 65535", v)
					}
					port = p
				}
			} else if port < 0 || port > 65535 {
				return usage("--port %d: use a port number from 0 to 65535", port)
			}
			envEvery, envKeep, err := server.SnapshotConfig()
			if err != nil {
				return usage("%v", err)
			}
			if !c.Flags().Changed("snapshot-every") {
				every = envEvery
			} else if every < 0 || every > 0 && every < time.Second {
				return usage("--snapshot-every %s: give a duration of 1s or more, e.g. 15m, or 0 for no snapshots", every)
			}
			if !c.Flags().Changed("snapshot-keep") {
				keep = envKeep
			} else if keep < 1 {
				return usage("--snapshot-keep %d: keep at least 1 snapshot (--snapshot-every 0 turns them off)", keep)
			}
			if every == 0 {
				every = -1 // Config's "none"
			}
			inputsMem, err := server.InputsMemoryConfig()
			if err != nil {
				return usage("%v", err)
			}
			if c.Flags().Changed("inputs-memory") {
				if inputsMem, err = burst.ParseMem(inputsMemory); err != nil || inputsMem < 1<<20 {
					return usage("--inputs-memory %s: give a size of 1M or more, e.g. 4G (what the inputs of unfinished maps may take in the server's memory)", inputsMemory)
				}
			}
			if c.Flags().Changed("agent-timeout") && agentTimeout < time.Second {
				return usage("--agent-timeout %s: give a duration of 1s or more, e.g. 2m (a machine's tasks run again elsewhere once its agent is silent that long)", agentTimeout)
			}
			for _, name := range trustOn {
				if !burst.ValidName(name) {
					return usage("--trust-members-on %q: give a cluster's name, e.g. local (see `burst cluster list`)", name)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			defer startProfile("server")()
			log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil))
			if listen != "" {
				if _, _, err := net.SplitHostPort(listen); err != nil {
					return usage("--listen %s: give HOST:PORT, e.g. 0.0.0.0:7780 or 10.0.0.5:7780", listen)
				}
			}
			s, err := server.Start(ctx, server.Config{Home: h, Port: port, Listen: listen, Log: log,
				SnapshotEvery: every, SnapshotKeep: keep, TLS: tlsOpt, AgentTimeout: agentTimeout,
				TrustMembersOn: trustOn, InputsMemory: inputsMem})
			if errors.Is(err, server.ErrRunning) {
				// A CLI that started this one in a race with another sees
				// the code and uses the server that won.
				return &ExitError{Code: discover.ExitServerRunning, Msg: alreadyRunning(h, listen)}
			}
			if err != nil && listen != "" && errors.Is(err, syscall.EADDRINUSE) {
				return usage("cannot start the server: %v: another program listens there; choose another port (--listen %s)", err, hostPort(listen))
			}
			if err != nil {
				return usage("cannot start the server: %v", err)
			}
			saveServerArgs(h, c.Flags())
			fmt.Fprintf(c.ErrOrStderr(), "burst server on %s and unix://%s (token in %s)\n", s.Addr(), h.Socket(), h.Token())
			if pin := s.CAHash(); pin != "" {
				fmt.Fprintf(c.ErrOrStderr(), "TLS: CA hash %s; from another machine: burst login %s#%s\n", pin, s.Addr(), pin)
			}
			select {
			case <-ctx.Done():
			case <-s.Done(): // its home removed under it (the server's log says so)
			}
			s.Shutdown()
			if why := s.Why(); why != "" {
				// Not a stop anyone asked for: whoever runs it (a
				// service manager, a script) learns that it failed.
				return &ExitError{Code: 1, Msg: "the server stopped: " + why}
			}
			return nil
		},
	}
	c.Flags().IntVar(&port, "port", server.DefaultPort, "TCP port on 127.0.0.1 (0: any free port; env BURST_PORT)")
	c.Flags().StringVar(&listen, "listen", "", "listen on this HOST:PORT instead of 127.0.0.1 (e.g. 0.0.0.0:7780), so that agents and people on other machines reach the server; beyond loopback it serves TLS (its own CA in $BURST_HOME/tls) and every request still needs a credential")
	c.Flags().BoolVar(&tlsOpt.Force, "tls", false, "with --listen on loopback: serve TLS there too (e.g. behind a port forward)")
	c.Flags().StringVar(&tlsOpt.Cert, "tls-cert", "", "with --listen: serve this certificate chain (PEM, leaf first) instead of one from the server's own CA")
	c.Flags().StringVar(&tlsOpt.Key, "tls-key", "", "the private key of --tls-cert (PEM)")
	c.Flags().StringArrayVar(&tlsOpt.SANs, "tls-san", nil, "another host name or IP address the server's certificate holds (repeat it)")
	c.Flags().DurationVar(&every, "snapshot-every", server.DefaultSnapshotEvery, "copy the store into $BURST_HOME/backups this often while it is written (0: never; env BURST_SNAPSHOT_EVERY)")
	c.Flags().DurationVar(&agentTimeout, "agent-timeout", 0, "how long an agent may be silent (its network down, its host gone) before its machine is declared lost and its tasks run again elsewhere (default: 30s for agents on this host or its filesystem, 90s for machines that share nothing with the server)")
	c.Flags().StringArrayVar(&trustOn, "trust-members-on", nil, "let users who are not admins run work on this cluster of machines that share this host (e.g. local; repeat it): their tasks run as the server's Unix user and could read the admin's token, so each member becomes as trusted as the admin")
	c.Flags().StringVar(&inputsMemory, "inputs-memory", "", "the most the inputs of unfinished maps may take in the server's memory before it turns new maps away, e.g. 4G (default: a sixteenth of the host's memory, at least 256M; env BURST_INPUTS_MEMORY)")
	c.Flags().IntVar(&keep, "snapshot-keep", server.DefaultSnapshotKeep, "how many snapshots to keep, newest first (env BURST_SNAPSHOT_KEEP)")
	c.AddCommand(newServerStopCmd(), newServerBackupCmd(), newServerRestoreCmd(), newServerInfoCmd())
	return c
}

// hostPort is listen's host with PORT for its port: what --listen wants
// to move to another port.
func hostPort(listen string) string {
	host, _, _ := net.SplitHostPort(listen) // checked before the server starts
	return net.JoinHostPort(host, "PORT")
}

// alreadyRunning is what `burst server` says when another server holds
// h: which one (its pid and address; a server still starting writes them
// within a moment, so they are waited for briefly) and what to do. With
// --listen (the first step of sharing burst, typed while the server the
// first command started still runs) it says how to replace that one: stop
// it and start this one at once, as any burst command in between starts a
// local server again.
func alreadyRunning(h home.Home, listen string) string {
	who := ""
	for give := time.Now().Add(2 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var in server.Info
		if b, err := os.ReadFile(h.ServerInfo()); err == nil && json.Unmarshal(b, &in) == nil && in.PID > 0 {
			who = fmt.Sprintf(" (pid %d, %s)", in.PID, in.Addr)
			break
		}
		if time.Now().After(give) {
			break
		}
	}
	msg := fmt.Sprintf("cannot start the server: a burst server is already running for %s%s", h, who)
	if listen == "" {
		return msg + ": use it, or stop it first (`burst server stop`)"
	}
	return msg + fmt.Sprintf(": to serve on %s instead, stop it and start this one at once: `burst server stop && burst server --listen %s` (a burst command run between the two starts a local server again)", listen, shellquote.Quote(listen))
}

func newServerStopCmd() *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "stop",
		Short: "Stop the local server of $BURST_HOME (--all: and its agents)",
		Long: `Stop the server of $BURST_HOME (the one the CLI starts by itself) and wait
until it has exited. Running jobs go on: their agents keep running them,
and the next burst command starts a server again, which picks them up. An
agent with nothing to run exits once its server has been gone 2 minutes.

With --all the agents of this host's machines stop too (local-1 and the
machines of local clusters): the tasks they run get SIGTERM, then SIGKILL
after 2 s, and run again from the beginning when a server next starts (as
tasks whose machine was lost: a task lost a third time fails).`,
		Example: `  burst server stop
  burst server stop --all
  BURST_HOME=/scratch/me/burst burst server stop`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if os.Getenv("BURST_SERVER") != "" {
				return usage("BURST_SERVER is set: burst server stop stops only the local server of $BURST_HOME; stop that one where it runs, or unset BURST_SERVER")
			}
			h, err := home.Resolve()
			if err != nil {
				return usage("%v", err)
			}
			w := c.OutOrStdout()
			token, _ := h.ReadToken()
			// Asked once: no answer means no server to stop.
			cl, err := client.New("unix://"+h.Socket(), token, client.WithRetry(client.Retry{}))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 5*time.Second)
			defer cancel()
			info, err := cl.Health(ctx)
			running := info != nil && err == nil && info.PID > 0
			tasks := map[string]int{} // machine -> tasks it runs, as the server knows
			if running && all {
				if ms, err := cl.Machines(ctx); err == nil {
					for _, m := range ms {
						tasks[m.ID] = m.Tasks
					}
				}
			}
			if running {
				if err := stopPID(info.PID, 20*time.Second); err != nil {
					return fmt.Errorf("the server (pid %d) %v: see %s", info.PID, err, h.ServerLog())
				}
			}
			// Stopped on purpose: the next server any command starts is a
			// plain local one; only a crash brings back the last options.
			os.Remove(h.ServerArgs())
			if !all {
				if running {
					fmt.Fprintf(w, "burst server (pid %d) stopped; running jobs go on\n", info.PID)
				} else {
					fmt.Fprintf(w, "no burst server runs for %s\n", h)
				}
				return nil
			}
			// Only once the server is gone: a live server would see its
			// agents die, requeue their tasks and start new agents.
			agents := localAgents(h)
			var names []string
			n, unknown := 0, false
			for _, a := range agents {
				syscall.Kill(a.pid, syscall.SIGTERM) // it ends its tasks and exits
				names = append(names, a.machine)
				k, ok := tasks[a.machine]
				n += k
				unknown = unknown || !ok
			}
			for _, a := range agents {
				// Its lock goes with its last file descriptor: exited,
				// reaped or not.
				deadline := time.Now().Add(15 * time.Second)
				for discover.LockHeld(h.AgentLock(a.machine)) {
					if time.Now().After(deadline) {
						return fmt.Errorf("the agent of %s (pid %d) did not exit within 15 s: see %s", a.machine, a.pid, filepath.Join(h.Agents(), a.machine+".log"))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			what := "no burst server ran for " + string(h)
			if running {
				what = fmt.Sprintf("burst server (pid %d) stopped", info.PID)
			}
			fmt.Fprintln(w, what+"; "+agentsStopped(names, n, unknown))
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "stop this host's agents too, ending the tasks they run (they run again when a server starts)")
	return c
}

// agentsStopped says what stopping these agents did to their tasks: n
// tasks, as the server counted them (unknown: some agent's count was not
// known, its server being gone already).
func agentsStopped(names []string, n int, unknown bool) string {
	switch {
	case len(names) == 0:
		return "no agent ran"
	case n == 0 && !unknown:
		// "ran no task" read, after a job, as if it had run none.
		was := "which was"
		if len(names) > 1 {
			was = "which were"
		}
		return fmt.Sprintf("stopped %s (%s), %s running no task", burst.Plural(len(names), "agent"), strings.Join(names, ", "), was)
	}
	whose := "its"
	if len(names) > 1 {
		whose = "their"
	}
	tasks := whose + " " + burst.Plural(n, "running task") + " were"
	if n == 1 {
		tasks = whose + " running task was"
	}
	if unknown {
		// Their server was gone already: nobody counted what they ran.
		tasks = "the tasks it ran, if any, were"
		if len(names) > 1 {
			tasks = "the tasks they ran, if any, were"
		}
	}
	return fmt.Sprintf("stopped %s (%s): %s ended (SIGTERM, then SIGKILL after 2 s) and will run again from the beginning when a server starts",
		burst.Plural(len(names), "agent"), strings.Join(names, ", "), tasks)
}

// localAgent is an agent of this host serving a machine of $BURST_HOME.
type localAgent struct {
	machine string
	pid     int
}

// localAgents finds the agents that serve machines of h from this host: a
// pid file under agents/ whose lock an agent holds, naming a live `burst
// agent --machine NAME` here (a pilot on another node of a shared
// $BURST_HOME writes a pid of its own host).
func localAgents(h home.Home) []localAgent {
	files, _ := filepath.Glob(filepath.Join(h.Agents(), "*.pid"))
	var out []localAgent
	for _, f := range files {
		machine := strings.TrimSuffix(filepath.Base(f), ".pid")
		if !discover.LockHeld(h.AgentLock(machine)) {
			continue // no agent serves it
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !isAgentOf(pid, machine) {
			continue
		}
		out = append(out, localAgent{machine, pid})
	}
	return out
}

// isAgentOf reports whether pid is a `burst agent --machine machine`.
func isAgentOf(pid int, machine string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if len(args) < 2 || args[1] != "agent" {
		return false
	}
	for i, a := range args {
		if a == "--machine="+machine || a == "--machine" && i+1 < len(args) && args[i+1] == machine {
			return true
		}
	}
	return false
}

// stopPID sends SIGTERM to pid and waits until it has exited.
func stopPID(pid int, wait time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
	deadline := time.Now().Add(wait)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("did not exit within %s", wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func newServerBackupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the server's store to FILE",
		Long: `Ask the running server for a consistent copy of its store (every job,
task, machine and charge; SQLite's VACUUM INTO, taken while the server goes
on serving) and write it to FILE, a new file, 0600: the store holds every
job's environment. The copy is checked (quick_check) before it is kept.
Restore it with 'burst server restore FILE'.

The server also keeps snapshots of its own in $BURST_HOME/backups (see
'burst server --help').`,
		Example: `  burst server backup ~/burst-$(date +%F).db
  BURST_HOME=/scratch/me/burst burst server backup /safe/place/burst.db`,
		Args: oneFile("the file to write, e.g. burst server backup ~/burst-backup.db"),
		RunE: func(c *cobra.Command, args []string) error {
			dst := args[0]
			if _, err := os.Lstat(dst); err == nil {
				return usage("%s exists: name a new file, or remove it first", dst)
			}
			part := dst + ".part"
			f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return usage("%s exists (a backup cut short?): remove it first", part)
			}
			if err != nil {
				return usage("cannot write %s: %v", part, errors.Unwrap(err))
			}
			ok := false
			defer func() {
				if !ok {
					f.Close()
					os.Remove(part)
				}
			}()
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := cl.Backup(c.Context(), f); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			if err := f.Sync(); err != nil {
				return fmt.Errorf("backup: write %s: %w", part, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("backup: write %s: %w", part, err)
			}
			if err := store.CheckBackup(c.Context(), part); err != nil {
				return fmt.Errorf("backup: the copy received is not whole: %w", err)
			}
			if err := os.Rename(part, dst); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			ok = true
			fi, _ := os.Stat(dst)
			fmt.Fprintf(c.OutOrStdout(), "backed up the store to %s (%s); restore it with: burst server restore %s\n", dst, mib(fi), dst)
			return nil
		},
	}
}

func newServerRestoreCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace $BURST_HOME's store with a backup or snapshot",
		Long: `Replace the store of $BURST_HOME with FILE, a copy made by 'burst server
backup' or a snapshot from $BURST_HOME/backups. FILE must be a burst store
that passes SQLite's quick_check. The store it replaces is not deleted: it
is moved aside as state.db.damaged-TIME (with its -wal and -shm files).
FILE itself is read only, never changed. No server may run meanwhile (stop
it with 'burst server stop'); the next burst command starts one on the
restored store. Jobs, tasks and charges recorded after FILE was made are
not in it: tasks it holds as queued or running run again (at least once;
each task's log starts afresh, so results show each line once), and the
logs of jobs made after FILE are moved to $BURST_HOME/logs-before-restore-TIME
(their ids will be given again).`,
		Example: `  burst server restore ~/.burst/backups/state-20270510T120000.000Z.db
  burst server stop && burst server restore ~/burst-2027-05-10.db`,
		Args: oneFile("the backup to restore, e.g. burst server restore ~/.burst/backups/state-….db (ls ~/.burst/backups)"),
		RunE: func(c *cobra.Command, args []string) error {
			if os.Getenv("BURST_SERVER") != "" {
				return usage("BURST_SERVER is set: burst server restore restores the store of $BURST_HOME only; run it where that server's home is, or unset BURST_SERVER")
			}
			h, err := home.Resolve()
			if err != nil {
				return usage("%v", err)
			}
			if err := h.Ensure(); err != nil {
				return usage("%v", err)
			}
			src := args[0]
			// The server's own lock, held while the store is replaced: a
			// server that starts meanwhile finds the home taken and exits.
			lock, err := os.OpenFile(h.Lock(), os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				return usage("cannot open %s: %v", h.Lock(), errors.Unwrap(err))
			}
			defer lock.Close()
			if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				return usage("a burst server runs for %s: stop it first (burst server stop), then restore", h)
			}
			ctx, cancel := context.WithTimeout(c.Context(), time.Minute)
			defer cancel()
			aside, err := store.Restore(ctx, src, h.DB(), time.Now())
			if err != nil {
				return usage("%v", err)
			}
			// Jobs made after the backup are not in it, and their ids will
			// be given again: their logs must not become a new job's.
			moved, err := moveNewerLogs(ctx, h, time.Now())
			if err != nil {
				return fmt.Errorf("restored %s from %s, but: %w", h.DB(), src, err)
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "restored %s from %s", h.DB(), src)
			if aside != "" {
				fmt.Fprintf(w, "; the store it replaced is kept as %s", aside)
			}
			if moved != "" {
				fmt.Fprintf(w, "; logs of jobs newer than the backup are kept in %s", moved)
			}
			fmt.Fprintln(w, "; the next burst command starts a server on it")
			return nil
		},
	}
}

// moveNewerLogs moves the log directories of jobs the restored store does
// not have (ids above its highest) from $BURST_HOME/logs to
// $BURST_HOME/logs-before-restore-TIME, and returns that directory ("" when
// there were none).
func moveNewerLogs(ctx context.Context, h home.Home, now time.Time) (string, error) {
	dir := filepath.Join(string(h), "logs-before-restore-"+now.UTC().Format("20060102T150405Z"))
	dir, moved, err := store.MoveLogsAbove(ctx, h.DB(), h.Logs(), dir)
	if err != nil || len(moved) == 0 {
		return "", err
	}
	return dir, nil
}

// mib is a file's size for people.
func mib(fi os.FileInfo) string {
	if fi == nil {
		return "size unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
}

// oneFile takes exactly one argument, a file.
func oneFile(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usage("%s: give one file: %s", c.CommandPath(), what)
		}
		return nil
	}
}

// saveServerArgs keeps the options this server was started with, once it
// runs (a second server refused for the home writes nothing), for the
// next server any command starts (discover's autostart): one started with
// --listen comes back there after a crash. A server started without
// options keeps none: the next is as plain.
func saveServerArgs(h home.Home, flags *pflag.FlagSet) {
	args := []string{}
	flags.Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	if b, err := json.Marshal(args); err == nil {
		atomicfile.Write(h.ServerArgs(), b) // at worst the next one starts plain, as before
	}
}
