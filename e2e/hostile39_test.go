package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// marsSecret has alice put a small file (pin.txt, its likely contents)
// into mars: its bytes and digest.
func (l *lab) marsSecret(t *testing.T) ([]byte, string) {
	t.Helper()
	secret := []byte("pin=4711\n")
	if err := os.WriteFile(filepath.Join(l.h.dir, "pin.txt"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(secret)
	if r := l.as("alice", "storage", "put", "pin.txt", "--project", "mars"); r.code != 0 {
		t.Fatalf("alice puts the file into mars: %s", r)
	}
	return secret, "sha256:" + hex.EncodeToString(sum[:])
}

// A machine credential is no key to another project's blobs through the
// cache: a task on a joined machine of venus can read the machine's
// credential (~/.burst/joined.json) and report for the task it holds any
// outputs it likes, a digest of a blob only mars holds among them (seen
// somewhere, or found by hashing a small file's likely contents). The
// report is taken as the task's outputs; with --cache it became the cached
// result, and a second identical job of nora's (venus, no role in mars),
// ended from the cache, had venus hold the blob: she then read mars's file.
// A reported output the machine did not upload for that task gives venus
// nothing: the hit does not make venus hold it, and nora reads no byte.
func TestForgedOutputIsNoKey(t *testing.T) {
	t.Parallel()
	l := newLabVenus(t)
	h := l.h
	secret, d := l.marsSecret(t)
	m := l.hostileMachine(t, "venus", true)

	first := detachedID(t, l.as("nora", "run", "--project", "venus", "--on", m.cluster, "--cache", "--out", "x", "-d", "--", "true"))
	m.exit(m.lease(first), client.TaskEvent{Outputs: []client.OutputFile{{Path: "x", Digest: d, Size: int64(len(secret)), Mode: 0o644}}})
	h.mustRun("wait", idArg(first))

	row := faultRow{Fault: "a forged output digest reaches another project's blob through the cache"}
	row.Tasks++
	second := detachedID(t, l.as("nora", "run", "--project", "venus", "--on", m.cluster, "--cache", "--out", "x", "-d", "--", "true"))
	h.mustRun("wait", idArg(second))
	if code, body := l.call(t, l.tokens["nora"], "GET", "/v1/blobs/"+d, ""); code != 404 {
		row.FailedWrongly++
		t.Errorf("nora reads mars's blob after a cache hit on a forged output: %d %q, want 404", code, body)
	}
	if r := l.as("nora", "storage", "ls", "--project", "venus", "-o", "json"); strings.Contains(r.stdout, d) {
		row.FailedWrongly++
		t.Errorf("venus holds mars's blob after a cache hit on a forged output:\n%s", r)
	}
	out := filepath.Join(h.dir, "fetched")
	l.as("nora", "results", idArg(second), "--fetch", out)
	if b, err := os.ReadFile(filepath.Join(out, "x")); err == nil {
		row.FailedWrongly++
		t.Errorf("nora fetched mars's file through the cache: %q", b)
	}
	recordFault(t, row)
}

// hostileMachine is a machine joined to a new cluster of project, driven
// by hand with its credential, as a task on it may: it reports what it
// likes.
type hostileMachine struct {
	t             *testing.T
	h             *harness
	cl            *client.Client
	name, cluster string
	boot          string
	ctx           context.Context
}

// hostileMachine joins a machine to a new cluster of project, with its own
// credential, as a task there could: remote, it says it shares no
// filesystem with the server (its output is shipped); otherwise that it
// does (its reports of what it wrote are taken as they are).
func (l *lab) hostileMachine(t *testing.T, project string, remote bool) *hostileMachine {
	t.Helper()
	h := l.h
	cluster := project + "-far"
	h.mustRun("cluster", "create", cluster, "--provider", "joined", "--project", project)
	tok := h.joinToken("--cluster", cluster)
	anon, err := client.New(l.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	joined, err := anon.Join(ctx, &client.JoinRequest{Token: tok.Token, Machine: "far"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(l.addr, joined.Credential)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cl.Register(ctx, &client.Register{Machine: joined.Machine, Cluster: cluster, Host: "far", PID: 4242,
		CPUs: 2, MemBytes: 1 << 30, Remote: remote})
	if err != nil {
		t.Fatal(err)
	}
	h.waitMachine(joined.Machine, burst.MachineRunning)
	return &hostileMachine{t: t, h: h, cl: cl, name: joined.Machine, cluster: cluster, boot: reg.BootID, ctx: ctx}
}

// lease waits for a task of job and reports it started.
func (m *hostileMachine) lease(job int64) client.TaskRef {
	m.t.Helper()
	var a client.TaskRef
	m.h.waitFor(fmt.Sprintf("machine %s to lease a task of job %d", m.name, job), 30*time.Second, func() bool {
		got, err := m.cl.Lease(m.ctx, &client.Lease{Machine: m.name, BootID: m.boot, WaitMS: 1000})
		if err != nil {
			m.t.Fatal(err)
		}
		for _, x := range got.Tasks {
			if x.Job == job {
				a = x.TaskRef
				return true
			}
		}
		return false
	})
	now := time.Now().UTC()
	m.report(client.TaskEvent{TaskRef: a, Kind: client.EventStarted, PID: 4243, StartedAt: &now})
	return a
}

// exit reports task a succeeded, with what ev adds.
func (m *hostileMachine) exit(a client.TaskRef, ev client.TaskEvent) {
	m.t.Helper()
	now := time.Now().UTC()
	zero := 0
	ev.TaskRef, ev.Kind, ev.State, ev.ExitCode, ev.StartedAt, ev.EndedAt = a, client.EventExited, burst.Succeeded, &zero, &now, &now
	m.report(ev)
}

func (m *hostileMachine) report(ev client.TaskEvent) {
	m.t.Helper()
	if err := m.cl.ReportEvents(m.ctx, &client.Report{Machine: m.name, BootID: m.boot, Events: []client.TaskEvent{ev}}); err != nil {
		m.t.Fatal(err)
	}
}

// A remote machine's report of how many bytes a task wrote to its logs is
// held to what it shipped to the server: a task there can read its
// machine's credential, and one forged report of 2^63-1 bytes billed its
// project about $737M a month for storage that no burst storage rm could
// take back. The machine ships 5 bytes and reports 10^15.
func TestRemoteLogBytesAsShipped(t *testing.T) {
	t.Parallel()
	l := newLabVenus(t)
	h := l.h
	m := l.hostileMachine(t, "venus", true)
	id := detachedID(t, l.as("nora", "run", "--project", "venus", "--on", m.cluster, "-d", "--", "true"))
	a := m.lease(id)
	ack, err := m.cl.SendOutput(m.ctx, &client.OutputChunk{Machine: m.name, BootID: m.boot, TaskRef: a,
		Stream: client.StreamStdout, Data: []byte("hello")})
	if err != nil || ack.Next != 5 {
		t.Fatalf("ship 5 bytes: %+v %v", ack, err)
	}
	m.exit(a, client.TaskEvent{OutBytes: 1e15})
	h.mustRun("wait", idArg(id))
	h.mustRun("server", "stop") // writes what the meter counted
	var n int64
	for _, x := range h.storageLs("--project", "venus").Totals {
		n += x.Bytes
	}
	row := faultRow{Fault: "a remote task's log bytes reported past what it shipped", Tasks: 1}
	if n != 5 {
		row.FailedWrongly++
		t.Errorf("venus's storage after a report of 10^15 bytes for 5 shipped: %d bytes, want 5", n)
	}
	if got := h.mustRun("logs", idArg(id)).stdout; got != "hello" {
		t.Errorf("the task's log: %q, want what it shipped", got)
	}
	recordFault(t, row)
}

// The bytes a task's logs take are counted by the meter, which wrote them
// at its next tick: a `burst server stop` right after a job ended (as a
// script's last line does) lost them, and the project never paid for
// those logs. The server writes the meter's counts before it stops.
func TestLogBytesKeptAcrossStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x")
	h.mustRun("server", "stop")
	row := faultRow{Fault: "a job's log bytes at a server stop", Tasks: 1}
	if n := tierBytes(h.storageLs("--project", "default"), "default")["ssd"]; n < 3000000 {
		row.Lost++
		t.Errorf("default's storage after a stop: %d bytes, want the job's 3000000 bytes of log", n)
	}
	recordFault(t, row)
}

// The same, the server killed (SIGKILL) right after the job: a task's log
// bytes are written with its end, in the same commit, not at the meter's
// next tick, which a kill in the 200 ms between lost for good.
func TestLogBytesKeptAcrossKill(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x")
	h.kill9(h.serverPID(), "the server")
	row := faultRow{Fault: "a job's log bytes at a server kill", Tasks: 1}
	if n := tierBytes(h.storageLs("--project", "default"), "default")["ssd"]; n < 3000000 {
		row.Lost++
		t.Errorf("default's storage after a kill: %d bytes, want the job's 3000000 bytes of log", n)
	}
	recordFault(t, row)
}
