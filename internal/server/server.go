// Package server is burst's control plane: it admits jobs, keeps them in the
// store, places their tasks on machines with the pure scheduler, hands them
// to agents, records what the agents report, and serves the HTTP API
// (internal/api) over it.
//
// Its rules live in a state machine, control (control.go; see
// docs/control-plane.md), which does no I/O; the rest of the package is the
// shell that owns the lock, the store, the providers, the HTTP servers (their
// handlers are internal/api's) and the clock. Placement decisions live in
// sched, durable state in store, process handling in the agent.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/metrics"
	"github.com/burst-sh/burst/internal/netlimit"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/sysuser"
)

// DefaultPort is where the server listens on 127.0.0.1 unless told
// otherwise.
const DefaultPort = 7780

// Config configures a server.
type Config struct {
	Home home.Home
	// Port on 127.0.0.1: -1 means DefaultPort, falling back to any free port
	// if it is taken; 0 means any free port; otherwise exactly that port.
	Port int
	Log  *slog.Logger
	// NoLocalAgent stops the server from running an agent for this host.
	NoLocalAgent bool
	// Listen, when set, is the HOST:PORT to listen on instead of
	// 127.0.0.1:Port, for agents on other machines. It serves TLS unless
	// its host is loopback and TLS.Force is not set (tls.go).
	Listen string
	TLS    TLS
	// Prices is a price file overlaid on the built-in catalog; "" means
	// $BURST_HOME/prices.yaml (if it exists).
	Prices string

	// SnapshotEvery is how often the store is copied into
	// $BURST_HOME/backups while it is written (snapshot.go): 0 means
	// DefaultSnapshotEvery, a negative value no snapshots. SnapshotKeep is
	// how many are kept: 0 means DefaultSnapshotKeep.
	SnapshotEvery time.Duration
	SnapshotKeep  int

	// AgentTimeout is how long an agent may be silent before its machine
	// is declared lost and its tasks requeued: 0 means DefaultAgentTimeout
	// for agents that share the server's host or home and
	// DefaultRemoteAgentTimeout for those that share nothing with it
	// (silence.go).
	AgentTimeout time.Duration

	// InputsMemory is the most the inputs of unfinished maps may take in
	// the server's memory before it turns new maps away (inputsmem.go): 0
	// means a sixteenth of the host's memory, at least MinInputsMemory.
	InputsMemory int64

	// TrustMembersOn are clusters whose machines share the server's host
	// (the built-in local one, Caps.SharesHost) on which users who are not
	// admins may still run work (burst server --trust-members-on). A task
	// there runs as the server's Unix user and can read the home's admin
	// token: each such member is as trusted as the admin.
	TrustMembersOn []string
}

