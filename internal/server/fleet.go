package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/dist"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/provider/aws"
	"github.com/burst-sh/burst/internal/scale"
	"github.com/burst-sh/burst/internal/store"
)

// clusterRT is a cluster and what is resolved from its definition.
type clusterRT struct {
	def   burst.Cluster
	typ   cost.Type
	sched scale.Schedule
	prov  provider.Provider
	// Starts that failed, were throttled, or whose machines died before
	// they registered make the autoscaler wait before it tries again.
	backoff scale.Backoff
	// stopNative ends the native-mode agent of a Slurm cluster.
	stopNative context.CancelFunc
	// replacing are its interrupted spot machines that the autoscaler's
	// next starts replace (interrupt.go), oldest first.
	replacing []string
	// unusable says why no machine of it can be started (its type left
	// the price catalog after it was stored): its machines run on, take
	// work and stop as ever; the autoscaler starts none.
	unusable string
	// recent is the need of its waiting work over the last
	// scale.WithdrawGrace: the pending machines the autoscaler keeps.
	recent scale.RecentNeed
	// deleted is set (with s.mu held) when the cluster is deleted: a
	// machine of it left stopped cannot start again, even once a cluster
	// of the same name is made.
	deleted bool
}

// lostUnjoined records a machine of c lost before it registered and
// returns how long the autoscaler waits (scale.Backoff). Called with s.mu
// held.
func (c *clusterRT) lostUnjoined(now time.Time) time.Duration {
	return c.backoff.Failed(now, scale.LostUnjoined)
}

func (c *clusterRT) res() burst.Resources { return c.typ.Resources() }

// caps is what the cluster's provider can do: the server decides from
// these, never from the provider's name.
func (c *clusterRT) caps() provider.Caps {
	if c == nil || c.prov == nil {
		return provider.Caps{}
	}
	return c.prov.Caps()
}

// price is what one machine of the cluster costs per hour, and why.
func (s *Server) clusterPrice(c *clusterRT) (float64, string) { return s.clusterPriceAs(c, c.def.Spot) }

// clusterPriceAs is clusterPrice for a machine of c on spot or not (an
// on-demand replacement of an interrupted spot machine).
func (s *Server) clusterPriceAs(c *clusterRT, spot bool) (float64, string) {
	if c.unusable != "" {
		return 0, "type " + c.def.Type + " is not in the price catalog"
	}
	if c.def.Type == "" || (c.caps().SharesHost && s.catalog.Local.Configured) {
		// Machines of no catalog type (Slurm allocations on an on-prem
		// cluster): the configured local rates, else a shadow price.
		return s.catalog.LocalPrice(c.res(), spot)
	}
	kind := "on-demand"
	if spot && c.typ.Spot > 0 {
		kind = "spot"
		if c.typ.SpotSource != "" {
			// Read from the provider's spot market (prices.go).
			return c.typ.Spot, fmt.Sprintf("%s spot in %s (%s, %s)", c.typ.Name, c.typ.SpotZone, c.typ.SpotSource,
				c.typ.SpotAt.UTC().Format("2006-01-02 15:04Z"))
		}
	}
	return c.typ.Price(spot), fmt.Sprintf("%s %s (%s, %s)", c.typ.Name, kind, c.typ.Source, c.typ.Date)
}

// projectRT is a project with its live money figures.
type projectRT struct {
	row       store.ProjectRow
	spent     cost.NUSD // everything charged, in the ledger or not yet flushed: the sum of the four below
	tasks     cost.NUSD
	idle      cost.NUSD
	storage   cost.NUSD
	preempted cost.NUSD            // what attempts cut short by spot interruptions had cost (interrupt.go)
	onTier    map[string]cost.NUSD // storage per tier: adds up to storage
	lastSpent cost.NUSD            // as of the guardrail's last look
	bytes     map[string]int64
	recent    recentSpend // the last days of the ledger, for the forecast's trend
}

func (p *projectRT) budget() cost.Budget {
	b := cost.Budget{Amount: cost.NUSD(p.row.BudgetNUSD), Start: p.row.CreatedAt, Warn: p.row.Warn}
	if p.row.Ends != nil {
		b.Ends = *p.row.Ends
	}
	return b
}

// loadFleet reads the price catalog, the projects with what they spent, and
// the clusters, before machines and jobs are recovered.
func (s *Server) loadFleet(ctx context.Context, cfg Config) error {
	prices := cfg.Prices
	if prices == "" {
		prices = s.home.Prices()
	}
	var err error
	if s.catalog, err = cost.Load(prices); err != nil {
		return err
	}
	host := agent.Detect(ctx)
	s.hostRes = burst.Resources{CPUs: host.CPUs, MemBytes: host.MemBytes, GPUs: len(host.GPUs)}
	s.providers = provider.Registry{}
	for _, p := range []provider.Provider{
		&provider.Local{Host: s.hostRes},
		&provider.Slurm{Dir: filepath.Join(string(s.home), "pilots")},
		&provider.SlurmNodes{Host: s.hostRes},
		&provider.Joined{},
		&aws.Provider{Server: func() string { return s.homeID }, Joins: s.pilotJoins},
	} {
		s.providers[p.Name()] = p
	}
	ps, err := s.st.ListProjects(ctx)
	if err != nil {
		return fmt.Errorf("load projects: %w", err)
	}
	costs, err := s.st.ProjectCosts(ctx)
	if err != nil {
		return fmt.Errorf("load costs: %w", err)
	}
	if s.flushed, err = s.st.Flushed(ctx); err != nil {
		return fmt.Errorf("load the meter's last flush: %w", err)
	}
	bytes, err := s.st.Storage(ctx)
	if err != nil {
		return fmt.Errorf("load storage: %w", err)
	}
	recent, err := s.st.CostsSince(ctx, time.Now().UTC().AddDate(0, 0, -recentDays).Format("2006-01-02"))
	if err != nil {
		return fmt.Errorf("load recent costs: %w", err)
	}
	for _, row := range ps {
		p := &projectRT{row: *row, bytes: bytes[row.Name], recent: recentSpend{}}
		for kind, n := range costs[row.Name] {
			p.book(kind, cost.NUSD(n))
		}
		p.lastSpent = p.spent
		if p.bytes == nil {
			p.bytes = map[string]int64{}
		}
		s.projects[row.Name] = p
	}
	for _, c := range recent {
		if p := s.projects[c.Project]; p != nil {
			p.recent.add(c.Day, spendKey{c.Machine, c.Job}, cost.NUSD(c.NUSD))
		}
	}
	if s.projects["default"] == nil {
		p := &projectRT{row: store.ProjectRow{Project: burst.Project{Name: "default", Tags: []string{},
			OnExhausted: burst.OnExhaustedStop, CreatedAt: time.Now().UTC()}}, bytes: map[string]int64{}, recent: recentSpend{}}
		if err := s.st.Write(ctx, func(tx *store.Tx) error { return store.SaveProject(tx, &p.row) }); err != nil {
			return err
		}
		s.projects["default"] = p
	}
	return s.loadClusters(ctx)
}

