package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/slurmtest"
)

// ---------------------------------------------------------------- pure parts

func TestJobNameRoundTrip(t *testing.T) {
	for _, ref := range []client.TaskRef{{Job: 1, Index: 0, Attempt: 1}, {Job: 123456789012, Index: 99999, Attempt: 7}} {
		name := jobName(ref)
		got, ok := parseJobName(name)
		if !ok || got != ref {
			t.Errorf("parseJobName(%q) = %+v, %v; want %+v", name, got, ok, ref)
		}
	}
	if n := jobName(client.TaskRef{Job: 12, Index: 3, Attempt: 2}); n != "burst-12-3-2" {
		t.Errorf("jobName = %q, want burst-12-3-2", n)
	}
	for _, bad := range []string{"", "burst-", "burst-1-2", "burst-1-2-3-4", "burst-a-2-3", "burst-+1-2-3",
		"burst-01-2-3", "burst-1--3", "Burst-1-2-3", "burst-hpc-3", "x-1-2-3", "burst-1-2-99999999999"} {
		if ref, ok := parseJobName(bad); ok {
			t.Errorf("parseJobName(%q) = %+v, want no match", bad, ref)
		}
	}
}

func TestTag(t *testing.T) {
	a, b := tagFor("hpc-native", "", "/h1/native/hpc"), tagFor("hpc-native", "", "/h2/native/hpc")
	if a == b || !strings.HasPrefix(a, "burst:hpc-native:") || strings.ContainsAny(a, " |") {
		t.Errorf("tags %q %q: want distinct burst:MACHINE:HASH without blanks", a, b)
	}
	if tagFor("hpc-native", "", "/h1/native/hpc") != a {
		t.Error("tag not stable")
	}
	// A copy of the home at the same path (another login node) has
	// another home id, hence another tag.
	if tagFor("hpc-native", "id-a", "/h1/native/hpc") == tagFor("hpc-native", "id-b", "/h1/native/hpc") {
		t.Error("two homes at the same path share a tag")
	}
}

// The native agent of a copy of a home's store, at the same path on
// another login node (same machine name, same directory, another home id),
// neither adopts nor scancels the original's Slurm jobs, even when the
// copy's server (which let go of that home's tasks) wants both tasks
// killed: the copy's own job is scancelled, the original's is not.
func TestAgentLeavesAnotherHomesJobs(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	orig := testConfig(t, c)
	orig.HomeID = "home-original"
	theirs := sl.add(jobName(ref(7, 0, 1)), tagFor(orig.Machine, orig.HomeID, orig.Dir), "RUNNING")
	cp := orig
	cp.HomeID = "home-copy"
	mine := sl.add(jobName(ref(7, 1, 1)), tagFor(cp.Machine, cp.HomeID, cp.Dir), "RUNNING")
	srv.kill = []client.TaskRef{ref(7, 0, 1), ref(7, 1, 1)}
	startAgent(t, cp, sl)
	waitFor(t, "registration", 5*time.Second, func() bool { return len(srv.registrations()) == 1 })
	for _, rt := range srv.registrations()[0].Running {
		if rt.PID == int(theirs) {
			t.Errorf("the copy's agent adopted the original's Slurm job %d: %+v", theirs, rt)
		}
	}
	waitFor(t, "the copy's own job scancelled", 10*time.Second, func() bool { return sl.wasCancelled(mine) })
	if sl.wasCancelled(theirs) {
		t.Errorf("the copy's agent scancelled the original's Slurm job %d", theirs)
	}
}

