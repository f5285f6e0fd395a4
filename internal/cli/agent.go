package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
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
	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/discover"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/provider"
)

func newAgentCmd() *cobra.Command {
	var (
		serverAddr, tokenFile, machine, cluster string
		joinURL, joinFile, joinState            string
		cpus                                    int
		timeLimit, idleExit                     time.Duration
		gpus                                    int
		mem                                     string
	)
	var streamHost, cacheSize, spotNotice string
	c := &cobra.Command{
		Use:   "agent",
		Short: "Serve a machine: run the tasks a burst server places on it",
		Long: `Run a burst agent. It announces this machine's cores, memory and GPUs
(from nvidia-smi) to a server, leases tasks, runs each in its own process
group with its limits, and reports how they ended. The server starts an
agent for this host by itself; run one by hand only to serve a server from
another machine or allocation.

An agent outlives its server: it goes on running its tasks and reports
them to the next server. An agent with nothing to run whose server stays
unreachable for --idle-exit (default 2m) exits; it logs the outage once
when it starts, then once a minute.

A machine that shares nothing with the server joins it with a one-time
join URL (burst join-token create prints the command,
BURST_JOIN_URL='URL' burst agent): the agent checks the server's
CA by the URL's hash, exchanges the token for this machine's own
credential, and keeps it with that CA in $BURST_HOME/joined.json (0600) of
this machine. Run again with the same URL (after a reboot) it uses the
saved credential; the token is not needed again. A URL with a new token
(a stopped or revoked machine given one) joins anew with it. The token
names the cluster: --join takes no --cluster, and --machine is the name
asked for at the join. The credential serves the
agent protocol only; burst machine revoke ends it, and the agent exits.
The URL comes from $BURST_JOIN_URL (dropped before any task starts),
--join-file (a 0600 file, or - for stdin) or --join; the last shows it
in ps to every user of the machine until it is used, the others keep it
off the command line. A Slurm pilot of a server that serves TLS joins so
too, with a token minted for its machine in a --join-file; --join-state
keeps its credential in its own file.

On a spot machine, --spot-notice aws watches EC2's instance metadata for an
interruption notice (every 5 s). When one comes the agent takes no more
work, tells the server at once (which requeues the machine's tasks as
preempted, not counted against --retries, and starts a replacement), and
sends its tasks SIGTERM: a program that checkpoints on SIGTERM may, and
what is left is killed shortly before the machine goes. Without the flag
the agent never asks the metadata service anything.

--cache-size bounds two things of $BURST_HOME/cache, each on its own: the
blobs that staged tasks and stacks are fetched into, and the stacks'
unpacked trees (cache/stacks). When either would pass it, the least
recently used go first; a blob or tree that a task of any agent of this
home uses is never removed (the cache may then pass the limit, said once
in the log, until tasks end).

Test hook: BURST_TEST_CLOCK_SKEW=+5m (or -90s) makes the agent report its
tasks' times as a host whose clock is that far off would; the server reads
them against its own clock. Only the test suite sets it.`,
		Example: `  burst agent --server 'https://10.0.0.5:7780#sha256:...' --token-file ~/.burst/token --machine node7
  BURST_JOIN_URL='https://10.0.0.5:7780/burst_j_...#sha256:...' burst agent
  burst agent --join-file - < join-url.txt
  burst agent --join-file /etc/burst/join --spot-notice aws
  burst agent --server 'https://10.0.0.5:7780#sha256:...' --token-file ~/.burst/token --cache-size 200G`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			discover.CloseInherited() // nothing of whoever started it is held, or passed to its tasks
			host, _ := os.Hostname()
			if machine == "" {
				machine = host
			}
			h, err := home.Resolve()
			if err != nil {
				return usage("%v", err)
			}
			var cl *client.Client
			var token string
			var from string // where the join URL came from
			if joinURL, from, err = joinURLFrom(joinURL, joinFile, c.InOrStdin()); err != nil {
				return err
			}
			state := joinStatePath(h, joinState)
			switch {
			case joinURL != "" && (serverAddr != "" || tokenFile != ""):
				return usage("%s: the join URL names the server and gets the credential: leave out --server and --token-file", from)
			case joinURL != "" && c.Flags().Changed("cluster"):
				return usage("%s: the join token names the cluster: leave out --cluster (burst join-token create --cluster C makes a token for cluster C)", from)
			case joinURL != "":
				j, saved, err := joinServer(c.Context(), state, joinURL, machine, c.ErrOrStderr())
				if err != nil {
					return err
				}
				if saved && c.Flags().Changed("machine") && machine != j.Machine {
					return usage("--machine %s: this host joined %s as machine %s (credential in %s): leave out --machine, or join anew with a new token (burst join-token create)", machine, j.Server, j.Machine, state)
				}
				if cl, err = clientFor(j); err != nil {
					return err
				}
				serverAddr, token, machine, cluster = j.Server, j.Credential, j.Machine, j.Cluster
				if saved {
					fmt.Fprintf(c.ErrOrStderr(), "burst: serving %s again as machine %s of cluster %s with the credential saved in %s\n", j.Server, j.Machine, j.Cluster, state)
				} else {
					fmt.Fprintf(c.ErrOrStderr(), "burst: joined %s as machine %s of cluster %s (credential in %s)\n", j.Server, j.Machine, j.Cluster, state)
				}
			case serverAddr == "":
				return usage("no server: pass --server URL (with --token-file), or --join URL (see `burst join-token create`)")
			default:
				token = os.Getenv("BURST_TOKEN")
				if tokenFile != "" {
					b, err := os.ReadFile(tokenFile)
					if err != nil {
						return usage("--token-file: %v", err)
					}
					token = strings.TrimSpace(string(b))
				}
				if token == "" {
					return usage("no token: pass --token-file or set BURST_TOKEN")
				}
				if cl, err = client.New(serverAddr, token); err != nil {
					return usage("--server: %v", err)
				}
			}
			// One agent per machine: a second one (a restarted server
			// starting another before the first registered) would take
			// the first one's tasks for leftovers and kill them.
			if err := os.MkdirAll(h.Agents(), 0o700); err == nil {
				if lf, err := os.OpenFile(h.AgentLock(machine), os.O_CREATE|os.O_RDWR, 0o600); err == nil {
					if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
						return &ExitError{Code: 1, Msg: fmt.Sprintf("another agent already serves machine %s from %s: it goes on", machine, h)}
					}
					defer lf.Close() // held while this agent lives
					// The pid file names the agent that holds the lock,
					// written by that agent: a server killed between
					// starting an agent and recording it cannot leave it
					// naming a dead one.
					os.WriteFile(h.AgentPID(machine), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			defer startProfile("agent")()
			res := agent.Detect(ctx)
			if cpus > 0 || mem != "" {
				// A slice of this host: a machine of a local cluster.
				if cpus > res.CPUs {
					return usage("--cpus %d: this host has %d cores", cpus, res.CPUs)
				}
				if cpus > 0 {
					res.CPUs = cpus
				}
				if mem != "" {
					b, err := burst.ParseMem(mem)
					if err != nil {
						return usage("--mem: %v", err)
					}
					if b > res.MemBytes {
						return usage("--mem %s: this host has %d bytes", mem, res.MemBytes)
					}
					res.MemBytes = b
				}
				res.GPUs = agent.AllowedGPUs(res.GPUs, gpus, os.Getenv("CUDA_VISIBLE_DEVICES"))
			}
			if timeLimit > 0 {
				// A pilot in an allocation: end the tasks (the server requeues
				// them) and exit a little before the allocation ends.
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeLimit-provider.PilotMargin(timeLimit))
				defer cancel()
			}
			if !c.Flags().Changed("idle-exit") {
				if v := os.Getenv("BURST_AGENT_IDLE_EXIT"); v != "" {
					d, err := time.ParseDuration(v)
					if err != nil || d <= 0 {
						return usage("BURST_AGENT_IDLE_EXIT=%s: give a duration such as 2m or 30s", v)
					}
					idleExit = d
				}
			}
			if spotNotice != "" && spotNotice != agent.SpotNoticeAWS {
				return usage("--spot-notice %.40q: the notices burst reads are EC2's: give --spot-notice aws, or leave it out", spotNotice)
			}
			if idleExit <= 0 {
				return usage("--idle-exit %s: give a duration above 0, such as 2m or 30s", idleExit)
			}
			listen, advertise := streamAddrs(serverAddr, streamHost)
			var cacheBytes int64
			if cacheSize != "" {
				if cacheBytes, err = burst.ParseMem(cacheSize); err != nil || cacheBytes <= 0 {
					return usage("--cache-size %s: give a size such as 20G", cacheSize)
				}
			}
			return agent.Run(ctx, agent.Config{
				Client: cl, Machine: machine, Cluster: cluster, Host: host, Res: res,
				WorkDir:      filepath.Join(h.Agents(), machine),
				Private:      realPath(string(h)),
				IdleExit:     idleExit,
				Gone:         goneRule(tokenFile, token),
				Log:          slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil)),
				StreamListen: listen, StreamHost: advertise,
				CacheDir: filepath.Join(string(h), "cache"), CacheSize: cacheBytes,
				SpotNotice: spotNotice,
				LostWindow: lostWindow(),
			})
		},
	}
	c.Flags().StringVar(&cacheSize, "cache-size", "", "bytes of staged inputs this machine keeps in $BURST_HOME/cache, and as many again of unpacked stacks in cache/stacks, e.g. 100G (default: half the free space there, 1G to 50G); the least recently used go first, never one in use")
	c.Flags().StringVar(&serverAddr, "server", "", "server address: https://host:port#sha256:CAHASH (its CA pinned by the hash burst server info prints), http://127.0.0.1:port or unix:///path")
	c.Flags().StringVar(&joinURL, "join", "", "join the server of this one-time URL (burst join-token create prints it), or serve it again with the credential saved then; the URL shows in ps to every user of this machine until it is used: prefer "+client.JoinURLEnv+"=URL or --join-file")
	c.Flags().StringVar(&joinFile, "join-file", "", "as --join, with the URL read from this file (kept 0600; - reads it from stdin): out of the command line")
	c.Flags().StringVar(&joinState, "join-state", "", "where --join keeps this machine's credential (default $BURST_HOME/joined.json): each pilot has its own")
	c.Flags().StringVar(&tokenFile, "token-file", "", "file holding the server's token (or set BURST_TOKEN)")
	c.Flags().StringVar(&machine, "machine", "", "machine name (default: host name)")
	c.Flags().StringVar(&cluster, "cluster", "local", "cluster this machine belongs to")
	c.Flags().IntVar(&cpus, "cpus", 0, "announce this many cores instead of the host's (a slice of the host)")
	c.Flags().StringVar(&mem, "mem", "", "announce this much memory instead of the host's, e.g. 4G")
	c.Flags().IntVar(&gpus, "gpus", 0, "with --cpus/--mem: this many of the host's GPUs (those CUDA_VISIBLE_DEVICES names, as Slurm sets it for an allocation, else the first ones)")
	c.Flags().DurationVar(&timeLimit, "time-limit", 0, "exit before this much time has passed (a Slurm pilot's allocation), ending the tasks that run")
	c.Flags().DurationVar(&idleExit, "idle-exit", 2*time.Minute, "exit when the server has been unreachable this long and nothing runs here (env BURST_AGENT_IDLE_EXIT)")
	c.Flags().StringVar(&spotNotice, "spot-notice", "", "watch for spot interruption notices: aws (EC2's instance metadata, every 5 s; AWS_EC2_METADATA_SERVICE_ENDPOINT moves it)")
	c.Flags().StringVar(&streamHost, "stream-host", "", "address other agents reach this one at for pipe streams (default: the address this machine reaches the server from; 127.0.0.1 for a server on a unix socket)")
	return c
}