// loadClusters puts the stored clusters in memory, and the built-in one.
// Their providers' Check is not asked again: it judged each cluster when it
// was created, and it may need what is down at this moment (slurmctld, the
// cloud's API, its credentials), which must not cost a cluster whose
// machines run: dropped, their agents would be refused and the machines
// left running and billing with nothing to stop them. A cluster that cannot
// be resolved at all (its type gone from the price file, its provider
// unknown to this build) is logged and left out.
func (s *Server) loadClusters(ctx context.Context) error {
	cs, err := s.st.ListClusters(ctx)
	if err != nil {
		return fmt.Errorf("load clusters: %w", err)
	}
	for _, def := range cs {
		if def.SlurmNodes {
			// Stored before elastic Slurm nodes were a provider of their own.
			def.Provider, def.SlurmNodes = provider.SlurmNodesName, false
		}
		c, err := s.resolveCluster(ctx, *def, false)
		if err != nil && def.Type != "" {
			if _, terr := s.catalog.Type(def.Type); terr != nil {
				// Kept: dropping it would orphan its machines (running,
				// billing, their agents refused). It starts none until
				// the type is back in the catalog.
				c, err = s.keepUnpriced(ctx, *def, terr)
			}
		}
		if err != nil {
			s.log.Error("cluster cannot be used", "cluster", def.Name, "err", err)
			continue
		}
		if c.unusable != "" {
			s.log.Error("cluster kept, but it starts no machine", "cluster", def.Name, "why", c.unusable)
		}
		s.clusters[def.Name] = c
	}
	s.clusters[localCluster] = s.builtinCluster()
	return nil
}

// keepUnpriced is stored cluster def whose type the price catalog no
// longer has (terr says so), built without the catalog: marked unusable,
// so that nothing new is started for it. One machine's size is taken from
// its machines as stored (the latest), so that what they hold of a shared
// host is still counted.
func (s *Server) keepUnpriced(ctx context.Context, def burst.Cluster, terr error) (*clusterRT, error) {
	prov, err := s.providers.Get(def.Provider)
	if err != nil {
		return nil, err
	}
	sch, err := scale.ParseSchedule(def.Off, def.On)
	if err != nil {
		return nil, err
	}
	typ := cost.Type{Name: def.Type}
	ms, err := s.st.ListMachines(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Cluster == def.Name && m.CPUs > 0 {
			typ.VCPUs, typ.MemBytes, typ.GPUs = m.CPUs, m.MemBytes, len(m.GPUs)
		}
	}
	return &clusterRT{def: def, typ: typ, sched: sch, prov: prov,
		unusable: fmt.Sprintf("its machine type %s is not in the price catalog any more (%v): put it back in the price file and restart, or `burst cluster delete %s` once its machines are stopped", def.Type, terr, def.Name)}, nil
}

// builtinCluster is this host: one machine, always on, priced per use.
func (s *Server) builtinCluster() *clusterRT {
	return &clusterRT{
		def:  burst.Cluster{Name: localCluster, Provider: provider.LocalName, Project: "default", Min: 1, Max: 1, BuiltIn: true},
		typ:  cost.Type{Name: "host", VCPUs: s.hostRes.CPUs, MemBytes: s.hostRes.MemBytes, GPUs: s.hostRes.GPUs},
		prov: s.providers[provider.LocalName],
	}
}

// resolveCluster checks a definition and resolves its type, schedule and
// provider; with check, its provider's Check judges it too (a creation,
// not a load). Its errors are for people.
func (s *Server) resolveCluster(ctx context.Context, def burst.Cluster, check bool) (*clusterRT, error) {
	prov, err := s.providers.Get(def.Provider)
	if err != nil {
		return nil, err
	}
	var typ cost.Type
	switch {
	case def.Type != "":
		if typ, err = s.catalog.Type(def.Type); err != nil {
			return nil, err
		}
	case !prov.Caps().Sized:
		return nil, fmt.Errorf("a cluster of the %s provider needs a machine type: give --type (burst types lists them)", prov.Name())
	default:
		// The provider places machines of the size asked for (a Slurm
		// allocation of --cpus and --mem).
		typ = cost.Type{VCPUs: max(def.MachineCPUs, 1), MemBytes: def.MachineMemBytes, GPUs: def.MachineGPUs}
		typ.Name = fmt.Sprintf("%d CPUs", typ.VCPUs)
		if prov.Caps().Joins {
			// Each machine announces its own size; the cluster's price
			// is that of one CPU, as the local rates count.
			typ.Name = "own size"
		}
		if typ.MemBytes > 0 {
			typ.Name += fmt.Sprintf(", %.4g GiB", float64(typ.MemBytes)/(1<<30))
		}
		if typ.GPUs > 0 {
			typ.Name += fmt.Sprintf(", %d GPUs", typ.GPUs)
		}
	}
	sch, err := scale.ParseSchedule(def.Off, def.On)
	if err != nil {
		return nil, err
	}
	if !check {
		return &clusterRT{def: def, typ: typ, sched: sch, prov: prov}, nil
	}
	if err := prov.Check(ctx, provider.Spec{Cluster: def.Name, Project: def.Project, Max: def.Max, Type: typ.Name, Res: typ.Resources(),
		Spot: def.Spot, Partition: def.Partition, TimeLimit: time.Duration(def.TimeLimitS) * time.Second, Options: def.Options}); err != nil {
		if def.Type == "" {
			return nil, fmt.Errorf("provider %s: %w", def.Provider, err)
		}
		return nil, fmt.Errorf("type %s on provider %s: %w", typ.Name, def.Provider, err)
	}
	return &clusterRT{def: def, typ: typ, sched: sch, prov: prov}, nil
}

// live reports whether a machine in state exists at its provider
// (scale.State.Live: the one definition).
func live(state string) bool { return scale.State(state).Live() }