func TestOutcome(t *testing.T) {
	ip := func(v int) *int { return &v }
	cases := []struct {
		info      Job
		cancelled bool
		state     burst.State
		exit      *int
		sig       int
		reason    string
	}{
		{Job{State: "COMPLETED"}, false, burst.Succeeded, ip(0), 0, ""},
		{Job{State: "FAILED", ExitStatus: 3, Reason: "NonZeroExitCode"}, false, burst.Failed, ip(3), 0, ""},
		{Job{State: "FAILED", Signal: 9}, false, burst.Failed, nil, 9, "killed by signal 9"},
		{Job{State: "FAILED", Reason: "JobLaunchFailure"}, false, burst.Failed, nil, 0, "failed in Slurm (Slurm: JobLaunchFailure)"},
		{Job{State: "OUT_OF_MEMORY", Signal: 125}, false, burst.Failed, nil, 0, "out of memory (Slurm)"},
		{Job{State: "TIMEOUT", Signal: 15}, false, burst.Timeout, nil, 0, "time limit reached (Slurm)"},
		{Job{State: "DEADLINE"}, false, burst.Timeout, nil, 0, "deadline reached (Slurm)"},
		{Job{State: "CANCELLED", Signal: 15}, false, burst.Cancelled, nil, 0, "scancel"},
		{Job{State: "CANCELLED", Signal: 15}, true, burst.Cancelled, nil, 0, "cancelled"},
		{Job{State: "NODE_FAIL"}, false, burst.Lost, nil, 0, "Slurm NODE_FAIL: the job's node failed"},
		{Job{State: "BOOT_FAIL"}, false, burst.Lost, nil, 0, "Slurm BOOT_FAIL: the job's node failed"},
		{Job{State: "PREEMPTED"}, false, burst.Lost, nil, 0, "preempted by Slurm"},
		{Job{State: "COMPLETED"}, true, burst.Succeeded, ip(0), 0, ""}, // ended before the cancel reached it
	}
	for _, c := range cases {
		st, exit, sig, reason := outcome(&c.info, c.cancelled)
		if st != c.state || !reflect.DeepEqual(exit, c.exit) || sig != c.sig || reason != c.reason {
			t.Errorf("outcome(%+v, %v) = %s %v %d %q; want %s %v %d %q", c.info, c.cancelled, st, deref(exit), sig, reason,
				c.state, deref(c.exit), c.sig, c.reason)
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestTaskBatch(t *testing.T) {
	as := client.Assignment{TaskRef: client.TaskRef{Job: 7, Index: 2, Attempt: 1}, Argv: []string{"python3", "-c", "print('hi there')", "a$b"},
		Stdout: "/logs/7/2.out", Stderr: "/logs/7/2.err"}
	jc := &client.JobContext{Dir: "/work", CPUs: 4, MemBytes: 1<<30 + 1, TimeLimitS: 61, GPUs: 2}
	base := []string{"--parsable", "--job-name=burst-7-2-1", "--comment=TAG", "--output=/logs/7/2.out", "--error=/logs/7/2.err",
		"--open-mode=append", "--chdir=/work"}
	cases := []struct {
		name      string
		as        client.Assignment
		jc        *client.JobContext
		partition string
		script    string
		shape     shape
		want      []string // after base
	}{
		{"wrap, everything", as, jc, "gpu", "", shape{},
			[]string{"--cpus-per-task=4", "--mem=1025M", "--time=2", "--gpus=2", "--partition=gpu", "--export=ALL",
				`--wrap=python3 -c 'print('"'"'hi there'"'"')' 'a$b'`}},
		{"wrap, minimal", as, &client.JobContext{Dir: "/work"}, "", "", shape{},
			[]string{"--cpus-per-task=1", "--export=ALL", `--wrap=python3 -c 'print('"'"'hi there'"'"')' 'a$b'`}},
		{"time rounds up, exact minutes stay", as, &client.JobContext{Dir: "/work", CPUs: 1, TimeLimitS: 120, MemBytes: 1 << 20}, "", "", shape{},
			[]string{"--cpus-per-task=1", "--mem=1M", "--time=2", "--export=ALL", `--wrap=python3 -c 'print('"'"'hi there'"'"')' 'a$b'`}},
		{"script with args", client.Assignment{TaskRef: as.TaskRef, Argv: []string{"in put", "x"}, Stdout: as.Stdout, Stderr: as.Stderr},
			&client.JobContext{Dir: "/work", CPUs: 2, MemBytes: 2 << 30, Script: "#!/bin/sh\n"}, "", "/d/job-7.sh", shape{},
			[]string{"--cpus-per-task=2", "--mem=2048M", "--export=ALL", "/d/job-7.sh", "in put", "x"}},
		// sbatch --mem=0, --deadline and --time-min reach the real sbatch
		// as its own options (the deadline as uts, which sbatch's
		// parse_time reads in no time zone: Slurm 22.05 took
		// --deadline=uts1796684400 as that instant).
		{"--mem=0, --deadline, --time-min", as, &client.JobContext{Dir: "/work", CPUs: 1, MemBytes: 64 << 30, MemAll: true,
			TimeLimitS: 7200, TimeMinS: 59 * 60, Deadline: time.Unix(1796684400, 0)}, "", "", shape{},
			[]string{"--cpus-per-task=1", "--mem=0", "--time=120", "--time-min=59", "--deadline=uts1796684400", "--export=ALL",
				`--wrap=python3 -c 'print('"'"'hi there'"'"')' 'a$b'`}},
		{"script with --ntasks and --mem-per-cpu", client.Assignment{TaskRef: as.TaskRef, Stdout: as.Stdout, Stderr: as.Stderr},
			&client.JobContext{Dir: "/work", CPUs: 8, MemBytes: 8 << 30, Script: "#!/bin/sh\n"}, "", "/d/job-7.sh", shape{NTasks: 4, MemPerCPU: true},
			[]string{"--ntasks=4", "--cpus-per-task=2", "--mem-per-cpu=1024M", "--export=ALL", "/d/job-7.sh"}},
	}
	for _, c := range cases {
		got, err := args(taskBatch(c.as, c.jc, c.partition, "TAG", c.script, c.shape))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if want := append(slices.Clone(base), c.want...); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
	}
	// '%' in a log path is burst's, not a Slurm pattern; no --chdir without a directory.
	got, _ := args(taskBatch(client.Assignment{TaskRef: as.TaskRef, Argv: []string{"true"}, Stdout: "/l/100%.out"}, &client.JobContext{}, "", "", "", shape{}))
	if want := []string{"--parsable", "--job-name=burst-7-2-1", "--output=/l/100%%.out", "--open-mode=append", "--cpus-per-task=1", "--export=ALL", "--wrap=true"}; !slices.Equal(got, want) {
		t.Errorf("minimal:\n got %q\nwant %q", got, want)
	}
	if _, err := taskBatch(client.Assignment{}, &client.JobContext{}, "", "", "", shape{}); err == nil {
		t.Error("no argv and no script: want an error")
	}
}

// args is sbatch's argv for a batch taskBatch built.
func args(b Batch, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return b.Args()
}

func TestScriptShape(t *testing.T) {
	if s := scriptShape("#!/bin/sh\n#SBATCH --ntasks=4\n#SBATCH --mem-per-cpu=1G\necho\n"); s != (shape{NTasks: 4, MemPerCPU: true}) {
		t.Errorf("shape = %+v", s)
	}
	if s := scriptShape("#!/bin/sh\n#SBATCH -c 4 --mem=1G\necho\n"); s != (shape{}) {
		t.Errorf("shape = %+v", s)
	}
	if s := scriptShape("#!/bin/sh\n#SBATCH -N 3\necho\n"); s != (shape{NTasks: 3}) {
		t.Errorf("-N 3: shape = %+v, want a task per node", s)
	}
	if s := scriptShape("not a script"); s != (shape{}) {
		t.Errorf("shape = %+v", s)
	}
}

func TestSbatchEnv(t *testing.T) {
	base := []string{"PATH=/bin", "SLURM_CONF=/etc/slurm.conf", "HOME=/root"}
	job := []string{"HOME=/home/u", "SLURM_CONF=/elsewhere", "SLURM_MEM_PER_NODE=100", "FOO=job", "SBATCH_ACCOUNT=a"}
	task := []string{"FOO=task", "BURST_TASK_ID=3", "CUDA_VISIBLE_DEVICES=", "SLURM_JOB_ID=9"}
	got := sbatchEnv(base, job, task)
	want := []string{"PATH=/bin", "SLURM_CONF=/etc/slurm.conf", "HOME=/home/u", "FOO=task", "SBATCH_ACCOUNT=a", "BURST_TASK_ID=3"}
	if !slices.Equal(got, want) {
		t.Errorf("sbatchEnv =\n %q\nwant\n %q", got, want)
	}
}

func TestSbatchReason(t *testing.T) {
	err := errors.New("sbatch: error: Batch job submission failed: Invalid partition name specified\n")
	if r := sbatchReason(err); r != "sbatch: error: Batch job submission failed: Invalid partition name specified" {
		t.Errorf("reason %q", r)
	}
	if r := sbatchReason(errors.New("sbatch: warning: x\nsbatch: error: y")); r != "sbatch: warning: x; error: y" {
		t.Errorf("reason %q", r)
	}
}

// ---------------------------------------------------------------- a fake Slurm

type fakeJob struct {
	q       Job
	info    Job
	hidden  bool // gone from squeue
	unknown bool // unknown to scontrol
	args    []string
	env     []string
}

type fakeSlurm struct {
	mu        sync.Mutex
	next      int64
	jobs      map[int64]*fakeJob
	submitErr error
	block     chan struct{} // when set, submit waits for it
	cancelled []int64
}

func newFakeSlurm() *fakeSlurm { return &fakeSlurm{next: 100, jobs: map[int64]*fakeJob{}} }

func (f *fakeSlurm) Submit(ctx context.Context, b Batch) (int64, error) {
	args, err := b.Args()
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return 0, f.submitErr
	}
	f.next++
	j := &fakeJob{q: Job{ID: f.next, State: "PENDING"}, args: args, env: b.Env}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--job-name="); ok {
			j.q.Name = v
		}
		if v, ok := strings.CutPrefix(a, "--comment="); ok {
			j.q.Comment = v
		}
	}
	j.info = Job{ID: f.next, Name: j.q.Name, State: "PENDING", NodeList: "(null)"}
	f.jobs[f.next] = j
	return f.next, nil
}

