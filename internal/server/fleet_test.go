package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/scale"
	"github.com/burst-sh/burst/internal/store"
)

// fleetServer is a server with a real store and the local provider, serving
// nothing: enough for cluster create and delete.
func fleetServer(t *testing.T) *Server {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "burst.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := cost.Load("")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{st: st, catalog: cat, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{},
		events: make(chan struct{}), kick: make(chan struct{}, 1), scaleKick: make(chan struct{}, 1),
		hostRes: burst.Resources{CPUs: 64, MemBytes: 256 << 30}}
	s.control = newControl("boot", "host", t.TempDir(), t.TempDir(), s)
	s.providers = provider.Registry{provider.LocalName: &provider.Local{Host: s.hostRes}}
	j := &provider.Joined{}
	s.providers[j.Name()] = j
	s.projects["default"] = &projectRT{row: store.ProjectRow{Project: burst.Project{Name: "default"}}, bytes: map[string]int64{}, recent: recentSpend{}}
	return s
}

func storedClusters(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	cs, err := s.st.ListClusters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range cs {
		out[c.Name] = true
	}
	return out
}

// Two creates of one name at once: one wins, the other is told the name is
// taken. The check and the insert used to be split by the store write, so
// both passed the check and both said "created".
func TestCreateClusterConcurrentSameName(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	for round := range 20 {
		name := "c" + string(rune('a'+round))
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, taken := 0, 0
		for range 8 {
			wg.Go(func() {
				_, err := s.CreateCluster(ctx, "ann", &burst.ClusterSpec{Name: name, Type: "t3.micro", Max: 1})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case strings.Contains(err.Error(), "exists already"):
					taken++
				default:
					t.Errorf("create %s: %v", name, err)
				}
			})
		}
		wg.Wait()
		if created != 1 || taken != 7 {
			t.Fatalf("8 creates of cluster %s at once: %d created, %d told it exists; want 1 and 7", name, created, taken)
		}
	}
}