// Server is a running control plane.
type Server struct {
	control // the state and its rules, under mu

	home         home.Home
	realHome     string // home with its links resolved, where no job may write (checkOutputs)
	log          *slog.Logger
	st           *store.Store
	token        string
	user         string // the OS user the server runs as
	started      time.Time
	noLocalAgent bool
	agentTimeout time.Duration // Config.AgentTimeout

	mu sync.Mutex

	catalog   *cost.Catalog
	providers provider.Registry
	hostRes   burst.Resources
	// Charges not yet in the store's ledger: flushed by the meter with the
	// machines' meter marks.
	unflushed map[store.CostKey]int64
	// flushing are the flushes taken from unflushed and not yet known to
	// be in the ledger, in order, each numbered (flushed numbers the last
	// one taken): what a reader of the ledger adds to what it read
	// (pendingCosts).
	flushing []flush
	flushed  int64
	// newBytes are the bytes tasks' logs took, by project and tier, since
	// the last commit: written by the next one, which holds their tasks'
	// ends (commit), one row a project however many tasks ended.
	newBytes map[[2]string]int64
	warned   warnings      // warnings that may repeat each tick, logged once a minute
	storageM storageMeter  // storage is charged up to here (accrueStorage)
	events   chan struct{} // closed and replaced when an event is recorded

	ctx  context.Context // the server's life: background work ends with it
	kick chan struct{}
	// wake is when placement must run though nothing else happens (a
	// map's --delay ends): the earliest asked and not yet armed, guarded
	// by wakeMu; wakeSet tells scheduleLoop to arm its timer.
	wakeMu      sync.Mutex
	wake        time.Time
	wakeSet     chan struct{}
	scaleKick   chan struct{}
	priceKick   chan struct{} // read the providers' prices now (prices.go)
	agentExited chan struct{}

	ui uiChanges // counts the changes a dashboard page may show

	lockFile *os.File
	unixLn   net.Listener
	tcpLn    net.Listener
	addr     string
	tls      *tlsState // the --listen listener's TLS; nil when it serves plain HTTP

	// Stopping: end the background work (cancel), close the HTTP servers
	// (https), wait for the loops, then close the store.
	cancel  context.CancelFunc
	https   []*http.Server
	loops   sync.WaitGroup
	closing atomic.Bool
	bgMu    sync.Mutex // orders background's check of closing with close
	// gone is closed when the server finds it must stop of its own accord
	// (its home removed: watchHome); Done returns it.
	gone     chan struct{}
	goneOnce sync.Once
	why      string // why gone was closed: written before, read after
	// sockFile and infoFile are the socket and server.json this server
	// made: close removes each only while it is still there (removeOwn).
	// dbFile is the store it opened (watchHome, close).
	sockFile, infoFile, dbFile os.FileInfo

	clusterGate sync.Mutex // cluster create and delete, one at a time (gateCluster)

	// The store's identity (identify, in recover.go): homeID is what this
	// home's agents and tasks carry; copyOf, where the store was copied
	// from when this server found it a copy ("" otherwise), which health
	// and server.json say.
	homeID string
	copyOf string
	// behind says what a store that lost jobs it had recorded lost
	// (logsAhead; "" otherwise), for server.json.
	behind string

	// disk is the last reading of the free space under the home: new work
	// is refused below a threshold (disk.go).
	disk atomic.Pointer[diskCheck]
	// room is the last reading of the logs' filesystem for starting tasks
	// (roomToStart).
	room atomic.Pointer[roomCheck]
	// mounts are the mount points of the directories named in refusals
	// (mountOf): directory to mount point.
	mounts sync.Map
	// copies lets one copy of the store (snapshot, backup) be made at a time (copies.go)
	copies copyGate

	joins joinCache  // machine credentials by hash (joins.go)
	users userDir    // users, their credentials and roles (users.go)
	blobs *blobState // the blob store: where blobs go, where they are (blobs.go)

	metrics *metrics.Metrics // GET /metrics (metrics.go)
}

// Info is what server.json records for clients and people.
type Info struct {
	PID     int       `json:"pid"`
	Addr    string    `json:"addr"`
	Socket  string    `json:"socket"`
	Started time.Time `json:"started_at"`
	Version string    `json:"version"`
	// CopyOf: see client.Health. The CLI that started this server says
	// so on its stderr (internal/discover).
	CopyOf string `json:"copy_of,omitempty"`
	// StoreBehind: the store lacks jobs it once had (logsAhead), in words.
	// The CLI that started this server says so on its stderr.
	StoreBehind string `json:"store_behind,omitempty"`
	// CA and CAHash: see client.Health.
	CA     string `json:"ca,omitempty"`
	CAHash string `json:"ca_hash,omitempty"`
}

// ErrRunning is returned when another server already serves the home.
var ErrRunning = errors.New("a burst server is already running")