// add puts a job in the queue as if an earlier agent had submitted it.
func (f *fakeSlurm) add(name, comment, state string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.jobs[f.next] = &fakeJob{q: Job{ID: f.next, Name: name, Comment: comment, State: state},
		info: Job{ID: f.next, Name: name, State: state, NodeList: "n1", Start: time.Now().Add(-time.Minute).Truncate(time.Second)}}
	return f.next
}

func (f *fakeSlurm) set(id int64, state string, exit, sig int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	j.q.State, j.info.State, j.info.ExitStatus, j.info.Signal = state, state, exit, sig
	if Started(state) && j.info.Start.IsZero() {
		j.info.Start, j.info.NodeList = time.Now().Truncate(time.Second), "n1"
		j.q.Start = j.info.Start
	}
	if Terminal(state) {
		j.info.End = time.Now().Truncate(time.Second)
	}
}

func (f *fakeSlurm) job(id int64) *fakeJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jobs[id]
}

// byName is the id of the job of that name (0: none).
func (f *fakeSlurm) byName(name string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, j := range f.jobs {
		if j.q.Name == name {
			return id
		}
	}
	return 0
}

func (f *fakeSlurm) Queue(ctx context.Context) ([]Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Job
	for _, j := range f.jobs {
		if !j.hidden {
			out = append(out, j.q)
		}
	}
	return out, nil
}

func (f *fakeSlurm) Show(ctx context.Context, id int64) (*Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	if j == nil || j.unknown {
		return nil, nil
	}
	info := j.info
	return &info, nil
}

func (f *fakeSlurm) Accounting(ctx context.Context, id int64) (*Job, error) { return nil, nil }

func (f *fakeSlurm) Cancel(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	j := f.jobs[id]
	if j == nil {
		return errors.New("Invalid job id specified")
	}
	if !Terminal(j.q.State) {
		j.q.State, j.info.State, j.info.Signal, j.info.End = "CANCELLED", "CANCELLED", 15, time.Now()
	}
	return nil
}

func (f *fakeSlurm) wasCancelled(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.cancelled, id)
}

// ---------------------------------------------------------------- a fake burst server

// fakeServer speaks the agent side of burst's HTTP API: it hands out the
// tasks given to it (again, until a lease acknowledges them), cancels, and
// records registrations and events.
type fakeServer struct {
	mu        sync.Mutex
	boot      string
	regs      []client.Register
	kill      []client.TaskRef // the answer to the next registration
	jobs      map[int64]*client.JobContext
	todo      []client.Assignment
	cancels   []client.TaskRef
	seq       uint64
	unacked   *client.Leased
	events    []client.TaskEvent
	failNext  int // answer the next reports 500
	forgetNow bool
}

func newFakeServer(t *testing.T) (*fakeServer, *client.Client) {
	s := &fakeServer{boot: "boot-1", jobs: map[int64]*client.JobContext{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, "token")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	conflict := func() { reply(http.StatusConflict, map[string]string{"error": "register again"}) }
	switch r.URL.Path {
	case "/v1/agent/register":
		var reg client.Register
		json.NewDecoder(r.Body).Decode(&reg)
		s.mu.Lock()
		s.regs = append(s.regs, reg)
		s.events = append(s.events, reg.Events...)
		kill := s.kill
		s.kill = nil
		s.unacked = nil
		s.mu.Unlock()
		reply(200, client.Registered{BootID: s.boot, Kill: kill})
	case "/v1/agent/lease":
		var l client.Lease
		json.NewDecoder(r.Body).Decode(&l)
		deadline := time.Now().Add(time.Duration(l.WaitMS) * time.Millisecond)
		for {
			s.mu.Lock()
			if l.BootID != s.boot || s.forgetNow {
				s.forgetNow = false
				s.mu.Unlock()
				conflict()
				return
			}
			if s.unacked != nil && l.Ack >= s.unacked.Seq {
				s.unacked = nil
			}
			if s.unacked == nil && (len(s.todo) > 0 || len(s.cancels) > 0) {
				s.seq++
				out := &client.Leased{Seq: s.seq, Jobs: map[int64]*client.JobContext{}, Tasks: s.todo, Cancel: s.cancels}
				for _, as := range s.todo {
					out.Jobs[as.Job] = s.jobs[as.Job]
				}
				s.todo, s.cancels, s.unacked = nil, nil, out
			}
			if out := s.unacked; out != nil {
				s.mu.Unlock()
				reply(200, out)
				return
			}
			s.mu.Unlock()
			if time.Now().After(deadline) {
				reply(200, client.Leased{})
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	case "/v1/agent/report":
		var rep client.Report
		json.NewDecoder(r.Body).Decode(&rep)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case rep.BootID != s.boot:
			conflict()
		case s.failNext > 0:
			s.failNext--
			reply(500, map[string]string{"error": "database is locked"})
		default:
			s.events = append(s.events, rep.Events...)
			reply(200, struct{}{})
		}
	default:
		http.NotFound(w, r)
	}
}

func (s *fakeServer) give(jc *client.JobContext, as ...client.Assignment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range as {
		s.jobs[a.Job] = jc
	}
	s.todo = append(s.todo, as...)
}

func (s *fakeServer) cancel(ref client.TaskRef) {
	s.mu.Lock()
	s.cancels = append(s.cancels, ref)
	s.mu.Unlock()
}

// event is the first event of that kind for ref, or nil.
func (s *fakeServer) event(ref client.TaskRef, kind string) *client.TaskEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.TaskRef == ref && e.Kind == kind {
			return &e
		}
	}
	return nil
}

func (s *fakeServer) count(ref client.TaskRef, kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e.TaskRef == ref && e.Kind == kind {
			n++
		}
	}
	return n
}

