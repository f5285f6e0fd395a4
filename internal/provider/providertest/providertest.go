// Package providertest is the test kit of the provider contract
// (docs/providers.md): every provider runs Run against itself, and passes
// before the server may use it.
//
// A provider's test starts real machines. Their agent is a stand-in: the
// test binary itself, which Main turns into a process that waits for
// SIGTERM, so that the kit needs no server.
package providertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/provider"
)

// standInEnv marks the test binary started as a machine's agent.
const standInEnv = "BURST_PROVIDERTEST_STAND_IN"

// Main runs the tests, or, in a process a provider started as a machine's
// agent, stands in for that agent: it waits for SIGTERM and exits. Call it
// from TestMain.
func Main(m *testing.M) {
	if os.Getenv(standInEnv) == "1" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Connect is where a provider under test sends its machines' agents: the
// stand-in (this test binary), logging under dir.
func Connect(t *testing.T, dir string) provider.Connect {
	t.Setenv(standInEnv, "1") // the machines inherit it (sbatch exports it too)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return provider.Connect{Server: "unix://" + dir + "/none.sock", TokenFile: dir + "/token", Exe: exe,
		Home: dir, LogDir: dir + "/agents"}
}

// Setup is what the kit needs to know of a provider.
type Setup struct {
	Provider provider.Provider
	// Spec is a machine the provider can start (its ID is set by the kit).
	Spec provider.Spec
	// Bad is a machine Check must refuse, and Fix a phrase its error holds:
	// the fix it names (e.g. "choose a type with at most").
	Bad provider.Spec
	Fix string
	// Connect is where agents go (see Connect).
	Connect provider.Connect
	// Join brings up a machine of a provider whose machines join by
	// themselves (Caps.Joins), as its agent registering would, and returns
	// its handle; Start must refuse such a machine with one line holding
	// JoinFix (the command that makes it join). Unused for other providers.
	Join    func(t *testing.T, s provider.Spec) provider.Handle
	JoinFix string
	// Up is how long a started machine may take until Alive says so, and a
	// stopped one until it says it is gone; zero: 30 s.
	Up time.Duration
}

// Run checks p against the contract:
//   - Caps.Explains says whether it implements provider.Explainer;
//   - Check accepts Spec, and refuses Bad with one line that names Fix;
//   - Start returns a handle that Alive reports alive until Stop, and gone
//     after it; a second Stop of it is no error;
//   - Alive of the zero handle is false;
//   - with a cancelled context, Check and Start fail promptly (Start with no
//     machine left behind) and Alive and Stop return promptly.
func Run(t *testing.T, s Setup) {
	p := s.Provider
	up := s.Up
	if up == 0 {
		up = 30 * time.Second
	}
	ctx := context.Background()

	t.Run("caps", func(t *testing.T) {
		_, explains := p.(provider.Explainer)
		if c := p.Caps(); c.Explains != explains {
			t.Errorf("%s: Caps().Explains is %v, but it implements Explainer: %v", p.Name(), c.Explains, explains)
		}
		if p.Name() == "" || strings.ContainsAny(p.Name(), " \t\n") {
			t.Errorf("name %q: a provider's name is one word users give to --provider", p.Name())
		}
	})

	t.Run("check", func(t *testing.T) {
		good := s.Spec
		good.ID = ""
		if err := p.Check(ctx, good); err != nil {
			t.Errorf("Check refused the good spec %+v: %v", good, err)
		}
		bad := s.Bad
		bad.ID = ""
		err := p.Check(ctx, bad)
		switch {
		case err == nil:
			t.Errorf("Check accepted the bad spec %+v", bad)
		case strings.Contains(err.Error(), "\n"):
			t.Errorf("Check's error is for people, one line: %q", err)
		case !strings.Contains(err.Error(), s.Fix):
			t.Errorf("Check's error %q does not name the fix (%q)", err, s.Fix)
		}
	})

	t.Run("start alive stop", func(t *testing.T) {
		sp := s.Spec
		sp.ID = fmt.Sprintf("kit-%d", time.Now().UnixNano()%1e6)
		h, err := p.Start(ctx, sp, s.Connect)
		if p.Caps().Joins {
			// burst starts none of its machines: Start says how one joins,
			// and the kit has one join instead.
			switch {
			case err == nil:
				p.Stop(context.Background(), h)
				t.Fatal("Start of a machine that joins by itself started one")
			case strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), s.JoinFix):
				t.Errorf("Start's refusal %q is not one line naming how the machine joins (%q)", err, s.JoinFix)
			}
			if s.Join == nil {
				t.Fatal("Setup.Join is missing: a provider whose machines join by themselves needs it")
			}
			h, err = s.Join(t, sp), nil
		}
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if h == (provider.Handle{}) {
			t.Fatal("Start returned the zero handle: the server could not find the machine again")
		}
		t.Cleanup(func() { p.Stop(context.Background(), h) })
		if r := provider.RestoreHandle(h.String(), h.PID, h.PIDStart); r != h {
			t.Errorf("handle %+v does not survive a server restart: read back as %+v", h, r)
		}
		if !eventually(up, func() bool { return p.Alive(ctx, h) }) {
			t.Fatalf("a started machine (%s) is not alive after %s", h, up)
		}
		if err := p.Stop(ctx, h); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if !eventually(up, func() bool { return !p.Alive(ctx, h) }) {
			t.Fatalf("a stopped machine (%s) is still alive after %s", h, up)
		}
		if err := p.Stop(ctx, h); err != nil {
			t.Errorf("a second Stop of a machine gone already: %v (want no error)", err)
		}
	})

	t.Run("zero handle", func(t *testing.T) {
		if p.Alive(ctx, provider.Handle{}) {
			t.Error("Alive of the zero handle is true: no machine has it")
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		prompt := func(what string, f func()) {
			t.Helper()
			done := make(chan struct{})
			go func() { f(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s with a cancelled context did not return within 10 s", what)
			}
		}
		prompt("Check", func() {
			if err := p.Check(cctx, s.Spec); err == nil {
				t.Error("Check with a cancelled context: no error")
			}
		})
		prompt("Start", func() {
			sp := s.Spec
			sp.ID = fmt.Sprintf("kit-cancelled-%d", time.Now().UnixNano()%1e6)
			h, err := p.Start(cctx, sp, s.Connect)
			if err == nil {
				p.Stop(context.Background(), h)
				t.Error("Start with a cancelled context started a machine")
			} else if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "cancel") {
				t.Errorf("Start with a cancelled context: %v (want it to say it was cancelled)", err)
			}
		})
		prompt("Alive", func() { p.Alive(cctx, provider.Handle{External: "none", PID: 1 << 30}) })
		prompt("Stop", func() { p.Stop(cctx, provider.Handle{External: "none", PID: 1 << 30}) })
	})
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
