package ec2standin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Server is the stand-in: its state (instances, failure rules, counts of
// calls) and the goroutines that run the instances' lives. Its HTTP faces
// are API (EC2 and Service Quotas) and ControlAPI (/standin/...).
type Server struct {
	cfg      Config
	machines Machines
	logDir   string
	log      *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	instances []*instance // in launch order
	fails     map[string][]FailRule
	calls     map[string]int
	callLog   []Call // every call in order, with its time (GET /standin/log)
	bootDelay time.Duration
}

// Machines is where instances run: namespace hosts (Hosts), or nowhere
// (NoMachines) for a stand-in that only keeps the API's state.
type Machines interface {
	// Claim reserves a machine for an instance; it is cheap and does not
	// wait. ok is false when every machine is taken.
	Claim() (slot int, addr string, ok bool)
	// Start makes the claimed machine ready and runs the instance's first
	// process there, which writes the user-data's output to log.
	Start(ctx context.Context, slot int, b BootInfo, log io.Writer) (Proc, error)
	// Release gives the machine back once nothing of the instance runs
	// there any more.
	Release(slot int) error
}

// Proc is an instance's first process.
type Proc interface {
	// Notify hands it a spot interruption notice for IMDS.
	Notify(a Action) error
	// Shutdown ends it: its processes get SIGTERM, then SIGKILL after
	// grace. It returns when none of them is left.
	Shutdown(grace time.Duration) error
	// Done is closed when it has ended, asked to or not.
	Done() <-chan struct{}
}

// Action is a spot instance-action notice as IMDS writes it.
type Action struct {
	Action string    `json:"action"` // "terminate"
	Time   time.Time `json:"time"`
}

// New is a stand-in with cfg (see LoadConfig), running instances on m and
// writing each one's user-data log under logDir.
func New(cfg Config, m Machines, logDir string, log *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults(time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("ec2-standin (test double): log directory: %w", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, machines: m, logDir: logDir, log: log.With("standin", "ec2 test double"),
		ctx: ctx, cancel: cancel,
		fails: map[string][]FailRule{}, calls: map[string]int{},
		bootDelay: time.Duration(cfg.BootDelay),
	}, nil
}

// Config is the configuration in effect (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Close terminates every instance still alive and waits for them to end.
func (s *Server) Close() error {
	s.mu.Lock()
	for _, in := range s.instances {
		s.stopLocked(in, "Client.UserInitiatedShutdown", "the stand-in is closing")
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.cancel()
	return nil
}

// API is the EC2 Query and Service Quotas endpoint.
func (s *Server) API() http.Handler { return http.HandlerFunc(s.serveAPI) }

// instance is one EC2 instance. Its fields are guarded by Server.mu.
type instance struct {
	ID, Region, Zone, Type, Image, Arch, Subnet string
	Groups                                      []string
	Tags                                        []Tag
	ClientToken, Reservation                    string
	Spot                                        bool
	Launched                                    time.Time
	PrivateIP                                   string
	Slot                                        int
	UserData                                    []byte
	LogPath                                     string

	State                 string
	ReasonCode, ReasonMsg string
	Running, Ended        time.Time
	Action                *Action
	stop                  chan struct{} // closed to end the instance
	proc                  Proc          // set once running
	ended                 chan struct{} // closed when terminated
}

// Tag is an EC2 tag.
type Tag struct{ Key, Value string }

// Instance states and their codes as EC2 reports them.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
)

var stateCodes = map[string]int{statePending: 0, stateRunning: 16, stateShuttingDown: 32, stateTerminated: 48}

// stopLocked starts ending in (its life goroutine does the work).
func (s *Server) stopLocked(in *instance, code, msg string) {
	if in.State == stateTerminated || in.State == stateShuttingDown {
		return
	}
	in.State = stateShuttingDown
	in.ReasonCode, in.ReasonMsg = code, msg
	close(in.stop)
}

// life runs in from pending to terminated.
func (s *Server) life(in *instance, b BootInfo) {
	defer s.wg.Done()
	defer close(in.ended)
	logf, err := os.OpenFile(in.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.end(in, err)
		return
	}
	defer logf.Close()
	fmt.Fprintf(logf, "ec2-standin (test double): instance %s (%s) launched on stand-in host slot %d\n", in.ID, in.Type, in.Slot)
	s.mu.Lock()
	delay := s.bootDelay
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() { // the instance's stop cancels a boot under way
		select {
		case <-in.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-in.stop:
			t.Stop()
			s.end(in, nil)
			return
		}
	}
	proc, err := s.machines.Start(ctx, in.Slot, b, logf)
	if err != nil {
		fmt.Fprintf(logf, "ec2-standin (test double): instance %s failed to start: %v\n", in.ID, err)
		s.end(in, err)
		return
	}
	s.mu.Lock()
	in.proc = proc
	if in.State == statePending {
		in.State = stateRunning
		in.Running = time.Now()
	}
	a := in.Action
	s.mu.Unlock()
	s.log.Info("ec2-standin (test double): instance running", "instance", in.ID, "slot", in.Slot)
	if a != nil {
		proc.Notify(*a)
	}
	select {
	case <-in.stop:
	case <-proc.Done():
		fmt.Fprintf(logf, "ec2-standin (test double): instance %s: its first process ended by itself\n", in.ID)
	}
	s.mu.Lock()
	grace := time.Duration(s.cfg.ShutdownGrace)
	s.mu.Unlock()
	err = proc.Shutdown(grace)
	fmt.Fprintf(logf, "ec2-standin (test double): instance %s terminated\n", in.ID)
	s.end(in, err)
}

// end marks in terminated and gives its machine back.
func (s *Server) end(in *instance, cause error) {
	rerr := s.machines.Release(in.Slot)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cause != nil && in.ReasonCode == "" {
		in.ReasonCode, in.ReasonMsg = "Server.InternalError", "Server.InternalError: "+cause.Error()
	}
	if in.State != stateShuttingDown && in.ReasonCode == "" {
		in.ReasonCode, in.ReasonMsg = "Client.InstanceInitiatedShutdown", "Client.InstanceInitiatedShutdown: Instance initiated shutdown"
	}
	in.State = stateTerminated
	in.Ended = time.Now()
	select {
	case <-in.stop:
	default:
		close(in.stop)
	}
	s.log.Info("ec2-standin (test double): instance terminated", "instance", in.ID, "reason", in.ReasonCode, "cause", cause, "release", rerr)
}

// interrupt gives a running spot instance its notice and terminates it at
// the notice's time, as EC2 does.
func (s *Server) interrupt(id string, notice time.Duration) (Action, error) {
	s.mu.Lock()
	in := s.findLocked(id)
	if in == nil {
		s.mu.Unlock()
		return Action{}, fmt.Errorf("no instance %s", id)
	}
	if in.State != stateRunning && in.State != statePending {
		s.mu.Unlock()
		return Action{}, fmt.Errorf("instance %s is %s", id, in.State)
	}
	a := Action{Action: "terminate", Time: time.Now().Add(notice).UTC().Truncate(time.Second)}
	if in.Action != nil {
		a = *in.Action
	}
	in.Action = &a
	proc := in.proc
	s.mu.Unlock()
	if proc != nil {
		if err := proc.Notify(a); err != nil {
			return a, err
		}
	}
	s.log.Info("ec2-standin (test double): spot interruption notice", "instance", id, "time", a.Time)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(time.Until(a.Time))
		defer t.Stop()
		select {
		case <-t.C:
		case <-in.stop:
			return
		}
		s.mu.Lock()
		s.stopLocked(in, "Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination")
		s.mu.Unlock()
	}()
	return a, nil
}

func (s *Server) findLocked(id string) *instance {
	for _, in := range s.instances {
		if in.ID == id {
			return in
		}
	}
	return nil
}

// newID is prefix-<17 hex digits>, as EC2's ids are.
func newID(prefix string) string {
	var b [9]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

func (s *Server) logPath(id string) string { return filepath.Join(s.logDir, id+".log") }