func (s *fakeServer) registrations() []client.Register {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regs)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startAgent runs the agent until the returned stop is called (or the test
// ends).
func startAgent(t *testing.T, cfg Config, sl slurmAPI) (stop func()) {
	t.Helper()
	leaseWait, cancelResend = 200*time.Millisecond, 300*time.Millisecond
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, sl) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("run did not return 10 s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testConfig(t *testing.T, c *client.Client) Config {
	return Config{Client: c, Machine: "x-native", Cluster: "x:native", Dir: t.TempDir(), HomeID: "home-x", Poll: 10 * time.Millisecond,
		Res: burst.Resources{CPUs: 8, MemBytes: 16 << 30, GPUs: 2}}
}

func ref(job int64, idx, att int) client.TaskRef {
	return client.TaskRef{Job: job, Index: idx, Attempt: att}
}

// ---------------------------------------------------------------- the agent, against fakes

func TestAgentLifecycle(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	cfg := testConfig(t, c)
	startAgent(t, cfg, sl)
	waitFor(t, "registration", 5*time.Second, func() bool { return len(srv.registrations()) == 1 })
	reg := srv.registrations()[0]
	if reg.Machine != "x-native" || reg.Cluster != "x:native" || reg.CPUs != 8 || reg.MemBytes != 16<<30 || len(reg.GPUs) != 2 ||
		reg.PID != os.Getpid() || !strings.HasPrefix(reg.Host, "slurm:") {
		t.Errorf("register = %+v", reg)
	}

	logs := t.TempDir()
	jc := &client.JobContext{Dir: logs, CPUs: 2, Env: []string{"A=job", "SLURM_JOB_ID=fake"}}
	r1, r2 := ref(5, 0, 1), ref(5, 1, 1)
	srv.give(jc,
		client.Assignment{TaskRef: r1, Argv: []string{"sh", "-c", "exit 3"}, TaskEnv: []string{"BURST_TASK_ID=0"}, Stdout: logs + "/0.out", Stderr: logs + "/0.err", Queued: true},
		client.Assignment{TaskRef: r2, Argv: []string{"true"}, Stdout: logs + "/1.out", Stderr: logs + "/1.out"})
	waitFor(t, "both submitted", 5*time.Second, func() bool { return sl.byName("burst-5-0-1") > 0 && sl.byName("burst-5-1-1") > 0 })
	id1, id2 := sl.byName("burst-5-0-1"), sl.byName("burst-5-1-1")
	j1 := sl.job(id1)
	if j1.q.Comment != tagFor("x-native", cfg.HomeID, cfg.Dir) || !slices.Contains(j1.args, "--cpus-per-task=2") ||
		!slices.Contains(j1.env, "A=job") || !slices.Contains(j1.env, "BURST_TASK_ID=0") || slices.Contains(j1.env, "SLURM_JOB_ID=fake") {
		t.Errorf("submitted with args %q comment %q env has A=job %v", j1.args, j1.q.Comment, slices.Contains(j1.env, "A=job"))
	}

	time.Sleep(50 * time.Millisecond)
	if srv.event(r1, client.EventStarted) != nil {
		t.Fatal("reported started while Slurm has it pending")
	}
	sl.set(id1, "RUNNING", 0, 0)
	waitFor(t, "started", 5*time.Second, func() bool { return srv.event(r1, client.EventStarted) != nil })
	if ev := srv.event(r1, client.EventStarted); ev.PID != int(id1) || ev.StartedAt == nil {
		t.Errorf("started event %+v: want PID %d and a start time", ev, id1)
	}
	sl.set(id1, "COMPLETING", 3, 0)
	time.Sleep(50 * time.Millisecond)
	if srv.event(r1, client.EventExited) != nil {
		t.Fatal("reported exited while COMPLETING")
	}
	sl.set(id1, "FAILED", 3, 0)
	waitFor(t, "exit of task 0", 5*time.Second, func() bool { return srv.event(r1, client.EventExited) != nil })
	ev := srv.event(r1, client.EventExited)
	if ev.State != burst.Failed || ev.ExitCode == nil || *ev.ExitCode != 3 || ev.StartedAt == nil || ev.EndedAt == nil {
		t.Errorf("exit event %+v", ev)
	}

	// Straight from PENDING to COMPLETED between two polls: started, then exited.
	sl.set(id2, "COMPLETED", 0, 0)
	waitFor(t, "exit of task 1", 5*time.Second, func() bool { return srv.event(r2, client.EventExited) != nil })
	if srv.event(r2, client.EventStarted) == nil {
		t.Error("no started event for a job first seen completed")
	}
	if ev := srv.event(r2, client.EventExited); ev.State != burst.Succeeded || ev.ExitCode == nil || *ev.ExitCode != 0 {
		t.Errorf("exit event %+v", ev)
	}
	time.Sleep(50 * time.Millisecond)
	if n := srv.count(r1, client.EventExited) + srv.count(r2, client.EventExited); n != 2 {
		t.Errorf("%d exit events, want 2", n)
	}

	// Handed out again (a lost lease answer): not submitted twice.
	srv.give(jc, client.Assignment{TaskRef: r1, Argv: []string{"true"}})
	time.Sleep(100 * time.Millisecond)
	if n := len(sl.jobs); n != 2 {
		t.Errorf("%d Slurm jobs, want 2", n)
	}
}

func TestAgentSbatchFails(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	sl.submitErr = errors.New("sbatch: error: Batch job submission failed: Invalid partition name specified")
	startAgent(t, testConfig(t, c), sl)
	r := ref(1, 0, 1)
	srv.give(&client.JobContext{CPUs: 1}, client.Assignment{TaskRef: r, Argv: []string{"true"}})
	waitFor(t, "exit", 5*time.Second, func() bool { return srv.event(r, client.EventExited) != nil })
	if ev := srv.event(r, client.EventExited); ev.State != burst.Failed ||
		ev.Reason != "sbatch: error: Batch job submission failed: Invalid partition name specified" {
		t.Errorf("exit event %+v", ev)
	}
	// No job context: failed, not dropped.
	r2 := ref(2, 0, 1)
	srv.mu.Lock()
	srv.todo = append(srv.todo, client.Assignment{TaskRef: r2, Argv: []string{"true"}})
	srv.mu.Unlock()
	waitFor(t, "exit", 5*time.Second, func() bool { return srv.event(r2, client.EventExited) != nil })
}

func TestAgentScript(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	cfg := testConfig(t, c)
	written := make(chan string, 1)
	sl.block = make(chan struct{})
	startAgent(t, cfg, sl)
	text := "#!/bin/sh\n#SBATCH --ntasks=2\necho \"$@\"\n"
	r := ref(9, 0, 1)
	srv.give(&client.JobContext{CPUs: 4, Script: text}, client.Assignment{TaskRef: r, Argv: []string{"a b"}})
	path := filepath.Join(cfg.Dir, "job-9.sh")
	waitFor(t, "script written", 5*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err == nil && string(b) == text {
			written <- path
			return true
		}
		return false
	})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("script mode: %v %v", fi.Mode(), err)
	}
	close(sl.block)
	waitFor(t, "submitted", 5*time.Second, func() bool { return sl.byName("burst-9-0-1") > 0 })
	args := sl.job(sl.byName("burst-9-0-1")).args
	if n := len(args); n < 2 || args[n-2] != path || args[n-1] != "a b" || !slices.Contains(args, "--ntasks=2") || !slices.Contains(args, "--cpus-per-task=2") {
		t.Errorf("args %q", args)
	}
	waitFor(t, "script removed", 5*time.Second, func() bool { _, err := os.Stat(path); return os.IsNotExist(err) })
}