// A create racing a delete of the same name leaves memory and the store
// agreeing on whether the cluster exists. The delete's store write used to
// land after the create's, dropping a cluster memory still had.
func TestCreateClusterRacingDelete(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	spec := func() *burst.ClusterSpec { return &burst.ClusterSpec{Name: "w", Type: "t3.micro", Max: 1} }
	if _, err := s.CreateCluster(ctx, "ann", spec()); err != nil {
		t.Fatal(err)
	}
	for round := range 30 {
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.DeleteCluster(ctx, "ann", "w"); err != nil {
				var nf *errNotFoundMsg
				if !errors.As(err, &nf) {
					t.Errorf("delete: %v", err)
				}
			}
		})
		wg.Go(func() {
			if _, err := s.CreateCluster(ctx, "bob", spec()); err != nil && !strings.Contains(err.Error(), "exists already") {
				t.Errorf("create: %v", err)
			}
		})
		wg.Wait()
		s.mu.Lock()
		inMemory := s.clusters["w"] != nil
		s.mu.Unlock()
		if stored := storedClusters(t, s)["w"]; stored != inMemory {
			t.Fatalf("round %d: cluster w in memory %v, in the store %v", round, inMemory, stored)
		}
		if !inMemory {
			if _, err := s.CreateCluster(ctx, "ann", spec()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// fakeProvider records its calls, and those made holding the server's
// lock: the lock stays taken for as long as the call lasts when its caller
// holds it, whereas another goroutine holding it for a moment lets go.
type fakeProvider struct {
	s      *Server
	mu     sync.Mutex
	calls  []string
	locked []string
	alive  bool
}

func (f *fakeProvider) note(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if f.s.mu.TryLock() {
			f.s.mu.Unlock()
			return
		}
	}
	f.locked = append(f.locked, call)
}

func (f *fakeProvider) Name() string        { return "fake" }
func (f *fakeProvider) Caps() provider.Caps { return provider.Caps{Agent: true, Sized: true} }
func (f *fakeProvider) Check(ctx context.Context, sp provider.Spec) error {
	f.note("check")
	return nil
}
func (f *fakeProvider) Start(ctx context.Context, sp provider.Spec, c provider.Connect) (provider.Handle, error) {
	f.note("start")
	return provider.Handle{External: "fake " + sp.ID}, nil
}
func (f *fakeProvider) Stop(ctx context.Context, h provider.Handle) error { f.note("stop"); return nil }
func (f *fakeProvider) Alive(ctx context.Context, h provider.Handle) bool {
	f.note("alive")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alive
}

// startInF makes cluster f of provider p (named fake) and starts a machine
// in it.
func startInF(t *testing.T, s *Server, p provider.Provider) *burst.Machine {
	t.Helper()
	s.providers[p.Name()] = p
	ctx := context.Background()
	if _, err := s.CreateCluster(ctx, "ann", &burst.ClusterSpec{Name: "f", Provider: "fake", Max: 2}); err != nil {
		t.Fatal(err)
	}
	m, err := s.StartInCluster(ctx, "ann", "f", "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// No provider call runs under the server's lock: start, the liveness
// check, the stop, and the stop of a machine found gone.
func TestNoProviderCallUnderLock(t *testing.T) {
	s := fleetServer(t)
	fake := &fakeProvider{s: s, alive: true}
	ctx := context.Background()
	m1 := startInF(t, s, fake)
	s.checkMachines(ctx) // alive: nothing changes
	if _, err := s.StopMachine(ctx, "ann", m1.ID, false, false); err != nil {
		t.Fatal(err)
	}
	s.loops.Wait() // the stop runs in the background: nothing else may hold the lock meanwhile
	m2, err := s.StartInCluster(ctx, "ann", "f", "")
	if err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	fake.alive = false
	fake.mu.Unlock()
	s.checkMachines(ctx) // gone: lost, and what is left of it stopped
	s.loops.Wait()
	s.mu.Lock()
	st := s.machines[m2.ID].row.State
	s.mu.Unlock()
	if st != burst.MachineLost {
		t.Errorf("machine %s whose provider says it is gone is %s, want lost", m2.ID, st)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, want := range []string{"check", "start", "alive", "stop"} {
		if !slices.Contains(fake.calls, want) {
			t.Errorf("the provider was never asked to %s (calls: %v)", want, fake.calls)
		}
	}
	if len(fake.locked) > 0 {
		t.Errorf("provider calls made holding the server's lock: %v (all calls: %v)", fake.locked, fake.calls)
	}
}

// A stopped machine of a deleted cluster cannot start again, and saying so
// names its deleted cluster, also once a cluster of the same name exists.
// It used to say "no cluster \"f\": the clusters are f, ...", naming the
// very cluster it said did not exist.
func TestStartMachineOfDeletedCluster(t *testing.T) {
	s := fleetServer(t)
	fake := &fakeProvider{s: s, alive: true}
	s.providers[fake.Name()] = fake
	ctx := context.Background()
	spec := func() *burst.ClusterSpec { return &burst.ClusterSpec{Name: "f", Provider: "fake", Max: 2} }
	if _, err := s.CreateCluster(ctx, "ann", spec()); err != nil {
		t.Fatal(err)
	}
	m, err := s.StartInCluster(ctx, "ann", "f", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StopMachine(ctx, "ann", m.ID, false, false); err != nil {
		t.Fatal(err)
	}
	s.loops.Wait()
	if err := s.DeleteCluster(ctx, "ann", "f"); err != nil {
		t.Fatal(err)
	}
	// It can never start again, so it is no longer listed as stopped
	// ("they cost nothing until started again", said the budget report).
	if got := machineState(s, m.ID); got != burst.MachineTerminated {
		t.Errorf("%s, stopped, after its cluster f was deleted: %s; want %s", m.ID, got, burst.MachineTerminated)
	}
	want := "machine " + m.ID + " cannot start again: its cluster f was deleted"
	if _, err := s.StartMachine(ctx, "ann", m.ID); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("start %s of deleted cluster f: %v; want an error saying %q", m.ID, err, want)
	}
	if _, err := s.CreateCluster(ctx, "ann", spec()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartMachine(ctx, "ann", m.ID); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "burst machine start --cluster f") {
		t.Errorf("start %s of deleted cluster f, with a new cluster f: %v; want an error saying %q and naming burst machine start --cluster f", m.ID, err, want)
	}
	// A server started after the delete and the new f reads the old f-1
	// back as the deleted cluster's: it used to hand it to the new f (by
	// name), whose autoscaler would start it again and whose
	// `burst machine start f-1` did. Before that it said "machine f-1 is
	// not started by burst (its agent joined by itself, or it is this
	// host)".
	s.loops.Wait()
	s2 := restarted(t, s)
	s2.mu.Lock()
	old := s2.machines[m.ID]
	s2.mu.Unlock()
	if old == nil || old.cluster != nil {
		t.Fatalf("after a restart, %s of the deleted cluster f is listed: %v, of the new f: %v; want listed, of no cluster", m.ID, old != nil, old != nil && old.cluster != nil)
	}
	if _, err := s2.StartMachine(ctx, "ann", m.ID); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("start %s of cluster f deleted before the server started: %v; want an error saying %q", m.ID, err, want)
	}
	// The new f's own machine stays f's across the restart.
	m2, err := s2.StartInCluster(ctx, "ann", "f", "")
	if err != nil {
		t.Fatal(err)
	}
	if m2.ID == m.ID {
		t.Fatalf("a start in the new cluster f reused %s, the deleted f's machine", m.ID)
	}
	if _, err := s2.StopMachine(ctx, "ann", m2.ID, false, false); err != nil {
		t.Fatal(err)
	}
	s2.loops.Wait()
	s3 := restarted(t, s2)
	s3.mu.Lock()
	c3, mine := s3.clusters["f"], s3.machines[m2.ID]
	s3.mu.Unlock()
	if mine == nil || mine.cluster != c3 || c3 == nil {
		t.Fatalf("after a second restart, %s of the new cluster f is listed: %v, of f: %v; want of cluster f", m2.ID, mine != nil, mine != nil && c3 != nil && mine.cluster == c3)
	}
	if _, err := s3.StartMachine(ctx, "ann", m2.ID); err != nil {
		t.Errorf("start %s, stopped, of the new cluster f after a restart: %v", m2.ID, err)
	}
	s3.loops.Wait()
}

func machineState(s *Server, id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.machines[id]; m != nil {
		return m.row.State
	}
	return "(not listed)"
}

// slowStop is fakeProvider whose Stop waits until release is closed.
type slowStop struct {
	*fakeProvider
	release chan struct{}
}

func (p *slowStop) Stop(ctx context.Context, h provider.Handle) error {
	<-p.release
	return p.fakeProvider.Stop(ctx, h)
}

// A machine a person stopped whose provider finishes the stop after its
// cluster was deleted ends terminated, as the delete's own stops: it used
// to end "stopped", listed as one that could start again, which it cannot.
func TestDeleteClusterWhileMachineStops(t *testing.T) {
	s := fleetServer(t)
	slow := &slowStop{fakeProvider: &fakeProvider{s: s, alive: true}, release: make(chan struct{})}
	ctx := context.Background()
	m := startInF(t, s, slow)
	if _, err := s.StopMachine(ctx, "ann", m.ID, false, false); err != nil {
		t.Fatal(err)
	}
	if got := machineState(s, m.ID); got != burst.MachineStopping {
		t.Fatalf("%s after its stop, with the provider still stopping it: %s; want %s", m.ID, got, burst.MachineStopping)
	}
	if err := s.DeleteCluster(ctx, "ann", "f"); err != nil {
		t.Fatal(err)
	}
	close(slow.release)
	s.loops.Wait()
	if got := machineState(s, m.ID); got != burst.MachineTerminated {
		t.Errorf("%s, whose stop ended after its cluster f was deleted: %s; want %s", m.ID, got, burst.MachineTerminated)
	}
}

// A store whose cluster was deleted while its machine stood stopped (by a
// server that left such machines stopped) is read back with the machine
// terminated: it can never start again, and used to be listed stopped.
func TestRecoverTerminatesStoppedOfDeletedCluster(t *testing.T) {
	s := fleetServer(t)
	m := startInF(t, s, &fakeProvider{s: s, alive: true})
	ctx := context.Background()
	if _, err := s.StopMachine(ctx, "ann", m.ID, false, false); err != nil {
		t.Fatal(err)
	}
	s.loops.Wait()
	if err := s.st.Write(ctx, func(tx *store.Tx) error { return store.DeleteCluster(tx, "f") }); err != nil {
		t.Fatal(err)
	}
	s2 := restarted(t, s)
	if got := machineState(s2, m.ID); got != burst.MachineTerminated {
		t.Errorf("%s, stopped, of cluster f deleted before the server started: %s; want %s", m.ID, got, burst.MachineTerminated)
	}
	s2.loops.Wait()
	if got := machineState(restarted(t, s2), m.ID); got != burst.MachineTerminated {
		t.Errorf("%s after a second restart: %s; want %s, as stored", m.ID, got, burst.MachineTerminated)
	}
}

// A machine burst's provider started (an EC2 instance, a Slurm pilot)
// whose agent joined with a credential of its own is terminated when its
// cluster is deleted: it used to be marked lost, its credential revoked,
// and `burst machine list` read it "revoked", as a joined laptop a person
// revoked.
func TestDeleteClusterTerminatesJoinedPilot(t *testing.T) {
	s := fleetServer(t)
	fake := &fakeProvider{s: s, alive: true}
	m := startInF(t, s, fake)
	ctx := context.Background()
	if err := s.st.Write(ctx, func(tx *store.Tx) error {
		return tx.AddMachineCredential(store.MachineCredentialRow{Hash: "h1", Machine: m.ID, Cluster: "f", Created: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCluster(ctx, "ann", "f"); err != nil {
		t.Fatal(err)
	}
	s.loops.Wait()
	if got := machineState(s, m.ID); got != burst.MachineTerminated {
		t.Errorf("%s, started by its provider, after its cluster f was deleted: %s; want %s", m.ID, got, burst.MachineTerminated)
	}
	fake.mu.Lock()
	stops := slices.Index(fake.calls, "stop") >= 0
	fake.mu.Unlock()
	if !stops {
		t.Errorf("its provider was not asked to stop %s", m.ID)
	}
	creds, err := s.st.MachineCredentials(ctx)
	if err != nil || len(creds) != 1 || creds[0].Revoked == nil {
		t.Errorf("its credential after the delete: %+v %v; want it revoked", creds, err)
	}
}

// fakeNodes is fakeProvider as elastic Slurm nodes: machines Slurm starts
// by name, with no agent.
type fakeNodes struct{ *fakeProvider }

func (f *fakeNodes) Name() string        { return "fakenodes" }
func (f *fakeNodes) Caps() provider.Caps { return provider.Caps{ScaledOutside: true} }

// An elastic node's name passes to a cluster made again after its cluster
// was deleted: `burst slurm resume cl1 --cluster elastic` used to be
// refused with "machine cl1 belongs to cluster elastic" (the deleted one),
// so Slurm could never start that node again; after a server restart too.
func TestElasticNodeOfDeletedCluster(t *testing.T) {
	s := fleetServer(t)
	nodes := &fakeNodes{&fakeProvider{s: s, alive: true}}
	s.providers[nodes.Name()] = nodes
	ctx := context.Background()
	spec := func() *burst.ClusterSpec {
		return &burst.ClusterSpec{Name: "elastic", Provider: "fakenodes", Type: "t3.micro", Max: 2}
	}
	if _, err := s.CreateCluster(ctx, "ann", spec()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cl1", "cl2"} {
		if _, err := s.StartInCluster(ctx, "slurm", "elastic", n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StopMachine(ctx, "slurm", n, false, false); err != nil {
			t.Fatal(err)
		}
	}
	s.loops.Wait()
	if err := s.DeleteCluster(ctx, "ann", "elastic"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCluster(ctx, "ann", spec()); err != nil {
		t.Fatal(err)
	}
	m, err := s.StartInCluster(ctx, "slurm", "elastic", "cl1")
	if err != nil {
		t.Fatalf("resume of node cl1 in cluster elastic made again: %v", err)
	}
	if m.State != burst.MachineRunning || m.Cluster != "elastic" {
		t.Errorf("cl1 resumed in cluster elastic made again: %s of %s; want running of elastic", m.State, m.Cluster)
	}
	// A second start of the running node does nothing, as before.
	if m, err := s.StartInCluster(ctx, "slurm", "elastic", "cl1"); err != nil || m.State != burst.MachineRunning {
		t.Errorf("resume of cl1 again: %v %v; want it running, nothing done", m, err)
	}
	s.loops.Wait()
	// cl2 of the deleted cluster, read back by a restarted server.
	s2 := restarted(t, s)
	if m, err := s2.StartInCluster(ctx, "slurm", "elastic", "cl2"); err != nil || m.State != burst.MachineRunning {
		t.Errorf("resume of cl2, of the deleted elastic, after a restart: %v %v; want it running", m, err)
	}
	s2.loops.Wait()
}

// ofCluster tells an earlier cluster's machines from a cluster's own,
// by the cluster's birth the machine's row keeps, or for a row written
// before rows kept it, by when the machine was last seen.
func TestOfCluster(t *testing.T) {
	made := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	def := burst.Cluster{Name: "f", CreatedAt: made}
	at := func(d time.Duration) *time.Time { x := made.Add(d); return &x }
	for _, tc := range []struct {
		name string
		row  store.MachineRow
		def  burst.Cluster
		want bool
	}{
		{"its cluster's birth", store.MachineRow{ClusterBorn: made.UnixMicro()}, def, true},
		{"its birth read back (microseconds)", store.MachineRow{ClusterBorn: made.Truncate(time.Microsecond).UnixMicro()}, def, true},
		{"an earlier cluster's birth", store.MachineRow{ClusterBorn: made.Add(-time.Hour).UnixMicro(), Machine: burst.Machine{StoppedAt: at(time.Hour)}}, def, false},
		{"the built-in cluster's", store.MachineRow{}, burst.Cluster{Name: "local"}, true},
		{"a dated cluster's, as the built-in", store.MachineRow{ClusterBorn: made.UnixMicro()}, burst.Cluster{Name: "local"}, false},
		{"no birth: started after the cluster was made", store.MachineRow{Machine: burst.Machine{StartedAt: at(time.Minute), StoppedAt: at(time.Hour)}}, def, true},
		{"no birth: started before, its stop ending after the cluster was made", store.MachineRow{Machine: burst.Machine{StartedAt: at(-time.Hour), StoppedAt: at(time.Minute)}}, def, false},
		{"no birth, never started: stopped after the cluster was made", store.MachineRow{Machine: burst.Machine{StoppedAt: at(time.Minute)}}, def, true},
		{"no birth: last seen before it was made", store.MachineRow{Machine: burst.Machine{StartedAt: at(-2 * time.Hour), SeenAt: at(-time.Hour), StoppedAt: at(-time.Minute)}}, def, false},
		{"no birth, never started: seen before it was made", store.MachineRow{Machine: burst.Machine{SeenAt: at(-time.Hour)}}, def, false},
		{"no birth: never started", store.MachineRow{}, def, true},
	} {
		if got := ofCluster(tc.row, tc.def); got != tc.want {
			t.Errorf("%s: ofCluster = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// restarted is a server started anew on s's store, as a restart makes
// one: its clusters and machines read back from the store (s itself is
// left as it is: the test stops using it).
func restarted(t *testing.T, s *Server) *Server {
	t.Helper()
	n := fleetServer(t)
	n.st = s.st
	n.providers = s.providers
	if err := n.loadClusters(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkDown is a provider whose Check fails, as the Slurm provider's does
// while slurmctld is down or a cloud's while its API is unreachable.
type checkDown struct{ fakeProvider }

func (c *checkDown) Name() string { return "down" }
func (c *checkDown) Check(ctx context.Context, sp provider.Spec) error {
	c.note("check")
	return errors.New("cannot reach the provider")
}

// A stored cluster survives a server start while its provider's Check
// fails: it was judged when it was created, and dropping it would leave
// its machines running with nothing to stop them.
func TestLoadKeepsClustersWhoseCheckFails(t *testing.T) {
	s := fleetServer(t)
	down := &checkDown{fakeProvider{s: s}}
	s.providers[down.Name()] = down
	ctx := context.Background()
	def := &burst.Cluster{Name: "hpc", Provider: down.Name(), Type: "t3.micro", Project: "default", Max: 2, CreatedAt: time.Now().UTC()}
	if err := s.st.Write(ctx, func(tx *store.Tx) error { return store.SaveCluster(tx, def) }); err != nil {
		t.Fatal(err)
	}
	s.clusters = map[string]*clusterRT{}
	if err := s.loadClusters(ctx); err != nil {
		t.Fatal(err)
	}
	if c := s.clusters["hpc"]; c == nil || c.prov != provider.Provider(down) {
		t.Fatalf("after a load with its provider's Check failing, cluster hpc is %v; want it kept", c)
	}
	if s.clusters[localCluster] == nil {
		t.Fatal("the built-in cluster is missing after the load")
	}
	if slices.Contains(down.calls, "check") {
		t.Fatalf("the load asked Check: %v", down.calls)
	}
	// A creation still asks, and is refused.
	if _, err := s.CreateCluster(ctx, "ann", &burst.ClusterSpec{Name: "new", Provider: down.Name(), Type: "t3.micro", Max: 1}); err == nil || !strings.Contains(err.Error(), "cannot reach the provider") {
		t.Fatalf("create with Check failing: %v; want its refusal", err)
	}
}

// A stored cluster whose machine type left the price catalog (a price file
// edited, a type renamed) is kept at a load, marked unusable: the
// autoscaler starts none of it, its view and a refused job say why, and
// its machines stay its own.
func TestLoadKeepsClusterWhoseTypeLeftTheCatalog(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	// A provider that needs a type (not Sized), with a stopped machine.
	def := &burst.Cluster{Name: "gone", Provider: provider.LocalName, Type: "x9.nonexistent", Project: "default", Min: 1, Max: 2, CreatedAt: time.Now().UTC()}
	stopped := &store.MachineRow{Machine: burst.Machine{ID: "gone-1", Cluster: "gone", State: burst.MachineStopped, CPUs: 2, MemBytes: 4 << 30,
		Provider: provider.LocalName, Type: "x9.nonexistent", Project: "default"}}
	if err := s.st.Write(ctx, func(tx *store.Tx) error {
		if err := store.SaveCluster(tx, def); err != nil {
			return err
		}
		return store.SaveMachine(tx, stopped)
	}); err != nil {
		t.Fatal(err)
	}
	s.clusters = map[string]*clusterRT{}
	if err := s.loadClusters(ctx); err != nil {
		t.Fatal(err)
	}
	c := s.clusters["gone"]
	if c == nil || !strings.Contains(c.unusable, "x9.nonexistent is not in the price catalog") {
		t.Fatalf("after a load without its type, cluster gone is %+v; want it kept and unusable", c)
	}
	s.mu.Lock()
	v := s.clusterView(c)
	cl, _ := s.scaleView(time.Now())
	err := s.feasibleOn(burst.Resources{CPUs: 1}, "gone", s.admissionViews(time.Now()))
	s.mu.Unlock()
	if v.Unusable != c.unusable || v.Type != "x9.nonexistent" || v.PriceUSDPerHour != 0 || v.CPUs != 2 || v.MemBytes != 4<<30 {
		t.Errorf("view of the unusable cluster: %+v", v)
	}
	if i := slices.IndexFunc(cl, func(sc scale.Cluster) bool { return sc.Name == "gone" }); i < 0 || cl[i].Blocked != c.unusable {
		t.Errorf("the autoscaler's view of it: %+v; want it blocked for its reason", cl)
	}
	if err == nil || !strings.Contains(err.Error(), "starts no machine") {
		t.Errorf("a job for it, with no machine of it up: %v; want a refusal naming why", err)
	}
	if acts := scale.Plan(time.Now(), cl, nil, nil); slices.ContainsFunc(acts, func(a scale.Action) bool { return a.Start }) {
		t.Errorf("the autoscaler starts machines of it for its --min: %+v", acts)
	}
	if _, err := s.StartInCluster(ctx, "ann", "gone", ""); err == nil || !strings.Contains(err.Error(), "starts no machine") {
		t.Errorf("burst machine start --cluster gone: %v; want a refusal naming why", err)
	}
}

// TestStartRefusedWhileScheduledOff: a person's `burst machine start` on a
// cluster its schedule has switched off is refused, saying until when (the
// autoscaler stopped such a machine again a second later, and the start had
// said it was pending).
func TestStartRefusedWhileScheduledOff(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	now := time.Now().Local()
	weekly := func(t time.Time) string { return t.Format("Mon 15:04") }
	spec := &burst.ClusterSpec{Name: "wk", Type: "t3.micro", Max: 2,
		Off: []string{weekly(now.Add(-2 * time.Minute))}, On: []string{weekly(now.Add(3 * time.Hour))}}
	if _, err := s.CreateCluster(ctx, "ann", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartInCluster(ctx, "ann", "wk", ""); err == nil || !strings.Contains(err.Error(), "switched off by its schedule (off until") {
		t.Errorf("machine start on a cluster switched off: %v; want a refusal saying until when", err)
	}
	s.mu.Lock()
	n := len(s.machines)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d machines after the refused start, want none", n)
	}
}

// While no task starts for want of room on the logs' filesystem (disk.go
// roomToStart), the autoscaler starts no machine either: it would wait,
// billed, for work that cannot be placed. Its view says why.
func TestNoMachineStartsWhileTheDiskIsShort(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	if _, err := s.CreateCluster(ctx, "ann", &burst.ClusterSpec{Name: "w", Type: "t3.micro", Min: 1, Max: 2}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.short = "the filesystem /h has 1 MiB free"
	cl, ms := s.scaleView(time.Now())
	s.mu.Unlock()
	i := slices.IndexFunc(cl, func(sc scale.Cluster) bool { return sc.Name == "w" })
	if i < 0 || cl[i].NoRoom != s.short {
		t.Fatalf("the autoscaler's view while the disk is short: %+v; want NoRoom saying why", cl)
	}
	if acts := scale.Plan(time.Now(), cl, ms, nil); slices.ContainsFunc(acts, func(a scale.Action) bool { return a.Start }) {
		t.Errorf("machines started for --min while no task can start: %+v", acts)
	}
	s.mu.Lock()
	s.short = ""
	cl, ms = s.scaleView(time.Now())
	s.mu.Unlock()
	if acts := scale.Plan(time.Now(), cl, ms, nil); !slices.ContainsFunc(acts, func(a scale.Action) bool { return a.Start && a.Cluster == "w" }) {
		t.Errorf("with room again, no machine started for --min 1: %+v", acts)
	}
}

// A machine of a local cluster that this host has no room for says what
// makes room: on a 2-core host whose cores a running work-1 holds, `burst
// machine start --cluster work` said only the figures, naming no fix.
func TestHostFullNamesTheFix(t *testing.T) {
	s := fleetServer(t)
	s.hostRes = burst.Resources{CPUs: 2, MemBytes: 8 << 30}
	s.providers[provider.LocalName] = &provider.Local{Host: s.hostRes}
	ctx := context.Background()
	if _, err := s.CreateCluster(ctx, "ann", &burst.ClusterSpec{Name: "work", Type: "t3.small", Max: 2}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	work := s.clusters["work"]
	if got := s.hostFull(work); got != "" {
		t.Fatalf("an empty 2-core host has no room for a t3.small: %q", got)
	}
	s.machines["work-1"] = &machineRT{cluster: work,
		row: store.MachineRow{Machine: burst.Machine{ID: "work-1", Cluster: "work", State: burst.MachineRunning}}}
	if got := s.hostFull(work); !strings.Contains(got, "burst machine stop ID") {
		t.Errorf("no room while work-1 holds the host's cores: %q; want it to name burst machine stop", got)
	}
}

// A Slurm node resumed in a cluster that does not exist (burst slurm
// resume NODE --cluster elastic) is told how to make one of elastic Slurm
// nodes, not a cluster of any type.
func TestResumeInNoClusterNamesSlurmNodes(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	_, err := s.StartInCluster(ctx, "ann", "elastic", "cl1")
	if err == nil || !strings.Contains(err.Error(), `no cluster "elastic"`) || !strings.Contains(err.Error(), "burst cluster create NAME --provider slurm-nodes") {
		t.Fatalf("resume of a node in no cluster: %v; want its fix to name --provider slurm-nodes", err)
	}
	_, err = s.StartInCluster(ctx, "ann", "elastic", "")
	if err == nil || !strings.Contains(err.Error(), "burst cluster create NAME --type TYPE`") {
		t.Fatalf("a machine started in no cluster: %v; want the plain fix", err)
	}
}
