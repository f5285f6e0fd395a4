package api

import (
	"context"
	"strings"
	"testing"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// machineStandIn knows one machine credential: machine m1 of cluster lab.
type machineStandIn struct {
	standIn
	leases     int
	registered []string // the clusters registrations reached the backend with
	chunks     int
}

const machineCred = client.MachineCredentialPrefix + "m1"

func (f *machineStandIn) Principal(ctx context.Context, secret string) (*auth.Principal, error) {
	if secret == machineCred {
		return &auth.Principal{Kind: auth.Machine, Name: "m1", Machine: "m1", Cluster: "lab"}, nil
	}
	return nil, nil
}

func (f *machineStandIn) Register(ctx context.Context, r *client.Register) (*client.Registered, error) {
	f.registered = append(f.registered, r.Cluster)
	return &client.Registered{}, nil
}

func (f *machineStandIn) Output(ctx context.Context, ch *client.OutputChunk) (*client.OutputAck, error) {
	f.chunks++
	return &client.OutputAck{Next: ch.Offset + int64(len(ch.Data))}, nil
}

func (f *machineStandIn) Lease(ctx context.Context, l *client.Lease) (*client.Leased, error) {
	f.leases++
	return &client.Leased{}, nil
}

// A machine credential speaks only for its own machine: the agent routes
// refuse to speak for another machine or cluster (that it may call no
// other route is TestMachineRefusedOffAgentRoutes's).
func TestMachineScope(t *testing.T) {
	f := &machineStandIn{}
	h := newTest(t, f)
	bearer := map[string]string{"Authorization": "Bearer " + machineCred}
	for _, tc := range []struct {
		name, path, body string
		want             int
		msg              string
	}{
		{"register as another machine", "/v1/agent/register", `{"machine":"m2","cluster":"lab"}`, 403, "cannot speak for machine m2"},
		{"register in another cluster", "/v1/agent/register", `{"machine":"m1","cluster":"local"}`, 403, "joined cluster lab, not local"},
		{"lease as another machine", "/v1/agent/lease", `{"machine":"m2","boot_id":"b"}`, 403, "cannot speak for machine m2"},
		{"report as another machine", "/v1/agent/report", `{"machine":"m2","boot_id":"b","events":[]}`, 403, "cannot speak for machine m2"},
		{"lease as itself", "/v1/agent/lease", `{"machine":"m1","boot_id":"b"}`, 200, ""},
		// No cluster named: the machine registers in the cluster its
		// credential was issued for, never the default one.
		{"register naming no cluster", "/v1/agent/register", `{"machine":"m1","cluster":""}`, 200, ""},
		{"register in its cluster", "/v1/agent/register", `{"machine":"m1","cluster":"lab"}`, 200, ""},
		{"ship output as another machine", "/v1/agent/output?machine=m2&boot=b&job=1&task=0&attempt=1&stream=stdout&offset=0", "x", 403, "cannot speak for machine m2"},
		{"ship output as itself", "/v1/agent/output?machine=m1&boot=b&job=1&task=0&attempt=1&stream=stdout&offset=0", "x", 200, ""},
	} {
		code, body := call(h, "POST", tc.path, tc.body, bearer)
		if code != tc.want || (tc.msg != "" && !strings.Contains(errMessage(t, body), tc.msg)) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, body, tc.want, tc.msg)
		}
	}
	if f.leases != 1 {
		t.Fatalf("the backend saw %d leases, want the machine's own one", f.leases)
	}
	if strings.Join(f.registered, ",") != "lab,lab" {
		t.Fatalf("registrations reached the backend in clusters %q, want both in the credential's cluster lab", f.registered)
	}
	if f.chunks != 1 {
		t.Fatalf("the backend saw %d output chunks, want the machine's own one", f.chunks)
	}
}