func TestAgentCancel(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	startAgent(t, testConfig(t, c), sl)
	jc := &client.JobContext{CPUs: 1}

	// A running job: scancel, reported cancelled (by burst).
	r1 := ref(1, 0, 1)
	srv.give(jc, client.Assignment{TaskRef: r1, Argv: []string{"sleep", "100"}})
	waitFor(t, "submitted", 5*time.Second, func() bool { return sl.byName("burst-1-0-1") > 0 })
	id1 := sl.byName("burst-1-0-1")
	sl.set(id1, "RUNNING", 0, 0)
	waitFor(t, "started", 5*time.Second, func() bool { return srv.event(r1, client.EventStarted) != nil })
	srv.cancel(r1)
	waitFor(t, "cancelled", 5*time.Second, func() bool { return srv.event(r1, client.EventExited) != nil })
	if ev := srv.event(r1, client.EventExited); ev.State != burst.Cancelled || ev.Reason != "cancelled" || !sl.wasCancelled(id1) {
		t.Errorf("exit event %+v, scancelled %v", ev, sl.wasCancelled(id1))
	}

	// Someone else's scancel.
	r2 := ref(2, 0, 1)
	srv.give(jc, client.Assignment{TaskRef: r2, Argv: []string{"sleep", "100"}})
	waitFor(t, "submitted", 5*time.Second, func() bool { return sl.byName("burst-2-0-1") > 0 })
	sl.Cancel(context.Background(), sl.byName("burst-2-0-1"))
	waitFor(t, "cancelled", 5*time.Second, func() bool { return srv.event(r2, client.EventExited) != nil })
	if ev := srv.event(r2, client.EventExited); ev.State != burst.Cancelled || ev.Reason != "scancel" || ev.StartedAt != nil {
		t.Errorf("exit event %+v", ev)
	}
	if srv.event(r2, client.EventStarted) != nil {
		t.Error("a job cancelled while pending was reported started")
	}

	// Not submitted yet (sbatch is busy with another task): ends at once.
	sl.mu.Lock()
	sl.block = make(chan struct{})
	sl.mu.Unlock()
	r3, r4 := ref(3, 0, 1), ref(3, 1, 1)
	srv.give(jc, client.Assignment{TaskRef: r3, Argv: []string{"true"}}, client.Assignment{TaskRef: r4, Argv: []string{"true"}})
	time.Sleep(100 * time.Millisecond) // r3 is in sbatch, r4 waits
	srv.cancel(r4)
	srv.cancel(r3)
	waitFor(t, "r4 cancelled", 5*time.Second, func() bool { return srv.event(r4, client.EventExited) != nil })
	if ev := srv.event(r4, client.EventExited); ev.State != burst.Cancelled {
		t.Errorf("exit event %+v", ev)
	}
	time.Sleep(50 * time.Millisecond)
	close(sl.block) // r3's sbatch answers: its job is cancelled right away
	waitFor(t, "r3 cancelled", 5*time.Second, func() bool { return srv.event(r3, client.EventExited) != nil })
	if ev := srv.event(r3, client.EventExited); ev.State != burst.Cancelled || ev.Reason != "cancelled" || !sl.wasCancelled(sl.byName("burst-3-0-1")) {
		t.Errorf("exit event %+v", ev)
	}
	if sl.byName("burst-3-1-1") != 0 {
		t.Error("a task cancelled before submission was submitted")
	}
}

func TestAgentVanishedAndLost(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	startAgent(t, testConfig(t, c), sl)
	jc := &client.JobContext{CPUs: 1}
	r1, r2, r3 := ref(1, 0, 1), ref(1, 1, 1), ref(1, 2, 1)
	srv.give(jc, client.Assignment{TaskRef: r1, Argv: []string{"true"}}, client.Assignment{TaskRef: r2, Argv: []string{"true"}},
		client.Assignment{TaskRef: r3, Argv: []string{"true"}})
	waitFor(t, "submitted", 5*time.Second, func() bool { return sl.byName("burst-1-2-1") > 0 })
	id1, id2, id3 := sl.byName("burst-1-0-1"), sl.byName("burst-1-1-1"), sl.byName("burst-1-2-1")
	sl.set(id1, "RUNNING", 0, 0)
	waitFor(t, "started", 5*time.Second, func() bool { return srv.event(r1, client.EventStarted) != nil })

	// Gone from squeue and scontrol: lost.
	sl.mu.Lock()
	sl.jobs[id1].hidden, sl.jobs[id1].unknown = true, true
	sl.mu.Unlock()
	waitFor(t, "lost", 5*time.Second, func() bool { return srv.event(r1, client.EventExited) != nil })
	if ev := srv.event(r1, client.EventExited); ev.State != burst.Lost || !strings.Contains(ev.Reason, strconv.FormatInt(id1, 10)) {
		t.Errorf("exit event %+v", ev)
	}
	// Gone from squeue, but scontrol knows how it ended.
	sl.set(id2, "COMPLETED", 0, 0)
	sl.mu.Lock()
	sl.jobs[id2].hidden = true
	sl.mu.Unlock()
	waitFor(t, "exit", 5*time.Second, func() bool { return srv.event(r2, client.EventExited) != nil })
	if ev := srv.event(r2, client.EventExited); ev.State != burst.Succeeded {
		t.Errorf("exit event %+v", ev)
	}
	// Node failure: lost (the server requeues it).
	sl.set(id3, "NODE_FAIL", 0, 0)
	waitFor(t, "exit", 5*time.Second, func() bool { return srv.event(r3, client.EventExited) != nil })
	if ev := srv.event(r3, client.EventExited); ev.State != burst.Lost {
		t.Errorf("exit event %+v", ev)
	}
	// Slurm requeues it after burst is done with it: cancelled.
	sl.set(id3, "PENDING", 0, 0)
	waitFor(t, "requeued job cancelled", 5*time.Second, func() bool { return sl.wasCancelled(id3) })
}