// gateCluster serialises the creation and deletion of clusters until the
// returned func: the check that a name is free (or taken), the store write
// and the change in memory cannot all happen under s.mu, which no store
// write outside the group commit may hold. Without it two creates of one
// name could both pass the check, and a create racing a delete could leave
// memory and store disagreeing. Creates and deletes are rare: one gate
// serves every name.
func (s *Server) gateCluster(string) func() {
	s.clusterGate.Lock()
	return s.clusterGate.Unlock
}

// CreateCluster validates and records a cluster. Nothing is created when
// anything is wrong.
func (s *Server) CreateCluster(ctx context.Context, actor string, spec *burst.ClusterSpec) (*burst.Cluster, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	if !burst.ValidName(spec.Name) {
		return nil, badRequest("cluster name %.80q: use letters, digits, '-', '_' or '.' (at most 64; not . or ..)", spec.Name)
	}
	if err := spec.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	if p := auth.From(ctx); s.control.trustMembers[spec.Name] && !auth.SeesAll(p) {
		// The admin's --trust-members-on names a cluster, not a project
		// or a provider: an owner who made a cluster of that name (one
		// of the local provider, after deleting the joined one the
		// admin meant, or before the admin made it) would have their
		// members' tasks run as the server's user, the admin.
		return nil, &auth.Denied{Msg: fmt.Sprintf("403: cluster name %s is trusted with members' work (the server runs with --trust-members-on %s, "+
			"whose tasks may act as the admin): only an admin creates a cluster of that name; choose another name, or ask an admin", spec.Name, spec.Name)}
	}
	if spec.Provider == "" {
		spec.Provider = provider.LocalName
	}
	if spec.Project == "" {
		spec.Project = "default"
	}
	if p, err := s.providers.Get(spec.Provider); err == nil && p.Caps().Joins {
		// Its machines come when they join, each of its own size.
		switch {
		case spec.Type != "" || spec.MachineCPUs > 0 || spec.MachineMemBytes > 0 || spec.MachineGPUs > 0:
			return nil, badRequest("--type, --cpus, --mem, --gpus: machines of the %s provider announce their own size when they join; drop them", spec.Provider)
		case spec.Min > 0 || spec.Max > 0:
			return nil, badRequest("--min and --max: machines of the %s provider join by themselves (burst join-token create --cluster %s), burst starts and stops none; drop them", spec.Provider, spec.Name)
		case spec.IdleStopS > 0:
			return nil, badRequest("--idle-stop: burst does not stop machines of the %s provider for idleness (their hosts are not burst's to stop); drop it, and stop one by hand with `burst machine stop MACHINE`", spec.Provider)
		}
	} else if spec.Max == 0 && spec.Min == 0 {
		spec.Max = 1
	}
	if spec.Min > spec.Max {
		return nil, badRequest("--min %d is more than --max %d: give --max at least %d", spec.Min, spec.Max, spec.Min)
	}
	if spec.SlurmNodes {
		// --slurm-nodes is what --provider slurm-nodes was called first.
		if spec.Provider != provider.LocalName && spec.Provider != provider.SlurmNodesName {
			return nil, badRequest("--slurm-nodes means --provider slurm-nodes: give one of them, not --provider %s", spec.Provider)
		}
		spec.Provider, spec.SlurmNodes = provider.SlurmNodesName, false
	}
	def := burst.Cluster{Name: spec.Name, Provider: spec.Provider, Type: spec.Type, Project: spec.Project,
		Min: spec.Min, Max: spec.Max, IdleStopS: spec.IdleStopS, Spot: spec.Spot, Fallback: spec.Fallback, Off: spec.Off, On: spec.On,
		Partition: spec.Partition, TimeLimitS: spec.TimeLimitS, MachineCPUs: spec.MachineCPUs,
		MachineMemBytes: spec.MachineMemBytes, MachineGPUs: spec.MachineGPUs, Options: spec.Options,
		CreatedAt: time.Now().UTC()}
	c, err := s.resolveCluster(ctx, def, true)
	if err != nil {
		return nil, &errBadRequest{Msg: err.Error()}
	}
	if c.caps().ShipsBinary {
		// Refused at creation only: a stored cluster stays usable after
		// a restart on another build, its machines still its own.
		if err := refuseDynamicSelf(); err != nil {
			return nil, &errBadRequest{Msg: err.Error()}
		}
	}
	s.pricesAtCreate(ctx, c) // no one sees c yet: not under s.mu
	c.def.Off, c.def.On = c.sched.Spec()
	defer s.gateCluster(spec.Name)()
	s.mu.Lock()
	if err := s.minFits(c); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if s.clusters[spec.Name] != nil {
		s.mu.Unlock()
		return nil, badRequest("cluster %s exists already: pick another name, or delete it first (burst cluster delete %s)", spec.Name, spec.Name)
	}
	if s.projects[spec.Project] == nil {
		s.mu.Unlock()
		return nil, s.noProject(spec.Project)
	}
	s.mu.Unlock()
	ev := s.newEvent(actor, "cluster.create", spec.Project, spec.Name, fmt.Sprintf("cluster %s: %s on %s, %d–%d machines", spec.Name, c.typ.Name, spec.Provider, spec.Min, spec.Max))
	if err := s.st.Write(ctx, func(tx *store.Tx) error {
		if err := store.SaveCluster(tx, &c.def); err != nil {
			return err
		}
		return store.AppendEvent(tx, &ev)
	}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clusters[spec.Name] = c
	s.startNative(c)
	out := s.clusterView(c)
	s.mu.Unlock()
	s.signalEvents()
	s.kickScale()
	return &out, nil
}

// DeleteCluster stops a cluster's machines and forgets it; its jobs that
// wait are refused nothing, they wait for a cluster of that name.
func (s *Server) DeleteCluster(ctx context.Context, actor, name string) error {
	if err := s.refuseWrite(); err != nil {
		return err // a full disk holds the store's writes: say so now, not when there is room
	}
	defer s.gateCluster(name)()
	s.mu.Lock()
	c := s.clusters[name]
	if c == nil {
		s.mu.Unlock()
		return s.noCluster(name)
	}
	if c.def.BuiltIn {
		s.mu.Unlock()
		return badRequest("cluster %s is this host, built in: it cannot be deleted", name)
	}
	s.mu.Unlock()
	// Its joined machines' credentials die with it, before anything else:
	// their agents must never register again, here or into a later
	// cluster of the same name.
	revoked, err := s.revokeClusterCredentials(ctx, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.clusters[name] != c {
		s.mu.Unlock()
		return s.noCluster(name)
	}
	var b batch
	for _, m := range s.sortedMachines() {
		if m.cluster == c && revoked[m.row.ID] && live(m.row.State) && c.caps().Joins {
			// A machine that joined by itself: not burst's to stop.
			// One its provider started (an instance, a pilot) whose
			// agent joined with a credential of its own is stopped
			// for good below, as any other, not read "revoked".
			s.machineLost(m, "its cluster "+name+" was deleted, and its machine credential with it", &b)
			continue
		}
		if m.cluster == c && scale.State(m.row.State).Serving() {
			s.stopMachine(m, "its cluster is deleted", actor, true, &b)
		}
		if m.cluster == c && m.row.State == burst.MachineStopped {
			// It can never start again (startRefusal): listed as stopped,
			// it read as one that could, and a project's budget report
			// counted it among the machines waiting to start again.
			m.row.State = burst.MachineTerminated
			b.machine(m)
			b.event(s.newEvent(actor, "machine.terminate", m.row.Project, m.row.ID, m.row.ID+": its cluster is deleted"))
		}
	}
	delete(s.clusters, name)
	c.deleted = true
	if c.stopNative != nil {
		c.stopNative()
	}
	b.event(s.newEvent(actor, "cluster.delete", c.def.Project, name, "cluster "+name+" deleted"))
	s.apply(&b)
	return s.st.Write(ctx, func(tx *store.Tx) error { return store.DeleteCluster(tx, name) })
}

func (s *Server) noCluster(name string) error { return s.noClusterLike(name, "--type TYPE") }

// noClusterLike says there is no cluster name, naming those there are and
// how to create one with the options that fit (how).
func (s *Server) noClusterLike(name, how string) error {
	s.mu.Lock()
	names := s.clusterNames()
	s.mu.Unlock()
	return &errNotFoundMsg{Msg: fmt.Sprintf("no cluster %q: the clusters are %s (create one with `burst cluster create NAME %s`)", name, strings.Join(names, ", "), how)}
}

// clusterView is a cluster with its live figures. Called with s.mu held.
func (s *Server) clusterView(c *clusterRT) burst.Cluster {
	out := c.def
	if out.Type == "" && !c.def.BuiltIn {
		out.Type = c.typ.Name // the size asked for
	}
	r := c.res()
	out.CPUs, out.MemBytes, out.GPUs = r.CPUs, r.MemBytes, r.GPUs
	if c.def.BuiltIn {
		if m := s.machines[localMachine]; m != nil {
			out.PriceUSDPerHour, out.PriceBasis = m.row.PriceUSDPerHour, m.row.PriceBasis
		}
	} else {
		out.PriceUSDPerHour, out.PriceBasis = s.clusterPrice(c)
	}
	for _, m := range s.machines {
		if m.cluster == c && live(m.state()) {
			out.Live++
		}
	}
	for _, j := range s.jobs {
		if s.jobCluster(j) == c.def.Name {
			out.Queued += j.pending()
		}
	}
	out.Schedule = c.sched.String()
	out.ScheduleOn = c.sched.On(time.Now())
	if !c.def.BuiltIn && !c.caps().ScaledOutside && out.Live < c.def.Min {
		out.BelowMin = s.belowMin(c)
	}
	out.Unusable = c.unusable
	return out
}

// belowMin says why cluster c runs fewer machines than its --min: what
// the autoscaler sees of it (scale.Waiting). Called with s.mu held.
func (s *Server) belowMin(c *clusterRT) string {
	cl, ms := s.scaleView(time.Now())
	for _, sc := range cl {
		if sc.Name != c.def.Name {
			continue
		}
		held := 0
		for _, m := range ms {
			if m.Cluster == sc.Name && m.Manual && (m.State == scale.Stopped || m.State == scale.Stopping) {
				held++
			}
		}
		if held > 0 {
			return fmt.Sprintf("%d of its machines were stopped by a person and count towards --min %d until started again (burst machine start)", held, c.def.Min)
		}
		return scale.Waiting(sc, ms)
	}
	return ""
}

// Clusters lists the clusters with their live figures.
func (s *Server) Clusters() []burst.Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := s.clusterNames()
	out := make([]burst.Cluster, 0, len(names))
	for _, n := range names {
		out = append(out, s.clusterView(s.clusters[n]))
	}
	return out
}

// jobCluster is the cluster a job runs on: the one it names, else this host.
func (s *Server) jobCluster(j *jobRT) string {
	spec := j.row.Spec
	switch {
	case spec.Native:
		return nativeCluster(spec.Cluster)
	case spec.Cluster != "":
		return spec.Cluster
	}
	return localCluster
}

func (s *Server) sortedMachines() []*machineRT {
	out := make([]*machineRT, 0, len(s.machines))
	for _, m := range s.machines {
		out = append(out, m)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].row.ID < out[k].row.ID })
	return out
}

