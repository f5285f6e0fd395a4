package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func digestOf(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return "sha256:" + string(b)
}

// An input of a job not yet ended is not removed (the error names the
// job and nothing changes); once the job ended it is, its bytes leave the
// project's storage and the blob, held by nobody now, is queued for
// deletion. A move takes the bytes from one tier to the other in the same
// transaction, for every kind the project holds the digest as.
func TestStorageRefsRmTier(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	ctx := context.Background()
	now := time.Now().UTC()
	a, b := digestOf('a'), digestOf('b')
	var id int64
	if err := s.Write(ctx, func(tx *Tx) (err error) {
		for _, r := range []BlobRefRow{
			{Project: "default", Kind: "input", Task: -1, Digest: a, Size: 100, Location: "embedded", CreatedAt: now},
			{Project: "default", Kind: "output", Job: 9, Digest: a, Size: 100, Location: "embedded", CreatedAt: now},
			{Project: "default", Kind: "input", Task: -1, Digest: b, Size: 50, Location: "embedded", CreatedAt: now},
		} {
			if _, err := tx.AddBlobRef(r, "ssd"); err != nil {
				return err
			}
		}
		spec := &burst.JobSpec{Argv: []string{"true"}, Inputs: []burst.Input{{Path: "a", Digest: a, Size: 100}}}
		if id, err = InsertJob(tx, spec, "", now); err != nil {
			return err
		}
		return UseInputs(tx, id, "default", spec.Inputs, now)
	}); err != nil {
		t.Fatal(err)
	}
	storage := func() map[string]int64 {
		m, err := s.Storage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m["default"]
	}
	if got := storage(); got["ssd"] != 250 {
		t.Fatalf("storage after three blobs (a as two kinds): %v, want ssd 250", got)
	}

	err := s.Write(ctx, func(tx *Tx) error { _, _, err := tx.DropBlobRefs("default", RefSel{Digests: []string{a}}); return err })
	var inUse *InputInUse
	if !errors.As(err, &inUse) || inUse.Job != id {
		t.Fatalf("rm of a live job's input: %v, want InputInUse naming job %d", err, id)
	}
	if got := storage(); got["ssd"] != 250 {
		t.Fatalf("a refused rm changed the storage: %v", got)
	}
	blobs, err := s.StoredBlobs(ctx, BlobFilter{Job: id})
	if err != nil || len(blobs) != 1 || blobs[0].LiveJob != id {
		t.Fatalf("StoredBlobs of job %d: %+v, %v; want a, used by the live job", id, blobs, err)
	}

	var moved []StorageChange
	if err := s.Write(ctx, func(tx *Tx) (err error) {
		moved, err = tx.MoveBlobRefs("default", RefSel{Digests: []string{a}}, "cold_hdd")
		return
	}); err != nil {
		t.Fatal(err)
	}
	if got := storage(); len(moved) != 2 || got["ssd"] != 50 || got["cold_hdd"] != 200 {
		t.Fatalf("after moving a (input and output) to cold_hdd: %+v, storage %v; want ssd 50, cold_hdd 200", moved, got)
	}

	if err := s.Write(ctx, func(tx *Tx) error {
		end := now.Add(time.Minute)
		j := JobRow{}
		j.ID, j.State, j.EndedAt = id, burst.Cancelled, &end
		return SaveJob(tx, &j)
	}); err != nil {
		t.Fatal(err)
	}
	var changes []StorageChange
	var deletes []BlobDelete
	if err := s.Write(ctx, func(tx *Tx) (err error) {
		changes, deletes, err = tx.DropBlobRefs("default", RefSel{Digests: []string{a}})
		return err
	}); err != nil {
		t.Fatalf("rm once the job ended: %v", err)
	}
	if got := storage(); len(changes) != 2 || got["cold_hdd"] != 0 || got["ssd"] != 50 {
		t.Fatalf("after rm of a: %+v, storage %v; want a gone from cold_hdd", changes, got)
	}
	queued, err := s.BlobDeletes(ctx)
	if err != nil || len(deletes) != 1 || len(queued) != 1 || queued[0] != (BlobDelete{Digest: a, Location: "embedded"}) {
		t.Fatalf("deletions: returned %+v, queued %+v (%v); want a's, embedded", deletes, queued, err)
	}
	if err := s.Write(ctx, func(tx *Tx) error { _, _, err := tx.DropBlobRefs("default", RefSel{Job: 12345}); return err }); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("rm of a job that holds nothing: %v, want ErrNoMatch", err)
	}
}

// A stack version's root filesystem is not removed by storage rm: named by
// its digest the removal is refused naming the version and burst stack rm
// (the stack stayed listed, and every run of it failed for a blob no
// longer in the store); a removal by age leaves it. Once the version is
// removed its blob goes like any other.
func TestStorageRefsKeepStacks(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	ctx := context.Background()
	now := time.Now().UTC()
	d := digestOf('s')
	if err := s.Write(ctx, func(tx *Tx) error {
		if _, err := tx.AddBlobRef(BlobRefRow{Project: "mars", Kind: "stack", Task: -1, Digest: d, Size: 10, Location: "embedded", CreatedAt: now}, "ssd"); err != nil {
			return err
		}
		return AddStack(tx, &StackRow{Name: "tools", Digest: d, Size: 10, Project: "mars", Author: "alice", CreatedAt: now, Manifest: []byte("{}")}, "embedded")
	}); err != nil {
		t.Fatal(err)
	}
	drop := func(sel RefSel) error {
		return s.Write(ctx, func(tx *Tx) error { _, _, err := tx.DropBlobRefs("mars", sel); return err })
	}
	var inUse *StackInUse
	if err := drop(RefSel{Digests: []string{d}}); !errors.As(err, &inUse) || inUse.Name != "tools" || inUse.Version != 1 ||
		!strings.Contains(err.Error(), "burst stack rm tools:1") {
		t.Fatalf("rm of a stack's blob: %v, want it refused naming burst stack rm tools:1", err)
	}
	if err := drop(RefSel{Before: now.Add(time.Hour)}); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("rm by age with only a stack's blob: %v, want no match", err)
	}
	if err := s.Write(ctx, func(tx *Tx) error { _, err := RemoveStack(tx, "tools", 1); return err }); err != nil {
		t.Fatal(err)
	}
	if err := drop(RefSel{Before: now.Add(time.Hour)}); err != nil {
		t.Fatalf("rm by age of a removed version's blob: %v", err)
	}
}
