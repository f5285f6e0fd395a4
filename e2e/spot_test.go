package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// imdsStandIn is a stand-in for EC2's instance metadata service (IMDSv2),
// the one thing of a spot machine that cannot exist here: a session token
// (PUT /latest/api/token), then, with it,
// /latest/meta-data/spot/instance-action: 404 until the test posts a
// notice, the notice after. It listens on the bridge, where the hosts
// reach it; the agent finds it as any AWS program finds its metadata
// endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT) and never knows it talks to
// a stand-in.
type imdsStandIn struct {
	url string

	mu     sync.Mutex
	notice []byte    // nil: none yet
	served time.Time // when the notice was first served
}

const imdsToken = "stand-in-token"

func newIMDSStandIn(t *testing.T) *imdsStandIn {
	t.Helper()
	ln, err := net.Listen("tcp", hostGateway+":0")
	if err != nil {
		t.Fatalf("listen on the bridge: %v", err)
	}
	s := &imdsStandIn{url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		fmt.Fprint(w, imdsToken)
	})
	mux.HandleFunc("GET /latest/meta-data/spot/instance-action", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-aws-ec2-metadata-token") != imdsToken {
			http.Error(w, "IMDSv2: a session token is required", http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		n := s.notice
		if n != nil && s.served.IsZero() {
			s.served = time.Now()
		}
		s.mu.Unlock()
		if n == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(n)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// post makes the stand-in serve a terminate notice for at.
func (s *imdsStandIn) post(at time.Time) {
	b, _ := json.Marshal(map[string]string{"action": "terminate", "time": at.UTC().Format(time.RFC3339)})
	s.mu.Lock()
	s.notice = b
	s.mu.Unlock()
}

func (s *imdsStandIn) servedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// A spot interruption mid-map: the agent on a namespace host reads the
// notice from the (stand-in) instance metadata, the server requeues every
// task of its machine as preempted (not counted against --retries 0), and
// they finish on another machine. Nothing is lost, nothing is charged
// twice: the interrupted machine's ledger is exactly what was lost to
// preemption, and `burst budget` shows it. The time from the notice being
// served to the requeue is printed, not asserted.
func TestSpotInterruption(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	md := newIMDSStandIn(t)
	h.mustRun("cluster", "create", "spotlab", "--provider", "joined")
	a := h.startHostAgentEnv(1, []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + md.url},
		"--machine", "bh1-spot", "--cluster", "spotlab", "--cpus", "2", "--spot-notice", "aws")
	h.waitRegistered(a)

	// Attempt 1 of each task waits to be stopped; a later one ends at once.
	script := `if [ "$BURST_ATTEMPT" = 1 ]; then exec sleep 600; fi; echo "done $1"`
	r := h.mustRun("map", "-d", "--on", "spotlab", "--cpus", "1", "--retries", "0", "--", "sh", "-c", script, "_", "{}", ":::", "a", "b")
	id := mustID(t, r.stdout)
	h.waitFor("both tasks to run on bh1-spot", 30*time.Second, func() bool {
		j := h.showTasks(id, 2)
		return j.Tasks.Running == 2
	})
	time.Sleep(time.Second) // a second of both on bh1: money to lose

	md.post(time.Now().Add(20 * time.Second))
	var requeued time.Time
	h.waitFor("the tasks to be requeued as preempted", 30*time.Second, func() bool {
		j := h.showTasks(id, 2)
		for _, tk := range j.TaskList {
			if tk.State != "queued" || !strings.Contains(tk.Reason, "attempt 1 preempted (spot interruption on bh1-spot)") {
				return false
			}
		}
		requeued = time.Now()
		return true
	})
	served := md.servedAt()
	if served.IsZero() {
		t.Fatal("the tasks were requeued, but the agent never read the notice")
	}
	t.Logf("spot interruption: notice served to the agent → both tasks seen requeued by the test: %s (goal ≤ 2 s; the test's polling of burst show adds to it)",
		requeued.Sub(served).Round(time.Millisecond))
	if m, _ := h.machine("bh1-spot"); m.State != "stopping" {
		t.Fatalf("bh1-spot is %s after its notice, want stopping (interrupted)", m.State)
	}
	if out := h.mustRun("machine", "list").stdout; !strings.Contains(out, "interrupted") {
		t.Errorf("burst machine list does not show bh1-spot as interrupted:\n%s", out)
	}

	// Elsewhere they finish, on their second attempt, though --retries is 0.
	b := h.startHostAgent(2, "--machine", "bh2-spot", "--cluster", "spotlab", "--cpus", "2")
	h.waitRegistered(b)
	h.mustRun("wait", idArg(id))
	j := h.showTasks(id, 2)
	if j.State != "succeeded" || j.Tasks.Succeeded != 2 {
		t.Fatalf("job %d: %s, tasks %+v; want succeeded, 2 of 2", id, j.State, j.Tasks)
	}
	for _, tk := range j.TaskList {
		if tk.Machine != "bh2-spot" || tk.Attempt != 2 || !strings.Contains(tk.Reason, "attempt 1 preempted (spot interruption on bh1-spot)") {
			t.Errorf("task %d: attempt %d on %s (%s); want attempt 2 on bh2-spot, saying attempt 1 was preempted", tk.Index, tk.Attempt, tk.Machine, tk.Reason)
		}
	}
	if out := h.mustRun("show", idArg(id)).stdout; !strings.Contains(out, "preempted (spot interruption on bh1-spot)") {
		t.Errorf("burst show does not say the tasks were preempted:\n%s", out)
	}

	// The ledger: bh1-spot's time went to the cut attempts alone (a joined
	// machine is charged by use), all of it lost to preemption; bh2-spot's
	// is the tasks'. Each is charged once: the kinds add up to the total.
	byKind := h.costBy("kind")
	byMachine := h.costBy("machine")
	if byKind["preemption"] <= 0 {
		t.Fatalf("no loss to preemption in the ledger: %v", byKind)
	}
	if byMachine["bh1-spot"] != byKind["preemption"] {
		t.Errorf("bh1-spot cost %d n$, lost to preemption %d n$: want them equal (charged once, all lost)", byMachine["bh1-spot"], byKind["preemption"])
	}
	if byMachine["bh2-spot"] != byKind["task"] {
		t.Errorf("bh2-spot cost %d n$, tasks %d n$: want them equal", byMachine["bh2-spot"], byKind["task"])
	}
	var budget struct {
		Budget struct {
			SpentUSD      float64 `json:"spent_usd"`
			PreemptionUSD float64 `json:"preemption_usd"`
		} `json:"budget"`
	}
	out := h.mustRun("project", "show", "default", "-o", "json").stdout
	if err := json.Unmarshal([]byte(out), &budget); err != nil {
		t.Fatalf("project show -o json: %v\n%s", err, out)
	}
	if got, want := budget.Budget.PreemptionUSD, float64(byKind["preemption"])/1e9; got < want-1e-9 || got > want+1e-6 {
		t.Errorf("burst budget: lost to preemption $%.9f, the ledger $%.9f", got, want)
	}
	if txt := h.mustRun("budget", "default").stdout; !strings.Contains(txt, "lost to preemption $") {
		t.Errorf("burst budget does not show the loss to preemption:\n%s", txt)
	}

	// At the notice's time the machine is stopped, for good.
	h.waitFor("bh1-spot to be terminated at its notice's time", 60*time.Second, func() bool {
		m, _ := h.machine("bh1-spot")
		return m.State == "terminated"
	})
}

// costBy is `burst cost --by by -o json` as key → nano-dollars; it checks
// that the lines add up to the total exactly.
func (h *harness) costBy(by string) map[string]int64 {
	h.t.Helper()
	out := h.mustRun("cost", "--by", by, "-o", "json").stdout
	var rep struct {
		Lines []struct {
			Key  string `json:"key"`
			NUSD int64  `json:"nusd"`
		} `json:"lines"`
		TotalNUSD int64 `json:"total_nusd"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		h.t.Fatalf("cost --by %s -o json: %v\n%s", by, err, out)
	}
	m := map[string]int64{}
	var sum int64
	for _, l := range rep.Lines {
		m[l.Key] += l.NUSD
		sum += l.NUSD
	}
	if sum != rep.TotalNUSD {
		h.t.Fatalf("cost --by %s: lines add up to %d n$, the total says %d", by, sum, rep.TotalNUSD)
	}
	return m
}