// Reports that fail are sent again; a server that forgot the agent gets the
// events with the next registration.
func TestAgentReportsUntilTaken(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	startAgent(t, testConfig(t, c), sl)
	waitFor(t, "registration", 5*time.Second, func() bool { return len(srv.registrations()) == 1 })
	srv.mu.Lock()
	srv.failNext = 3
	srv.mu.Unlock()
	r := ref(1, 0, 1)
	srv.give(&client.JobContext{CPUs: 1}, client.Assignment{TaskRef: r, Argv: []string{"true"}})
	waitFor(t, "submitted", 5*time.Second, func() bool { return sl.byName("burst-1-0-1") > 0 })
	sl.set(sl.byName("burst-1-0-1"), "RUNNING", 0, 0)
	waitFor(t, "started, after retries", 10*time.Second, func() bool { return srv.event(r, client.EventStarted) != nil })

	// The server restarts (new boot id): reports get 409, the agent
	// registers again with the running task and the unreported exit.
	srv.mu.Lock()
	srv.boot = "boot-2"
	srv.mu.Unlock()
	r2 := ref(1, 1, 1)
	id2 := sl.add(jobName(r2), tagFor("x-native", "", "other"), "RUNNING") // not this agent's: ignored
	sl.set(sl.byName("burst-1-0-1"), "COMPLETED", 0, 0)
	waitFor(t, "registration 2", 10*time.Second, func() bool { return len(srv.registrations()) >= 2 })
	waitFor(t, "exit", 5*time.Second, func() bool { return srv.event(r, client.EventExited) != nil })
	if sl.wasCancelled(id2) {
		t.Error("cancelled another agent's job")
	}
}

// A new run (the server restarted) finds its Slurm jobs by name and tag:
// running ones in Register.Running, finished ones as exit events; it cancels
// what the server no longer wants.
func TestAgentAdoptsAfterRestart(t *testing.T) {
	srv, c := newFakeServer(t)
	sl := newFakeSlurm()
	cfg := testConfig(t, c)
	tag := tagFor(cfg.Machine, cfg.HomeID, cfg.Dir)
	rRun, rPend, rDone, rFail, rKill := ref(4, 0, 1), ref(4, 1, 1), ref(4, 2, 1), ref(4, 3, 2), ref(4, 4, 1)
	idRun := sl.add(jobName(rRun), tag, "RUNNING")
	idPend := sl.add(jobName(rPend), tag, "PENDING")
	sl.add(jobName(rDone), tag, "COMPLETED")
	idFail := sl.add(jobName(rFail), tag, "FAILED")
	sl.set(idFail, "FAILED", 0, 9)
	idKill := sl.add(jobName(rKill), tag, "RUNNING")
	idForeign := sl.add("burst-4-5-1", "burst:other:00000000", "RUNNING")
	idOther := sl.add("analysis", "(null)", "RUNNING")
	srv.kill = []client.TaskRef{rKill}

	startAgent(t, cfg, sl)
	waitFor(t, "registration", 5*time.Second, func() bool { return len(srv.registrations()) == 1 })
	reg := srv.registrations()[0]
	running := map[client.TaskRef]int{}
	for _, rt := range reg.Running {
		running[rt.TaskRef] = rt.PID
	}
	want := map[client.TaskRef]int{rRun: int(idRun), rPend: 0, rKill: int(idKill)}
	if !reflect.DeepEqual(running, want) {
		t.Errorf("Register.Running = %v, want %v", running, want)
	}
	exits := map[client.TaskRef]client.TaskEvent{}
	for _, ev := range reg.Events {
		if ev.Kind == client.EventExited {
			exits[ev.TaskRef] = ev
		} else {
			t.Errorf("Register.Events has %+v: want only exits (the start time is in them)", ev)
		}
	}
	if ev := exits[rDone]; ev.StartedAt == nil || ev.EndedAt == nil {
		t.Errorf("exit of a finished job without its times: %+v", ev)
	}
	if len(exits) != 2 || exits[rDone].State != burst.Succeeded || exits[rFail].State != burst.Failed || exits[rFail].Signal != 9 {
		t.Errorf("Register.Events exits = %+v", exits)
	}
	waitFor(t, "killed job cancelled", 5*time.Second, func() bool { return srv.event(rKill, client.EventExited) != nil })
	if !sl.wasCancelled(idKill) || sl.wasCancelled(idRun) || sl.wasCancelled(idPend) || sl.wasCancelled(idForeign) || sl.wasCancelled(idOther) {
		t.Errorf("scancelled %v; want only %d", sl.cancelled, idKill)
	}
	// The adopted running job is reported started (with its Slurm start time), then followed to its end.
	waitFor(t, "started", 5*time.Second, func() bool { return srv.event(rRun, client.EventStarted) != nil })
	sl.set(idRun, "COMPLETED", 0, 0)
	waitFor(t, "exit", 5*time.Second, func() bool { return srv.event(rRun, client.EventExited) != nil })
	if ev := srv.event(rRun, client.EventExited); ev.State != burst.Succeeded || ev.StartedAt == nil ||
		time.Since(*ev.StartedAt) < 30*time.Second {
		t.Errorf("exit event %+v", ev)
	}
}

// ---------------------------------------------------------------- real Slurm

// needSlurm skips, loudly, unless sbatch is on PATH and SLURM_CONF names a
// cluster that answers. (As root, a cluster is started with
// `eval "$(scripts/slurm-dev.sh start /tmp/native-dev)"`.)
func needSlurm(t *testing.T) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("sbatch"); err != nil {
		why = "sbatch is not on PATH"
	} else if os.Getenv("SLURM_CONF") == "" {
		why = "SLURM_CONF is not set"
	} else if out, err := (Client{Timeout: 10 * time.Second}).Run(context.Background(), "sinfo", "-h", "-o", "%T"); err != nil || strings.TrimSpace(out) == "" {
		why = fmt.Sprintf("sinfo does not answer (%v)", err)
	}
	if why != "" {
		slurmtest.Skip(t, why+` (as root, TestMain starts one with scripts/slurm-dev.sh)`)
	}
}