// newEvent stamps an audit event.
func (s *Server) newEvent(actor, kind, project, target, msg string) burst.Event {
	if actor == "" {
		actor = "server"
	}
	return burst.Event{At: time.Now().UTC(), Actor: actor, Kind: kind, Project: project, Target: target, Message: msg, Result: "ok"}
}

func (s *Server) signalEvents() {
	s.mu.Lock()
	close(s.events)
	s.events = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) kickScale() {
	select {
	case s.scaleKick <- struct{}{}:
	default:
	}
}

// connect is how agents this server starts reach it.
func (s *Server) connect() provider.Connect {
	exe, _ := os.Executable()
	return provider.Connect{Server: "unix://" + s.home.Socket(), TokenFile: s.home.Token(), Exe: exe,
		Home: string(s.home), LogDir: s.home.Agents(), HomeID: s.homeID}
}

// connectFor is how agents of cluster c reach this server: the unix socket
// on this host, TCP for providers whose machines may be elsewhere. It reads
// only what does not change while the server runs; call it without s.mu
// (connect looks up the executable).
func (s *Server) connectFor(c *clusterRT) provider.Connect {
	conn := s.connect()
	if !c.caps().SharesHost {
		conn.Server = s.agentAddr() // pinned to the server's CA when it serves TLS
		if s.tls != nil {
			conn.CAFile = s.tls.caFile
		}
	}
	return conn
}

// nextMachineID names a new machine of cluster c: c-1, c-2, ...
func (s *Server) nextMachineID(c *clusterRT) string {
	n := 0
	prefix := c.def.Name + "-"
	for id := range s.machines {
		if k, err := strconv.Atoi(strings.TrimPrefix(id, prefix)); err == nil && strings.HasPrefix(id, prefix) && k > n {
			n = k
		}
	}
	return prefix + strconv.Itoa(n+1)
}