// Start opens the store, recovers state, binds the listeners and starts
// serving. It returns once the server is ready; Wait blocks until it stops.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h := cfg.Home
	if err := h.SocketFits(); err != nil {
		return nil, err // before anything is made there
	}
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(h.Lock(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", h.Lock(), err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		pid := ""
		if b, err := os.ReadFile(h.ServerInfo()); err == nil {
			var in Info
			if json.Unmarshal(b, &in) == nil {
				pid = fmt.Sprintf(" (pid %d, %s)", in.PID, in.Addr)
			}
		}
		return nil, fmt.Errorf("%w for %s%s: use it, or stop it first (`burst server stop`)", ErrRunning, h, pid)
	}
	s := &Server{
		home: h, realHome: resolvePath(string(h)), log: cfg.Log, lockFile: lock, started: time.Now().UTC(), noLocalAgent: cfg.NoLocalAgent, agentTimeout: cfg.AgentTimeout,
		unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{}, events: make(chan struct{}),
		kick: make(chan struct{}, 1), wakeSet: make(chan struct{}, 1), scaleKick: make(chan struct{}, 1), priceKick: make(chan struct{}, 1), agentExited: make(chan struct{}, 1),
		copies: newCopyGate(), gone: make(chan struct{}),
	}
	s.metrics = metrics.New(s.metricsSnapshot)
	host, _ := os.Hostname()
	s.user = "server"
	if u, err := sysuser.Current(context.Background()); err == nil && burst.ValidName(u.Name) {
		s.user = u.Name
	}
	b := make([]byte, 8)
	rand.Read(b)
	s.control = newControl(hex.EncodeToString(b), host, h.Logs(), h.Agents(), s)
	s.control.trustMembers = map[string]bool{}
	s.control.untrusted = s.untrustedUser
	for _, name := range cfg.TrustMembersOn {
		s.control.trustMembers[name] = true
	}
	ctx, s.cancel = context.WithCancel(ctx)
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	if s.token, err = h.EnsureToken(); err != nil {
		return nil, err
	}
	// Checked before it is served: a damaged store is refused with the
	// steps to recover (snapshot.go), and snapshots are taken while it runs.
	if s.st, err = s.openStore(ctx); err != nil {
		return nil, err
	}
	s.dbFile, _ = os.Stat(h.DB())
	if err := s.logsAhead(ctx); err != nil {
		return nil, err
	}
	if err := s.loadCredentials(ctx); err != nil {
		return nil, err
	}
	if s.blobs, err = openBlobs(ctx, string(h), s.st); err != nil {
		return nil, err
	}
	every, keep := cfg.SnapshotEvery, cfg.SnapshotKeep
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	if keep <= 0 {
		keep = DefaultSnapshotKeep
	}
	s.loops.Go(func() { s.snapshotLoop(ctx, every, keep) })
	// The port first, so that a taken port fails fast; the socket last, so
	// that a CLI never finds a half-started server there.
	if err := s.listenTCP(cfg.Port, cfg.Listen, cfg.TLS); err != nil {
		return nil, err
	}
	if err := s.loadFleet(ctx, cfg); err != nil {
		return nil, err
	}
	s.inputsLimit = inputsLimit(cfg.InputsMemory, s.hostRes.MemBytes)
	if err := s.loadUsers(ctx); err != nil {
		return nil, err
	}
	if err := s.loadCache(ctx); err != nil {
		return nil, err
	}
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	s.ensureLocalMachine()
	// server.json names this server before any client can reach it, and is
	// replaced whole (rename), never seen half-written.
	in := Info{PID: os.Getpid(), Addr: s.addr, Socket: h.Socket(), Started: s.started, Version: burst.Version, CopyOf: s.copyOf, StoreBehind: s.behind}
	if s.tls != nil {
		in.CA, in.CAHash = s.tls.caFile, s.tls.caHash
	}
	info, _ := json.Marshal(in)
	if err := s.writeInfo(h.ServerInfo(), append(info, '\n')); err != nil {
		return nil, err
	}
	s.infoFile, _ = os.Stat(h.ServerInfo())
	if err := s.listenUnix(); err != nil {
		return nil, err
	}
	if err := s.serve(ctx); err != nil {
		return nil, err
	}
	ok = true
	s.log.Info("burst server ready", "addr", s.addr, "socket", h.Socket(), "home", string(h), "pid", os.Getpid())
	return s, nil
}

func (s *Server) listenUnix() error {
	sock := s.home.Socket()
	os.Remove(sock) // stale from a dead server; we hold the lock
	ul, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	os.Chmod(sock, 0o600)
	// close removes the socket itself, and only while it is still this
	// server's: a home removed and made again under a stopping server
	// holds the next server's socket at the same path.
	ul.(*net.UnixListener).SetUnlinkOnClose(false)
	s.sockFile, _ = os.Stat(sock)
	s.unixLn = ul
	return nil
}

