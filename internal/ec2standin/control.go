package ec2standin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The control API (JSON, on a port of its own): what a test does to the
// stand-in that EC2 does by itself.
//
//	POST /standin/interrupt   {"instance":"i-...","notice":"2m"}  spot notice, then terminate at its time
//	POST /standin/fail        {"action":"RunInstances","code":"InsufficientInstanceCapacity","count":1}
//	POST /standin/boot-delay  {"delay":"3s"}
//	GET  /standin/instances   the instances: state, host, user-data log
//	GET  /standin/calls       how many calls of each action came (failed ones too)
//	GET  /standin/log         every call in order: [{"action","at","code"}] (code: what a failure rule answered)

// InstanceInfo is an instance as the control API lists it.
type InstanceInfo struct {
	ID        string            `json:"id"`
	State     string            `json:"state"`
	Type      string            `json:"type"`
	Region    string            `json:"region"`
	Zone      string            `json:"zone"`
	Spot      bool              `json:"spot"`
	Host      int               `json:"host"` // the namespace host (bhN), 0 when none
	PrivateIP string            `json:"private_ip"`
	Tags      map[string]string `json:"tags"`
	Log       string            `json:"log"` // the user-data's output, and the stand-in's lines about the instance
	Reason    string            `json:"reason,omitempty"`
	Launched  time.Time         `json:"launched"`
	Running   *time.Time        `json:"running,omitempty"`
	Ended     *time.Time        `json:"ended,omitempty"`
	Action    *Action           `json:"action,omitempty"`
}

// ControlAPI is the control endpoint's handler.
func (s *Server) ControlAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /standin/interrupt", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Instance string   `json:"instance"`
			Notice   Duration `json:"notice"`
		}
		if !decode(w, r, &req) {
			return
		}
		if req.Notice == 0 {
			req.Notice = Duration(2 * time.Minute)
		}
		a, err := s.interrupt(req.Instance, time.Duration(req.Notice))
		if err != nil {
			http.Error(w, "ec2-standin (test double): interrupt: "+err.Error(), http.StatusConflict)
			return
		}
		json.NewEncoder(w).Encode(a)
	})
	mux.HandleFunc("POST /standin/fail", func(w http.ResponseWriter, r *http.Request) {
		var rule FailRule
		if !decode(w, r, &rule) {
			return
		}
		if rule.Action == "" || rule.Code == "" {
			http.Error(w, "ec2-standin (test double): fail needs an action and a code", http.StatusBadRequest)
			return
		}
		if rule.Count <= 0 {
			rule.Count = 1
		}
		s.mu.Lock()
		s.fails[rule.Action] = append(s.fails[rule.Action], rule)
		s.mu.Unlock()
		json.NewEncoder(w).Encode(rule)
	})
	mux.HandleFunc("POST /standin/boot-delay", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Delay Duration `json:"delay"`
		}
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		s.bootDelay = time.Duration(req.Delay)
		s.mu.Unlock()
		json.NewEncoder(w).Encode(req)
	})
	mux.HandleFunc("GET /standin/instances", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(s.list())
	})
	mux.HandleFunc("GET /standin/calls", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		json.NewEncoder(w).Encode(s.calls)
	})
	mux.HandleFunc("GET /standin/log", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		json.NewEncoder(w).Encode(append([]Call{}, s.callLog...))
	})
	return mux
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, "ec2-standin (test double): bad JSON body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Server) list() []InstanceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []InstanceInfo{}
	for _, in := range s.instances {
		i := InstanceInfo{ID: in.ID, State: in.State, Type: in.Type, Region: in.Region, Zone: in.Zone, Spot: in.Spot,
			PrivateIP: in.PrivateIP, Tags: map[string]string{}, Log: in.LogPath, Reason: in.ReasonCode, Launched: in.Launched, Action: in.Action}
		if _, hosts := s.machines.(*Hosts); hosts {
			i.Host = in.Slot
		}
		for _, t := range in.Tags {
			i.Tags[t.Key] = t.Value
		}
		if !in.Running.IsZero() {
			t := in.Running
			i.Running = &t
		}
		if !in.Ended.IsZero() {
			t := in.Ended
			i.Ended = &t
		}
		out = append(out, i)
	}
	return out
}

// Control is a client of the control API.
type Control struct {
	URL  string // http://127.0.0.1:PORT
	HTTP *http.Client
}

// Interrupt gives a spot instance its interruption notice; EC2 terminates
// it at the notice's time.
func (c *Control) Interrupt(ctx context.Context, instance string, notice time.Duration) (Action, error) {
	var a Action
	err := c.do(ctx, "POST", "/standin/interrupt", map[string]any{"instance": instance, "notice": Duration(notice)}, &a)
	return a, err
}

// Fail makes the next rule.Count calls of rule.Action fail with rule.Code.
func (c *Control) Fail(ctx context.Context, rule FailRule) error {
	return c.do(ctx, "POST", "/standin/fail", rule, nil)
}

// SetBootDelay sets how long later launches stay pending before their
// user-data runs.
func (c *Control) SetBootDelay(ctx context.Context, d time.Duration) error {
	return c.do(ctx, "POST", "/standin/boot-delay", map[string]any{"delay": Duration(d)}, nil)
}

// Instances lists every instance launched, terminated ones too.
func (c *Control) Instances(ctx context.Context) ([]InstanceInfo, error) {
	var out []InstanceInfo
	err := c.do(ctx, "GET", "/standin/instances", nil, &out)
	return out, err
}

// Instance is one instance by id.
func (c *Control) Instance(ctx context.Context, id string) (InstanceInfo, error) {
	all, err := c.Instances(ctx)
	if err != nil {
		return InstanceInfo{}, err
	}
	for _, i := range all {
		if i.ID == id {
			return i, nil
		}
	}
	return InstanceInfo{}, fmt.Errorf("ec2-standin (test double): no instance %s", id)
}

// Calls counts the calls of each action the API received.
func (c *Control) Calls(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := c.do(ctx, "GET", "/standin/calls", nil, &out)
	return out, err
}

// Log is every call the API received, in order, with its time.
func (c *Control) Log(ctx context.Context) ([]Call, error) {
	var out []Call
	err := c.do(ctx, "GET", "/standin/log", nil, &out)
	return out, err
}

func (c *Control) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, body)
	if err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