// StartMachine starts a stopped machine again (id set) or a new one of a
// cluster. The forecast guard refuses it when its expected cost (an hour,
// or its idle-stop if shorter) would exceed what the project has left.
func (s *Server) StartMachine(ctx context.Context, actor, id string) (*burst.Machine, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	s.mu.Lock()
	m := s.machines[id]
	switch {
	case m == nil:
		s.mu.Unlock()
		return nil, s.noMachine(id)
	case startRefusal(m) != nil:
		s.mu.Unlock()
		return nil, startRefusal(m)
	case live(m.row.State):
		out := m.row.Machine
		s.mu.Unlock()
		return &out, nil
	case m.cluster.caps().Joins:
		// burst does not start it: its agent comes back by itself, which
		// register refuses of a stopped joined machine until now.
		m.mayReturn = true
		out := joinedView(m, s.machineView(m))
		s.mu.Unlock()
		return &out, nil
	}
	c := m.cluster
	s.mu.Unlock()
	return s.startMachine(c, id, actor, "started by "+actor)
}

// joinedView is out, a view of m, naming its provider when m joined by
// itself: what `burst machine stop` and `start` say depends on it.
// Called with s.mu held.
func joinedView(m *machineRT, out burst.Machine) burst.Machine {
	if out.Provider == "" && m.cluster != nil && m.cluster.caps().Joins {
		out.Provider = m.cluster.def.Provider
	}
	return out
}

// ofDeletedCluster says whether m's cluster was deleted: while this server
// ran, or before it started (recover found no cluster of its name). A
// machine burst started has a provider; an agent that came by itself has
// none. Called with s.mu held.
func ofDeletedCluster(m *machineRT) bool {
	return m.cluster != nil && m.cluster.deleted || m.cluster == nil && m.row.Provider != ""
}

// startRefusal is why the API refuses to start machine m, or nil: the
// rule StartMachine applies and the dashboard's Start button follows.
// Called with s.mu held.
func startRefusal(m *machineRT) error {
	switch {
	case ofDeletedCluster(m):
		return badRequest("machine %s cannot start again: its cluster %s was deleted (to start a machine of a cluster made since under that name: burst machine start --cluster %[2]s)", m.row.ID, m.row.Cluster)
	case m.cluster != nil && m.cluster.unusable != "":
		return badRequest("cluster %s starts no machine: %s", m.row.Cluster, m.cluster.unusable)
	case m.cluster == nil || m.cluster.def.BuiltIn:
		return badRequest("machine %s is not started by burst (its agent joined by itself, or it is this host): start its agent instead", m.row.ID)
	case m.cluster.caps().Joins && m.row.State == burst.MachineTerminated:
		return badRequest("machine %s left for good: join it anew (burst join-token create --cluster %s, then the command it prints on it)", m.row.ID, m.row.Cluster)
	case m.row.State == burst.MachineTerminated:
		return badRequest("machine %s is terminated and cannot start again: start a new one with `burst machine start --cluster %s`", m.row.ID, m.row.Cluster)
	}
	return nil
}

// stopRefusal is why the API refuses to stop machine m, or nil: the rule
// StopMachine applies and the dashboard's Stop button follows. Called
// with s.mu held.
func stopRefusal(m *machineRT) error {
	switch {
	case m.cluster != nil && m.cluster.def.BuiltIn:
		return badRequest("machine %s is this host, the built-in default: it cannot be stopped (cancel its jobs instead)", m.row.ID)
	case m.starting:
		return badRequest("machine %s is being started by its provider: stop it in a moment, once `burst machine list` shows it pending", m.row.ID)
	}
	return nil
}

// machineActions is what the API would do for m if asked now (stopping a
// machine that does not run, or starting one that does, changes nothing):
// the dashboard offers these and no other. Called with s.mu held.
func machineActions(m *machineRT) []string {
	var out []string
	if st := m.state(); live(st) && stopRefusal(m) == nil {
		out = append(out, burst.ActionStop)
	} else if !live(st) && startRefusal(m) == nil {
		out = append(out, burst.ActionStart)
	}
	return out
}

// StartInCluster starts a new machine in a cluster (or a stopped one again).
// name chooses the machine's name, for clusters of elastic Slurm nodes: the
// node Slurm resumes; starting a node that runs already does nothing.
func (s *Server) StartInCluster(ctx context.Context, actor, cluster, name string) (*burst.Machine, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	s.mu.Lock()
	c := s.clusters[cluster]
	s.mu.Unlock()
	if c == nil && name != "" { // a Slurm node to resume (burst slurm resume)
		return nil, s.noClusterLike(cluster, "--provider slurm-nodes --type TYPE --max N")
	}
	if c == nil {
		return nil, s.noCluster(cluster)
	}
	if c.def.BuiltIn {
		return nil, badRequest("cluster %s is this host: it has one machine, always on", cluster)
	}
	if c.caps().Joins {
		// The provider says how its machines join.
		_, err := c.prov.Start(ctx, provider.Spec{Cluster: cluster}, provider.Connect{})
		return nil, &errBadRequest{Msg: err.Error()}
	}
	if name != "" {
		if !c.caps().ScaledOutside {
			return nil, badRequest("machines of cluster %s are named by burst; a name is for clusters whose machines Slurm starts (--provider slurm-nodes)", cluster)
		}
		if !burst.ValidName(name) {
			return nil, badRequest("machine name %q: use letters, digits, '-', '_' or '.'", name)
		}
		s.mu.Lock()
		m := s.machines[name]
		// A machine of a deleted cluster gives its name up: Slurm names
		// the node, and a cluster made again for the same nodes must be
		// able to start it (it used to be refused as another cluster's).
		if m != nil && m.cluster != c && (!ofDeletedCluster(m) || live(m.state())) {
			s.mu.Unlock()
			return nil, badRequest("machine %s belongs to cluster %s", name, m.row.Cluster)
		}
		s.mu.Unlock()
	}
	return s.startMachine(c, name, actor, "started by "+actor)
}

// startMachine starts machine id of c (a new one if id is ""), through its
// provider. The machine is pending until its agent registers.
func (s *Server) startMachine(c *clusterRT, id, actor, why string) (*burst.Machine, error) {
	return s.startMachineAs(c, id, actor, why, c.def.Spot)
}