func (s *Server) listenTCP(port int, listen string, t TLS) error {
	if listen != "" {
		lhost, _, _ := net.SplitHostPort(listen)
		if t.Force || t.Cert != "" || !Loopback(lhost) {
			// Made before the port is taken: a bad certificate fails
			// the start before anyone can connect.
			var err error
			if s.tls, err = s.setupTLS(t, lhost); err != nil {
				return err
			}
		}
		tl, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", listen, err)
		}
		s.tcpLn = netlimit.Wrap(tl, netlimit.Limits{})
		os.WriteFile(s.home.LastAddr(), []byte(tl.Addr().String()+"\n"), 0o600)
		host, p, _ := net.SplitHostPort(tl.Addr().String())
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = s.host // all addresses: agents elsewhere find it by this host's name
		}
		scheme := "http://"
		if s.tls != nil {
			scheme = "https://"
		}
		s.addr = scheme + net.JoinHostPort(host, p)
		return nil
	}
	try := port
	if port < 0 {
		try = DefaultPort
	}
	var tl net.Listener
	err := errors.New("no previous port")
	if port <= 0 {
		// Any port will do: the last one first, where pilots that outlived
		// the last server knock.
		if b, rerr := os.ReadFile(s.home.LastAddr()); rerr == nil {
			if _, p, serr := net.SplitHostPort(strings.TrimSpace(string(b))); serr == nil && p != "0" {
				tl, err = net.Listen("tcp", "127.0.0.1:"+p)
			}
		}
	}
	if err != nil {
		tl, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(try))
	}
	if err != nil && port < 0 {
		tl, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("port %d on 127.0.0.1 is taken: choose another with --port (or BURST_PORT), or 0 for any free port", try)
		}
		return fmt.Errorf("listen on 127.0.0.1:%d: %w", try, err)
	}
	// Strangers can reach this port: at most so many connections that have
	// not shown the token (netlimit), so that a flood never takes the
	// descriptors the store, the logs and the agents need.
	s.tcpLn = netlimit.Wrap(tl, netlimit.Limits{})
	s.addr = "http://" + tl.Addr().String()
	os.WriteFile(s.home.LastAddr(), []byte(tl.Addr().String()+"\n"), 0o600)
	return nil
}

// MaxHeaderBytes bounds a request's header lines, on the unix socket and
// the TCP port alike.
const MaxHeaderBytes = 64 << 10

func (s *Server) serve(ctx context.Context) error {
	h, err := s.handler()
	if err != nil {
		return err
	}
	for _, ln := range []net.Listener{s.unixLn, s.tcpLn} {
		// A request's headers are a token, a cookie and a few short lines:
		// 64 KiB is ample, and a flood of requests that each send the 1 MiB
		// net/http allows by default held 1 MiB of the server's memory per
		// connection until ReadHeaderTimeout (2,000 on the unix socket:
		// 2 GB). Past it the answer is 431.
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: MaxHeaderBytes}
		if nl, ok := ln.(*netlimit.Listener); ok {
			// A connection that has not sent its headers in 5 s, or sends
			// no next request in 2 minutes (longer than a client keeps an
			// idle one: 90 s), is closed; one whose request passes the API's
			// check (token or dashboard session) no longer counts against
			// the caps on strangers (api.auth marks it).
			srv.ReadHeaderTimeout, srv.IdleTimeout = 5*time.Second, 2*time.Minute
			nl.HTTP(srv)
			log := s.log
			nl.Report(time.Minute, func(refused, _ int64) {
				log.Warn("API port: connections over the caps on strangers closed", "count", refused, "addr", nl.Addr().String())
			})
		}
		if ln == s.tcpLn && s.tls != nil {
			// netlimit under TLS: its caps count TCP connections, so a
			// stranger's handshake costs what any connection does, and a
			// handshake not done within ReadHeaderTimeout is closed.
			plainConns(srv)
			ln = tls.NewListener(api.BatchListener(ln), s.tls.cfg)
			hl := &handshakeLog{log: s.log}
			srv.ErrorLog = log.New(hl, "", 0)
			addr := ln.Addr().String()
			s.loops.Go(func() { hl.report(ctx, time.Minute, addr) })
			s.loops.Go(func() { s.renewTLS(ctx) })
		}
		s.https = append(s.https, srv)
		s.loops.Go(func() { srv.Serve(ln) }) // returns once close closes srv
	}
	s.mu.Lock()
	s.ctx = ctx
	for _, c := range s.clusters {
		s.startNative(c)
	}
	s.mu.Unlock()
	s.loops.Go(func() { s.scheduleLoop(ctx) })
	s.loops.Go(func() { s.superviseLocal(ctx) })
	s.loops.Go(func() { s.meterLoop(ctx) })
	s.loops.Go(func() { s.storageLoop(ctx) })
	s.loops.Go(func() { s.scaleLoop(ctx) })
	s.loops.Go(func() { s.priceLoop(ctx) })
	s.loops.Go(func() { s.watchHome(ctx, homeWatchEvery) })
	return nil
}