// streamAddrs is where an agent listens for pipe streams and the host it
// announces: with a server on a unix socket, only this host's agents can
// talk to it, so loopback; otherwise all interfaces, announced as the
// local address this machine reaches the server from (or --stream-host).
func streamAddrs(server, host string) (listen, advertise string) {
	if strings.HasPrefix(server, "unix://") {
		if host == "" {
			host = "127.0.0.1"
		}
		return net.JoinHostPort(host, "0"), host
	}
	if host == "" {
		host = "127.0.0.1"
		if u, err := url.Parse(server); err == nil {
			if c, err := net.DialTimeout("tcp", u.Host, 5*time.Second); err == nil {
				host, _, _ = net.SplitHostPort(c.LocalAddr().String())
				c.Close()
			}
		}
	}
	return ":0", host
}

// realPath is path with its symbolic links resolved, or path itself.
func realPath(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// lostWindow is the agent's Config.LostWindow: a Slurm pilot's (the agent
// runs inside a Slurm job, which scancel or its time limit ends with a
// SIGTERM to every process at once) waits longer for its own signal.
func lostWindow() time.Duration {
	if os.Getenv("SLURM_JOB_ID") != "" {
		return agent.PilotLostWindow
	}
	return agent.DefaultLostWindow
}

// goneRule is an agent's Config.Gone for its token file: tokenGone, where
// the file is a burst home's own token as the agent starts (a regular file
// named token, with the home's state.db beside it: the agents a server
// starts); nil otherwise. A token handed over another way (a copy, a
// pipe such as --token-file <(ssh head cat ...), a file removed once read
// as secrets often are) tells nothing of its server when it changes.
func goneRule(path, token string) func() string {
	if path == "" || filepath.Base(path) != "token" {
		return nil
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "state.db")); err != nil {
		return nil
	}
	return func() string { return tokenGone(path, token) }
}

// tokenGone says why the server an agent was started for with the token
// file path (and token read from it) is gone for good: the file removed
// (its home removed: rm -rf ~/.burst), or holding another token (the home
// made again, another server's). "" without a token file (a joined
// machine: its credential is its own), while the file holds token, or
// when it cannot be read for another reason (a network filesystem's
// hiccup tells nothing).
func tokenGone(path, token string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("its token file %s was removed (its home removed?)", path)
	case err != nil:
		return ""
	case strings.TrimSpace(string(b)) == "":
		return "" // being written: a home made again writes its token whole
	case strings.TrimSpace(string(b)) != token:
		return fmt.Sprintf("its token file %s holds another token now (its home removed and made again?)", path)
	}
	return ""
}