// startMachineAs is startMachine on spot or not: an interrupted spot
// machine's replacement may start on demand (interrupt.go).
func (s *Server) startMachineAs(c *clusterRT, id, actor, why string, spot bool) (*burst.Machine, error) {
	if c.unusable != "" { // set once, at load: read without the lock
		return nil, badRequest("cluster %s starts no machine: %s", c.def.Name, c.unusable)
	}
	if now := time.Now(); !system(actor) && !c.caps().ScaledOutside && !c.sched.On(now) { // sched: set at create, read-only
		// The autoscaler would stop it again at its next tick. (Slurm's
		// elastic nodes are started by Slurm: not refused here.)
		return nil, badRequest("cluster %s is switched off by its schedule (%s): a machine started now would stop at once; start it once the schedule switches the cluster on", c.def.Name, c.sched.Status(now))
	}
	s.mu.Lock()
	p := s.projects[c.def.Project]
	price, basis := s.clusterPriceAs(c, spot)
	if err := s.forecastMachine(p, c, price); err != nil {
		var b batch
		if actor == "autoscaler" {
			err = fmt.Errorf("%w (the autoscaler tries again in %s, or when the budget changes)", err, c.backoff.Failed(time.Now(), scale.StartRefused))
		}
		ev := s.newEvent(actor, "machine.start", c.def.Project, c.def.Name, err.Error())
		ev.Result = "refused"
		b.event(ev)
		s.apply(&b)
		return nil, &errBadRequest{Msg: err.Error()}
	}
	if s.clusters[c.def.Name] != c {
		s.mu.Unlock()
		return nil, s.noCluster(c.def.Name)
	}
	if m := s.machines[id]; id != "" && m != nil && (live(m.state()) || m.row.State == burst.MachineTerminated && !ofDeletedCluster(m)) {
		out := s.machineView(m) // started meanwhile, being started (or terminated): nothing to do
		s.mu.Unlock()
		if out.State == burst.MachineTerminated {
			return nil, badRequest("machine %s is terminated and cannot start again", id)
		}
		return &out, nil
	}
	n := 0
	for _, m := range s.machines {
		if m.cluster == c && live(m.state()) && !interrupted(m) { // an interrupted one goes: its replacement may come
			n++
		}
	}
	if n >= c.def.Max {
		s.mu.Unlock()
		return nil, badRequest("cluster %s runs %s, its --max: raise it, or stop one first", c.def.Name, burst.Plural(n, "machine"))
	}
	if id == "" && !system(actor) {
		// A person's start: a stopped machine starts again before a new one
		// is made. The autoscaler names the one it restarts (scale.Plan: never
		// one a person stopped).
		for _, m := range s.sortedMachines() {
			if st := m.state(); m.cluster == c && (st == burst.MachineStopped || st == burst.MachineLost) {
				id = m.row.ID
				break
			}
		}
	}
	if id == "" {
		id = s.nextMachineID(c)
	}
	m := s.machines[id]
	now := time.Now().UTC()
	fresh := m == nil
	if fresh {
		m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: id}})
		s.machines[id] = m
	}
	r := c.res()
	m.setCluster(c)
	m.row.Cluster, m.row.Provider, m.row.Type, m.row.Project, m.row.Spot = c.def.Name, c.def.Provider, c.typ.Name, c.def.Project, spot
	m.row.Interrupted = nil
	m.row.CPUs, m.row.MemBytes, m.row.GPUs = r.CPUs, r.MemBytes, nil
	m.row.PriceUSDPerHour, m.row.PriceBasis, m.row.PerUse = price, basis, false
	m.row.StoppedAt, m.row.StartedAt = nil, nil
	m.gpuShare = s.catalog.GPUShare(r.CPUs, r.GPUs)
	m.startedBy, m.drain, m.meterAt, m.manual, m.stopWhy = now, false, time.Time{}, actor != "autoscaler", ""
	m.row.StoppedBy, m.drainBy = "", "" // started again: the autoscaler may stop and start it as any other
	var b batch
	handleErr := error(nil)
	// Stopped, and starting, while the provider starts it. The server's
	// lock is not held meanwhile (an sbatch may wait seconds on a slow or
	// dead slurmctld, a fork takes a while, and everything else waits for
	// that lock), so the machine counts towards --max and towards the host's
	// slices (sliceHolders), cannot be started twice, stopped or restarted
	// as a stopped one, and its agent waits to register.
	caps := c.caps()
	var full string
	if caps.SharesHost {
		full = s.hostFull(c) // before it counts itself
	}
	m.row.State = burst.MachineStopped
	m.starting = true
	spec := provider.Spec{ID: id, Cluster: c.def.Name, Project: c.def.Project, Max: c.def.Max, Type: c.typ.Name, Res: r,
		Spot: spot, Partition: c.def.Partition, TimeLimit: time.Duration(c.def.TimeLimitS) * time.Second,
		Options: c.def.Options}
	prov, ctx := c.prov, s.ctx
	if ctx == nil {
		ctx = context.Background() // not serving yet
	}
	s.mu.Unlock()
	conn := s.connectFor(c) // reads the executable's path: not under s.mu
	var h provider.Handle
	var err error
	tokenID := int64(0)
	if full == "" && caps.Agent && !caps.SharesHost && s.pilotJoins() {
		// Its agent joins with a token for this machine alone, lasting as
		// long as the machine may stay pending; the home's token stays home.
		conn.TokenFile = ""
		conn.JoinURL, tokenID, err = s.pilotToken(ctx, id, c.def.Name, cmp.Or(caps.Patient, pendingLimit))
	}
	switch {
	case full != "":
		err = errors.New(full)
	case err == nil:
		h, err = prov.Start(ctx, spec, conn)
		if err != nil && tokenID != 0 {
			s.st.Write(ctx, func(tx *store.Tx) error { return tx.RevokeJoinToken(tokenID, time.Now().UTC()) })
		}
	}
	failure := scale.StartRefused
	if provider.IsThrottled(err) { // the provider's error is read before the lock: its methods may be any code
		failure = scale.StartThrottled
	}
	s.mu.Lock()
	m.starting = false
	now = time.Now().UTC()
	if err == nil && s.clusters[c.def.Name] != c {
		s.background(func(ctx context.Context) { prov.Stop(ctx, h) }) // its cluster was deleted meanwhile
		err = errors.New("its cluster was deleted meanwhile")
	}
	if err != nil {
		handleErr = err
		stopped := now
		m.row.StoppedAt = &stopped
		if fresh {
			delete(s.machines, id) // it never existed; the event keeps the record
		} else {
			b.machine(m)
		}
		d := c.backoff.Failed(now, failure)
		ev := s.newEvent(actor, "machine.start", c.def.Project, id, fmt.Sprintf("cannot start %s: %v (next try in %s)", id, err, d))
		ev.Result = "failed"
		b.event(ev)
	} else {
		c.backoff.Started()
		m.row.State = burst.MachinePending
		if !caps.Agent {
			// No agent will register: it runs from now, and the meter with it.
			m.row.State, m.row.StartedAt, m.row.Host = burst.MachineRunning, &now, s.host
			m.meterAt, m.flushedAt, m.idleSince = now, now, now
		}
		m.startedBy = now // its agent's time to register runs from here, not from before the provider's start
		m.handle = h
		m.row.Handle = h.String()
		m.row.AgentPID, m.row.AgentStart = h.PID, h.PIDStart
		b.machine(m)
		b.event(s.newEvent(actor, "machine.start", c.def.Project, id, fmt.Sprintf("%s (%s, $%.4g/h): %s", id, c.typ.Name, price, why)))
		if p := s.projects[c.def.Project]; p != nil && p.row.Exhausted {
			// The budget ran out while the provider started it: the
			// guardrail, which stopped the project's machines then,
			// could not see this one.
			s.stopMachine(m, "budget of project "+p.row.Name+" spent while it started", "guardrail", false, &b)
		}
	}
	out := m.row.Machine
	s.apply(&b)
	if handleErr != nil {
		return nil, &errBadRequest{Msg: "cannot start a machine in cluster " + c.def.Name + ": " + handleErr.Error()}
	}
	return &out, nil
}