// Addr is the TCP address, http://127.0.0.1:PORT (https://HOST:PORT for a
// --listen that serves TLS).
func (s *Server) Addr() string { return s.addr }

// Done is closed when the server has found that it must stop (its store
// gone from its home): whoever runs it then calls Shutdown, as for a
// signal.
func (s *Server) Done() <-chan struct{} { return s.gone }

// Shutdown stops serving and closes the store. Running tasks go on under
// their agents, which register again with the next server.
func (s *Server) Shutdown() { s.close() }

// close stops the server in an order that loses nothing: the background
// loops end and no request is answered any more before the store closes.
// A request still being handled then may find the store closed, but has
// nobody left to answer: what it did is lost with its answer, and the
// agent or client asks the next server again.
func (s *Server) close() {
	s.bgMu.Lock()
	s.closing.Store(true)
	s.bgMu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	for _, srv := range s.https {
		srv.Close() // the listeners and every connection
	}
	if s.st != nil {
		s.st.ReleaseHeld() // a full disk must not keep the loops waiting (disk.go)
	}
	s.loops.Wait()
	if s.st != nil {
		// What the meter counted since its last tick (a task's log bytes,
		// which nothing counts again) goes to the store before it closes.
		s.mu.Lock()
		f := s.takeFlush()
		s.mu.Unlock()
		if f != nil {
			if err := s.st.Write(context.Background(), f); err != nil {
				s.log.Warn("the meter's last counts were not written", "err", err)
			}
		}
	}
	if s.unixLn != nil {
		s.unixLn.Close()
	}
	if s.tcpLn != nil {
		s.tcpLn.Close()
	}
	switch {
	case s.st == nil:
	case !stillAt(s.home.DB(), s.dbFile):
		// The store is no longer at its path (its home removed, and
		// perhaps made again with another server's store in it): SQLite's
		// close would remove, by path, a -wal file that is not its own.
		// The process's exit closes it.
		s.log.Warn("the store is no longer at its path: left open for the process's exit to close", "store", s.home.DB())
	default:
		s.st.Close()
	}
	removeOwn(s.home.Socket(), s.sockFile)
	removeOwn(s.home.ServerInfo(), s.infoFile)
	if s.lockFile != nil {
		s.lockFile.Close()
	}
}

// removeOwn removes path if it is still the file own (what this server
// made there), not another's: after its home was removed and made again,
// the next server's socket and server.json are at the same paths.
func removeOwn(path string, own os.FileInfo) {
	if stillAt(path, own) {
		os.Remove(path)
	}
}

// stillAt says whether path is the file own.
func stillAt(path string, own os.FileInfo) bool {
	fi, err := os.Stat(path)
	return err == nil && own != nil && os.SameFile(fi, own)
}

// health describes this server.
func (s *Server) health() client.Health {
	return client.Health{Version: burst.Version, PID: os.Getpid(), BootID: s.bootID, Home: string(s.home),
		Addr: s.addr, Socket: s.home.Socket(), Started: s.started, CopyOf: s.copyOf, CA: s.caFile(), CAHash: s.CAHash()}
}

// CAHash is the pin of the CA of the server's TLS listener ("" without
// one): what `burst login URL#sha256:...` and joining machines pin.
func (s *Server) CAHash() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.caHash
}

func (s *Server) caFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.caFile
}
