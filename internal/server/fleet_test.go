package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/provider"
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
		jobs: map[int64]*jobRT{}, machines: map[string]*machineRT{}, clusters: map[string]*clusterRT{},
		projects: map[string]*projectRT{}, unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{},
		events: make(chan struct{}), kick: make(chan struct{}, 1), scaleKick: make(chan struct{}, 1),
		hostRes: burst.Resources{CPUs: 64, MemBytes: 256 << 30}}
	s.providers = provider.Registry{provider.LocalName: &provider.Local{Host: s.hostRes}}
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