func (s *Server) noMachine(id string) error {
	return &errNotFoundMsg{Msg: fmt.Sprintf("no machine %q: see `burst machine list` for the machines that exist", id)}
}

// StopMachine stops a machine: at once, requeuing the tasks it runs (they
// run again elsewhere or when it is back; their output so far is kept), or
// with drain once its tasks end (it takes no new ones meanwhile).
// terminate also forgets it: it cannot start again.
func (s *Server) StopMachine(ctx context.Context, actor, id string, drain, terminate bool) (*burst.Machine, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	s.mu.Lock()
	m := s.machines[id]
	if m == nil {
		s.mu.Unlock()
		return nil, s.noMachine(id)
	}
	if err := stopRefusal(m); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	var b batch
	held := -1
	switch {
	case drain && len(m.tasks) > 0 && live(m.row.State):
		m.drain, m.drainBy = true, actor
		m.manual = true // once drained it stays stopped, as a person's stop
		b.event(s.newEvent(actor, "machine.drain", m.row.Project, id, fmt.Sprintf("%s drains: it takes no new task and stops when its %d tasks end", id, len(m.tasks))))
	case live(m.row.State):
		m.manual = true // the autoscaler does not undo a person's stop (scale.Plan)
		held = len(m.tasks)
		done := map[bool]string{false: "stopped", true: "terminated"}[terminate]
		s.stopMachine(m, done+" by "+actor, actor, terminate, &b)
	case terminate && m.row.State != burst.MachineTerminated:
		m.row.State = burst.MachineTerminated
		b.machine(m)
		b.event(s.newEvent(actor, "machine.terminate", m.row.Project, id, id+" terminated"))
	}
	out := joinedView(m, s.machineView(m))
	if held >= 0 {
		out.Tasks = held // what it ran when stopped: they are requeued
	}
	s.apply(&b)
	return &out, nil
}

// stopMachine takes m out of service now: its tasks are requeued, its
// provider stops it (asynchronously), and the meter charges it until it is
// gone. Called with s.mu held.
func (s *Server) stopMachine(m *machineRT, why, actor string, terminate bool, b *batch) {
	now := time.Now().UTC()
	// Who stopped it is saved with the stop (the same group commit), so
	// that a restarted server leaves it stopped too (recover).
	switch {
	case !system(actor):
		m.row.StoppedBy = actor
	case m.drain:
		m.row.StoppedBy = m.drainBy // the end of a drain a person asked for
	default:
		m.manual = false // burst's own stop: the autoscaler may start it again
		m.row.StoppedBy = ""
	}
	s.accrue(m, now)
	// Tasks it never started go back in line now; those it runs are
	// requeued once the machine is gone (machineGone), so that no second
	// attempt starts while the first is still being stopped.
	for _, t := range m.sortedTasks() {
		t.preempt = why
		if !t.delivered && s.dropFromOutbox(t) {
			s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: why}, now, b)
		}
	}
	m.stopWhy = why
	m.registered = false
	m.drain = false
	m.row.State = burst.MachineStopping
	m.poke()
	kind := "machine.stop"
	if terminate {
		kind = "machine.terminate"
	}
	b.machine(m)
	b.event(s.newEvent(actor, kind, m.row.Project, m.row.ID, m.row.ID+": "+why))
	h, prov := m.handle, s.machineProvider(m)
	// The provider is asked once the stop is durable: a server killed in
	// between would otherwise find the machine gone with nobody recorded as
	// having stopped it, and start it again.
	b.durable = append(b.durable, func() {
		s.background(func(ctx context.Context) {
			var err error
			if prov != nil {
				err = prov.Stop(ctx, h)
			}
			if ctx.Err() != nil {
				return // the server stops: the next one finishes the stop (recover)
			}
			var failed string // the provider's words, read before the lock: an error's text may be any code
			if err != nil {
				failed = err.Error()
			}
			s.mu.Lock()
			var b batch
			s.machineGone(m, terminate, time.Now().UTC(), &b)
			if err != nil {
				ev := s.newEvent(actor, kind, m.row.Project, m.row.ID, "provider could not stop "+m.row.ID+": "+failed)
				ev.Result = "failed"
				b.event(ev)
			}
			s.apply(&b)
			s.kickScale()
		})
	})
}

// background runs f in a goroutine the server owns: its ctx ends when the
// server stops, and the server waits for it before closing the store. Once
// the server is closing, f is not run (the next server finishes what it
// would have done: recover).
func (s *Server) background(f func(ctx context.Context)) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closing.Load() {
		return
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background() // not serving yet
	}
	s.loops.Go(func() { f(ctx) })
}

// machineGone records that m no longer runs: the meter stops. Called with
// s.mu held.
func (s *Server) machineGone(m *machineRT, terminate bool, now time.Time, b *batch) {
	s.accrue(m, now)
	why := m.stopWhy
	if why == "" {
		why = m.row.ID + " stopped"
	}
	s.requeueMachineTasks(m, why, now, b)
	if m.row.State == burst.MachineStopping || m.row.State == burst.MachinePending || m.row.State == burst.MachineRunning {
		m.row.State = burst.MachineStopped
	}
	if terminate || ofDeletedCluster(m) {
		// A stop that ends after its cluster was deleted ends for good,
		// as the delete's own stops do.
		m.row.State = burst.MachineTerminated
	}
	m.row.StoppedAt = &now
	m.registered = false
	b.machine(m)
	b.event(s.newEvent("server", "machine."+m.row.State, m.row.Project, m.row.ID, m.row.ID+" is "+m.row.State))
}

