package server

import (
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// The inputs a map holds in memory are counted while it is active, from
// its submission, a restart or a resume to its end, and no longer.
func TestHeldInputsFollowTheActiveMaps(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	a := h.submit(3) // inputs "0" "1" "2"
	b := h.submit(12)
	sizeA, sizeB := inputsSize(h.inputs[a]), inputsSize(h.inputs[b])
	if want := int64(24 + 3*(1+16)); sizeA != want {
		t.Fatalf("a's inputs take %d, want %d", sizeA, want)
	}
	if h.c.heldInputs != sizeA+sizeB {
		t.Fatalf("held %d after two submits, want %d", h.c.heldInputs, sizeA+sizeB)
	}
	h.restart()
	if h.c.heldInputs != sizeA+sizeB {
		t.Fatalf("held %d after a restart, want %d", h.c.heldInputs, sizeA+sizeB)
	}
	h.register("a", 2)
	h.drive("a", 20, func(r client.TaskRef) int {
		if r.Job == b && r.Index == 4 {
			return 1
		}
		return 0
	})
	h.wantJob(a, burst.Succeeded, 0)
	h.wantJob(b, burst.Failed, 1)
	if h.c.heldInputs != 0 || h.c.jobs[a] != nil {
		t.Fatalf("held %d once both maps ended, want 0", h.c.heldInputs)
	}
	h.resume(b)
	if h.c.heldInputs != sizeB {
		t.Fatalf("held %d once b is resumed, want %d", h.c.heldInputs, sizeB)
	}
	h.drive("a", 20, func(client.TaskRef) int { return 0 })
	h.wantJob(b, burst.Succeeded, 0)
	if h.c.heldInputs != 0 {
		t.Fatalf("held %d once the resumed map ended, want 0", h.c.heldInputs)
	}
}

// A map whose inputs would take the held ones past the limit is refused,
// naming the sizes and the ways out; one that fits is not.
func TestRoomInMemory(t *testing.T) {
	h := newHarness(t)
	h.srv.inputsLimit = 1 << 20
	h.submit(1000) // about 18 KB held
	spec := &burst.JobSpec{Kind: burst.KindMap, Map: &burst.MapSpec{Template: []string{"echo"}}}
	small := [][]string{{strings.Repeat("x", 100<<10)}}
	if err := h.srv.roomInMemory(spec, small); err != nil {
		t.Fatalf("a map of 100 KB refused under a 1 MB limit: %v", err)
	}
	big := [][]string{{strings.Repeat("x", 600<<10), strings.Repeat("y", 600<<10)}}
	err := h.srv.roomInMemory(spec, big)
	if err == nil {
		t.Fatal("a map of 1.2 MB taken under a 1 MB limit")
	}
	for _, want := range []string{"1.2 MiB", "already take 18 KiB of the 1 MiB", "burst jobs", ":::: paths.txt", "--inputs-memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if err := h.srv.roomInMemory(&burst.JobSpec{Kind: burst.KindRun}, big); err != nil {
		t.Fatalf("a job that is no map refused: %v", err)
	}
}

func TestInputsLimit(t *testing.T) {
	for _, c := range []struct{ set, host, want int64 }{
		{0, 1 << 30, MinInputsMemory},
		{0, 64 << 30, 4 << 30},
		{5 << 20, 64 << 30, 5 << 20},
	} {
		if got := inputsLimit(c.set, c.host); got != c.want {
			t.Errorf("inputsLimit(%d, %d) = %d, want %d", c.set, c.host, got, c.want)
		}
	}
}
