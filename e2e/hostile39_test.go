package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	// venus's joined machine, as a hostile task on it drives it with the
	// machine's credential.
	h.mustRun("cluster", "create", "vlab", "--provider", "joined", "--project", "venus")
	tok := h.joinToken("--cluster", "vlab")
	anon, err := client.New(l.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	joined, err := anon.Join(ctx, &client.JoinRequest{Token: tok.Token, Machine: "far"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := client.New(l.addr, joined.Credential)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := m.Register(ctx, &client.Register{Machine: joined.Machine, Cluster: "vlab", Host: "far", PID: 4242,
		CPUs: 2, MemBytes: 1 << 30, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	h.waitMachine(joined.Machine, burst.MachineRunning)

	first := detachedID(t, l.as("nora", "run", "--project", "venus", "--on", "vlab", "--cache", "--out", "x", "-d", "--", "true"))
	var a client.Assignment
	h.waitFor("the machine to lease nora's task", 30*time.Second, func() bool {
		got, err := m.Lease(ctx, &client.Lease{Machine: joined.Machine, BootID: reg.BootID, WaitMS: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range got.Tasks {
			if x.Job == first {
				a = x
				return true
			}
		}
		return false
	})
	now := time.Now().UTC()
	zero := 0
	if err := m.ReportEvents(ctx, &client.Report{Machine: joined.Machine, BootID: reg.BootID, Events: []client.TaskEvent{
		{TaskRef: a.TaskRef, Kind: client.EventStarted, PID: 4243, StartedAt: &now},
		{TaskRef: a.TaskRef, Kind: client.EventExited, State: burst.Succeeded, ExitCode: &zero, StartedAt: &now, EndedAt: &now,
			Outputs: []client.OutputFile{{Path: "x", Digest: d, Size: int64(len(secret)), Mode: 0o644}}},
	}}); err != nil {
		t.Fatal(err)
	}
	h.mustRun("wait", idArg(first))

	row := faultRow{Fault: "a forged output digest reaches another project's blob through the cache"}
	row.Tasks++
	second := detachedID(t, l.as("nora", "run", "--project", "venus", "--on", "vlab", "--cache", "--out", "x", "-d", "--", "true"))
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