// requeueMachineTasks ends every task of m as stopped by its machine: they
// go back in line. Called with s.mu held.
func (s *Server) requeueMachineTasks(m *machineRT, why string, now time.Time, b *batch) {
	for _, t := range m.sortedTasks() {
		t.preempt = why
		s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: why}, now, b)
	}
	m.dropNews()
}

func (m *machineRT) sortedTasks() []*taskRT {
	out := make([]*taskRT, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, k int) bool {
		if out[i].row.JobID != out[k].row.JobID {
			return out[i].row.JobID < out[k].row.JobID
		}
		return out[i].row.Index < out[k].row.Index
	})
	return out
}

func (s *Server) machineProvider(m *machineRT) provider.Provider {
	if p, err := s.providers.Get(m.row.Provider); err == nil {
		return p
	}
	return nil
}

// scaleLoop runs the autoscaler every second and whenever work arrives.
func (s *Server) scaleLoop(ctx context.Context) {
	every(ctx, time.Second, false, s.scaleKick, func() { s.scaleOnce(time.Now()) })
}

// scaleView is the autoscaler's snapshot of the clusters it scales and
// their machines. Called with s.mu held.
func (s *Server) scaleView(now time.Time) (cl []scale.Cluster, ms []scale.Machine) {
	for _, name := range s.clusterNames() {
		c := s.clusters[name]
		if c.def.BuiltIn || c.caps().ScaledOutside {
			continue // someone else (Slurm) starts and stops them
		}
		sc := scale.Cluster{Name: name, Min: c.def.Min, Max: c.def.Max, IdleStop: time.Duration(c.def.IdleStopS) * time.Second,
			Capacity: c.res(), On: c.sched.On(now), Why: c.sched.Status(now)}
		if p := s.projects[c.def.Project]; p != nil && p.row.Exhausted {
			sc.Blocked, sc.StopBlocked = "budget of project "+p.row.Name+" exhausted", true
		} else if c.unusable != "" {
			sc.Blocked = c.unusable
		} else if now.Before(c.backoff.RetryAt) {
			sc.Blocked = c.backoff.Why()
		}
		if c.caps().SharesHost {
			sc.NoRoom = s.hostFull(c)
		}
		if sc.NoRoom == "" && s.short != "" {
			// No task starts anywhere while the logs' filesystem is short
			// (disk.go): a new machine would wait, billed, for work.
			sc.NoRoom = s.short
		}
		sc.Yield = s.nativeWaiting(c)
		cl = append(cl, sc)
	}
	for _, m := range s.sortedMachines() {
		if m.cluster == nil || m.cluster.def.BuiltIn || m.cluster.caps().ScaledOutside {
			continue
		}
		sm := scale.Machine{ID: m.row.ID, Cluster: m.row.Cluster, State: scale.State(m.state()),
			Busy: len(m.tasks) > 0 || m.drain, IdleSince: m.idleSince, Manual: m.manual}
		if sm.State == scale.Pending {
			sm.PendingSince = m.startedBy
		}
		if m.registered && m.row.State == burst.MachineRunning && !m.drain {
			u, c := m.used(), m.row.Capacity()
			sm.Free = burst.Resources{CPUs: c.CPUs - u.CPUs, MemBytes: c.MemBytes - u.MemBytes, GPUs: c.GPUs - u.GPUs}
		}
		ms = append(ms, sm)
	}
	return cl, ms
}

// scaleOnce asks the pure autoscaler what to start and stop, and does it.
func (s *Server) scaleOnce(now time.Time) {
	s.mu.Lock()
	var drained batch
	for _, m := range s.sortedMachines() {
		if m.drain && len(m.tasks) == 0 && live(m.row.State) && m.row.State != burst.MachineStopping {
			s.stopMachine(m, "drained: its last task ended", "autoscaler", false, &drained)
		}
	}
	s.endInterrupted(now, &drained)
	s.apply(&drained)
	s.mu.Lock()
	cl, ms := s.scaleView(now)
	dem := s.demand()
	for i := range cl {
		if c := s.clusters[cl[i].Name]; c != nil {
			cl[i].KeepPending = c.recent.Seen(now, scale.Need(cl[i], ms, dem))
		}
	}
	// scale.Plan nets the demand against what machines up now can take
	// (the scheduler places it on its next round) and those starting.
	actions := scale.Plan(now, cl, ms, dem)
	var b batch
	var starts []scale.Action
	for _, a := range actions {
		if a.Start {
			starts = append(starts, a)
			continue
		}
		if m := s.machines[a.Machine]; m != nil && live(m.row.State) && m.row.State != burst.MachineStopping {
			s.stopMachine(m, a.Reason, "autoscaler", false, &b)
		}
	}
	s.apply(&b)
	for _, a := range starts {
		s.mu.Lock()
		c := s.clusters[a.Cluster]
		var r cost.Replacement
		replacing := false
		if c != nil {
			r, replacing = s.replacement(c, now)
		}
		s.mu.Unlock()
		if c == nil {
			continue
		}
		why, spot := a.Reason, c.def.Spot
		if replacing {
			why, spot = r.Why+" ("+a.Reason+")", c.def.Spot && !r.OnDemand
		}
		if _, err := s.startMachineAs(c, a.Machine, "autoscaler", why, spot); err != nil {
			s.log.Warn("autoscaler could not start a machine", "cluster", a.Cluster, "err", err)
			break
		}
	}
	s.metrics.AutoscalerRound() // its decisions are made and acted on
}

// systemActors are the names burst itself acts under in the audit trail;
// no user may take one (reservedUser).
var systemActors = []string{"autoscaler", "guardrail", "server", "lifecycle"}

// system reports whether actor is burst itself, not a person.
func system(actor string) bool { return slices.Contains(systemActors, actor) }

func (s *Server) clusterNames() []string { return slices.Sorted(maps.Keys(s.clusters)) }

// held reports whether a job's project has spent its budget: its tasks wait.
func (s *Server) held(j *jobRT) bool {
	p := s.projects[j.row.Project]
	return p != nil && p.row.Exhausted
}

// refuseDynamicSelf is dist.RefuseDynamic of this server's own binary, the
// one GET /v1/dist/burst serves.
func refuseDynamicSelf() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this server's burst binary, which the cluster's machines run: %w", err)
	}
	return dist.RefuseDynamic(exe)
}