// TestMain starts a real Slurm for the tests that need one, unless
// SLURM_CONF already names one.
func TestMain(m *testing.M) {
	if os.Getenv("SLURM_CONF") == "" {
		if root, err := filepath.Abs("../.."); err == nil {
			conf, stop, why := slurmtest.Start(root, 22817)
			if conf != "" {
				os.Setenv("SLURM_CONF", conf)
			} else {
				fmt.Fprintln(os.Stderr, "!!! internal/slurm: the real-Slurm tests will skip (or fail under BURST_CI):", why)
			}
			code := m.Run()
			stop()
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

func TestRealCapacity(t *testing.T) {
	needSlurm(t)
	r, err := Capacity(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.CPUs < 1 || r.MemBytes < 1<<20 {
		t.Errorf("Capacity = %+v", r)
	}
	t.Logf("capacity of the default partition: %+v", r)
	if _, err := Capacity(context.Background(), "no-such-partition"); err == nil {
		t.Error("Capacity of a partition that does not exist: want an error")
	}
}

// The Slurm side alone: submit, poll, read the end, cancel.
func TestRealSubmitPoll(t *testing.T) {
	needSlurm(t)
	ctx := context.Background()
	dir := t.TempDir()
	sl := Client{}
	tag := tagFor("test-native", "", dir)
	as := client.Assignment{TaskRef: ref(1, 0, 1), Argv: []string{"sh", "-c", "echo hi; exit 3"}, Stdout: dir + "/o", Stderr: dir + "/e"}
	b, err := taskBatch(as, &client.JobContext{Dir: dir, CPUs: 1, TimeLimitS: 60, MemBytes: 64 << 20}, "", tag, "", shape{})
	if err != nil {
		t.Fatal(err)
	}
	b.Env = sbatchEnv(os.Environ(), nil, nil)
	id, err := sl.Submit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sl.Cancel(ctx, id) })
	var last Job
	waitFor(t, "the job to end", 60*time.Second, func() bool {
		qs, err := sl.Queue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			if q.ID == id {
				last = q
			}
		}
		return Terminal(last.State)
	})
	if last.Name != "burst-1-0-1" || last.Comment != tag {
		t.Errorf("squeue line %+v", last)
	}
	info, err := sl.Show(ctx, id)
	if err != nil || info == nil {
		t.Fatalf("show: %v %v", info, err)
	}
	st, exit, _, _ := outcome(info, false)
	if st != burst.Failed || exit == nil || *exit != 3 || info.Start.IsZero() || info.End.IsZero() || !info.Ran() {
		t.Errorf("job %+v: %s exit %v", info, st, deref(exit))
	}
	if b, _ := os.ReadFile(dir + "/o"); string(b) != "hi\n" {
		t.Errorf("stdout %q", b)
	}
	if info, err := sl.Show(ctx, 999999999); info != nil || err != nil {
		t.Errorf("show of an unknown job: %v %v", info, err)
	}

	// Cancel one.
	as = client.Assignment{TaskRef: ref(1, 1, 1), Argv: []string{"sleep", "300"}, Stdout: dir + "/o2"}
	b, _ = taskBatch(as, &client.JobContext{Dir: dir, CPUs: 1}, "", tag, "", shape{})
	id2, err := sl.Submit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := sl.Cancel(ctx, id2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cancel", 30*time.Second, func() bool {
		info, err := sl.Show(ctx, id2)
		return err == nil && info != nil && Terminal(info.State)
	})
	info, _ = sl.Show(ctx, id2)
	if st, _, _, reason := outcome(info, true); st != burst.Cancelled || reason != "cancelled" {
		t.Errorf("cancelled job: %+v", info)
	}

	// sbatch refuses: its message is kept.
	b, _ = taskBatch(as, &client.JobContext{Dir: dir, CPUs: 1}, "no-such-partition", tag, "", shape{})
	_, err = sl.Submit(ctx, b)
	if err == nil || !strings.HasPrefix(sbatchReason(err), "sbatch: error: ") {
		t.Errorf("sbatch to a missing partition: %v", err)
	}
	t.Logf("sbatch's refusal: %s", sbatchReason(err))
}

// The whole agent against real Slurm (and a fake burst server): exits,
// scripts, cancels, refusals, and a restart that finds the jobs again.
func TestRealAgent(t *testing.T) {
	needSlurm(t)
	srv, c := newFakeServer(t)
	cfg := testConfig(t, c)
	cfg.Poll = 200 * time.Millisecond
	logs := t.TempDir()
	t.Cleanup(func() { cancelTagged(tagFor(cfg.Machine, cfg.HomeID, cfg.Dir)) })
	stop := startAgent(t, cfg, Client{})

	jc := &client.JobContext{Dir: logs, CPUs: 1, MemBytes: 64 << 20, TimeLimitS: 60, Env: []string{"GREETING=hello there"}}
	rExit, rOK, rCancel, rBad := ref(1, 0, 1), ref(1, 1, 1), ref(1, 2, 1), ref(4, 0, 1)
	srv.give(jc,
		client.Assignment{TaskRef: rExit, Argv: []string{"sh", "-c", `echo "$GREETING $BURST_TASK_ID"; exit 3`}, TaskEnv: []string{"BURST_TASK_ID=0"},
			Stdout: logs + "/0.out", Stderr: logs + "/0.err"},
		client.Assignment{TaskRef: rOK, Argv: []string{"true"}, Stdout: logs + "/1.out", Stderr: logs + "/1.err"},
		client.Assignment{TaskRef: rCancel, Argv: []string{"sleep", "300"}, Stdout: logs + "/2.out", Stderr: logs + "/2.err"})
	// GPUs of a cluster that has none: sbatch refuses the job.
	srv.give(&client.JobContext{Dir: logs, CPUs: 1, GPUs: 1}, client.Assignment{TaskRef: rBad, Argv: []string{"true"}, Stdout: logs + "/3.out"})
	script := "#!/bin/sh\n#SBATCH --job-name=ignored\n#SBATCH --ntasks=1\necho \"script [$1] [$2] $SLURM_JOB_NAME\"\nexit 0\n"
	rScript := ref(2, 0, 1)
	srv.give(&client.JobContext{Dir: logs, CPUs: 1, Script: script},
		client.Assignment{TaskRef: rScript, Argv: []string{"a b", "c"}, Stdout: logs + "/s.out", Stderr: logs + "/s.out"})

	waitFor(t, "the exit 3", 60*time.Second, func() bool { return srv.event(rExit, client.EventExited) != nil })
	ev := srv.event(rExit, client.EventExited)
	if ev.State != burst.Failed || ev.ExitCode == nil || *ev.ExitCode != 3 {
		t.Errorf("exit event %+v", ev)
	}
	if st := srv.event(rExit, client.EventStarted); st == nil || st.PID <= 0 {
		t.Errorf("started event %+v", st)
	}
	if b, _ := os.ReadFile(logs + "/0.out"); string(b) != "hello there 0\n" {
		t.Errorf("stdout %q", b)
	}
	waitFor(t, "the refusal", 30*time.Second, func() bool { return srv.event(rBad, client.EventExited) != nil })
	if ev := srv.event(rBad, client.EventExited); ev.State != burst.Failed || !strings.HasPrefix(ev.Reason, "sbatch: ") {
		t.Errorf("exit event %+v", ev)
	}
	waitFor(t, "the script", 60*time.Second, func() bool { return srv.event(rScript, client.EventExited) != nil })
	if ev := srv.event(rScript, client.EventExited); ev.State != burst.Succeeded {
		t.Errorf("exit event %+v", ev)
	}
	if b, _ := os.ReadFile(logs + "/s.out"); string(b) != "script [a b] [c] burst-2-0-1\n" {
		t.Errorf("script output %q", b)
	}
	waitFor(t, "true", 60*time.Second, func() bool { return srv.event(rOK, client.EventExited) != nil })
	if ev := srv.event(rOK, client.EventExited); ev.State != burst.Succeeded {
		t.Errorf("exit event %+v", ev)
	}
	waitFor(t, "sleep to start", 60*time.Second, func() bool { return srv.event(rCancel, client.EventStarted) != nil })
	slurmID := srv.event(rCancel, client.EventStarted).PID
	srv.cancel(rCancel)
	waitFor(t, "the cancel", 60*time.Second, func() bool { return srv.event(rCancel, client.EventExited) != nil })
	if ev := srv.event(rCancel, client.EventExited); ev.State != burst.Cancelled || ev.Reason != "cancelled" {
		t.Errorf("exit event %+v", ev)
	}

	// A restart: the running job is found again and then killed at the
	// server's request.
	rLong := ref(3, 0, 1)
	srv.give(&client.JobContext{Dir: logs, CPUs: 1}, client.Assignment{TaskRef: rLong, Argv: []string{"sleep", "300"}, Stdout: logs + "/l.out"})
	waitFor(t, "sleep to start", 60*time.Second, func() bool { return srv.event(rLong, client.EventStarted) != nil })
	longID := srv.event(rLong, client.EventStarted).PID
	stop()
	srv.mu.Lock()
	srv.boot, srv.events, srv.regs, srv.kill = "boot-2", nil, nil, []client.TaskRef{rLong}
	srv.mu.Unlock()
	startAgent(t, cfg, Client{})
	waitFor(t, "registration", 30*time.Second, func() bool { return len(srv.registrations()) == 1 })
	reg := srv.registrations()[0]
	if !slices.Contains(reg.Running, client.RunningTask{TaskRef: rLong, PID: longID}) {
		t.Errorf("Register.Running = %+v, want %v with PID %d", reg.Running, rLong, longID)
	}
	found := map[client.TaskRef]burst.State{}
	for _, e := range reg.Events {
		if e.Kind == client.EventExited {
			found[e.TaskRef] = e.State
		}
	}
	if found[rExit] != burst.Failed || found[rOK] != burst.Succeeded || found[rScript] != burst.Succeeded || found[rCancel] != burst.Cancelled {
		t.Errorf("Register.Events exits = %v", found)
	}
	waitFor(t, "the kill", 60*time.Second, func() bool { return srv.event(rLong, client.EventExited) != nil })
	if ev := srv.event(rLong, client.EventExited); ev.State != burst.Cancelled {
		t.Errorf("exit event %+v", ev)
	}
	info, err := Client{}.Show(context.Background(), int64(slurmID))
	if err != nil || info == nil || info.State != "CANCELLED" {
		t.Errorf("Slurm's view of the cancelled job: %+v %v", info, err)
	}
}

// cancelTagged scancels every live job with tag (what a failed test left).
func cancelTagged(tag string) {
	qs, _ := Client{}.Queue(context.Background())
	for _, q := range qs {
		if q.Comment == tag && !Terminal(q.State) {
			Client{}.Cancel(context.Background(), q.ID)
		}
	}
}

// The agent against a real burst server: it registers as a machine of
// cluster x:native, takes a job submitted to that cluster, runs it in Slurm
// and the job ends with the task's exit status.
func TestRealServer(t *testing.T) {
	needSlurm(t)
	if testing.Short() {
		t.Skip("builds burst")
	}
	root, err := os.MkdirTemp("", "bn-") // short: the socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	exe := filepath.Join(root, "burst")
	build := exec.Command("go", "build", "-o", exe, "github.com/burst-sh/burst/cmd/burst")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildmode=exe") // as make build
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(root, "home")
	cmd := exec.Command(exe, "server", "--port", "0")
	cmd.Env = append(os.Environ(), "BURST_HOME="+home)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var c *client.Client
	waitFor(t, "the server", 30*time.Second, func() bool {
		tok, err := os.ReadFile(filepath.Join(home, "token"))
		if err != nil {
			return false
		}
		c, _ = client.New("unix://"+filepath.Join(home, "burst.sock"), strings.TrimSpace(string(tok)))
		_, err = c.Health(context.Background())
		return err == nil
	})
	cfg := Config{Client: c, Machine: "x-native", Cluster: "x:native", Dir: filepath.Join(home, "native", "x"), Poll: 200 * time.Millisecond,
		Res: burst.Resources{CPUs: 4, MemBytes: 4 << 30}}
	t.Cleanup(func() { cancelTagged(tagFor(cfg.Machine, cfg.HomeID, cfg.Dir)) })
	startAgent(t, cfg, Client{})
	waitFor(t, "the machine", 30*time.Second, func() bool {
		ms, err := c.Machines(context.Background())
		return err == nil && slices.ContainsFunc(ms, func(m burst.Machine) bool { return m.ID == "x-native" && m.State == burst.MachineRunning })
	})
	work := t.TempDir()
	job, err := c.Submit(context.Background(), &burst.JobSpec{Name: "native", Argv: []string{"sh", "-c", "echo from slurm $BURST_JOB_ID; exit 3"},
		Workdir: work, Cluster: "x:native", Resources: burst.Resources{CPUs: 1, MemBytes: 64 << 20}})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	j, err := c.Wait(ctx, job.ID)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if j.State != burst.Failed || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("job %d: %s exit %v, want failed with exit 3", j.ID, j.State, deref(j.ExitCode))
	}
	tasks, err := c.Tasks(context.Background(), job.ID, 0, 10)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks: %v %v", tasks, err)
	}
	info, err := Client{}.Show(context.Background(), int64(tasks[0].PID))
	if err != nil || info == nil || info.Name != jobName(ref(job.ID, 0, 1)) || info.ExitStatus != 3 {
		t.Errorf("Slurm job %d: %+v %v", tasks[0].PID, info, err)
	}
	var out strings.Builder
	if err := c.Logs(context.Background(), job.ID, client.LogsQuery{}, &out); err != nil || out.String() != fmt.Sprintf("from slurm %d\n", job.ID) {
		t.Errorf("logs %q %v", out.String(), err)
	}
}
