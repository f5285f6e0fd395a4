package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/testfs"
)

// A write that meets a full disk is held, not failed: its caller waits
// until space returns and it commits; writes queued behind it wait in
// order; a Try is refused at once with a *FullError; nothing is lost.
func TestFullDiskHoldsWritesUntilSpaceReturns(t *testing.T) {
	ctx := context.Background()
	dir := testfs.SmallDisk(t, "", "4m", nil)
	s := open(t, filepath.Join(dir, "state.db"))
	if err := s.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec("CREATE TABLE filler (n INTEGER, b BLOB)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testfs.Fill(t, filepath.Join(dir, "filler"))

	// Each write adds 64 KiB: the WAL's slack runs out within a few.
	const n = 40
	done := make(chan error, n)
	for i := range n {
		go func() {
			done <- s.Write(ctx, func(tx *Tx) error {
				_, err := tx.Exec("INSERT INTO filler VALUES (?, randomblob(65536))", i)
				return err
			})
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Full() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the store never noticed the full disk")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var fe *FullError
	if err := s.Full(); !errors.As(err, &fe) || fe.Path != s.Path() {
		t.Fatalf("Full() = %v, want a *FullError naming %s", err, s.Path())
	}
	err := s.Try(ctx, func(tx *Tx) error { _, err := tx.Exec("INSERT INTO filler VALUES (-1, NULL)"); return err })
	if !IsFull(err) {
		t.Fatalf("a Try on a full disk answered %v, want a full-disk error", err)
	}
	left := n
	for drained := false; !drained; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("a write failed instead of being held: %v", err)
			}
			left--
		default:
			drained = true
		}
	}
	if left == 0 {
		t.Fatal("no write is held while the store says its disk is full")
	}
	os.Remove(filepath.Join(dir, "filler"))
	for i := range left {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("a held write failed: %v", err)
			}
		case <-time.After(time.Minute): // a try every 2 s at most; a minute for a loaded machine
			t.Fatalf("held writes did not commit within a minute of space returning (%d of %d still held; Full() = %v)", left-i, n, s.Full())
		}
	}
	if s.Full() != nil {
		t.Fatalf("Full() = %v after the held writes committed", s.Full())
	}
	var rows, refused int
	if err := s.r.QueryRow("SELECT count(*), count(CASE WHEN n = -1 THEN 1 END) FROM filler").Scan(&rows, &refused); err != nil {
		t.Fatal(err)
	}
	if rows != n || refused != 0 {
		t.Fatalf("%d rows (%d of the refused Try), want %d and 0", rows, refused, n)
	}
}

// A server that stops while a full disk holds writes is not kept waiting:
// ReleaseHeld answers them with the full-disk error (they were never
// acknowledged), and the store closes.
func TestReleaseHeldAnswersHeldWrites(t *testing.T) {
	ctx := context.Background()
	dir := testfs.SmallDisk(t, "", "4m", nil)
	s := open(t, filepath.Join(dir, "state.db"))
	if err := s.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec("CREATE TABLE filler (b BLOB)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testfs.Fill(t, filepath.Join(dir, "filler"))
	done := make(chan error, 1)
	go func() {
		var err error
		for err == nil { // until one meets the full disk and is held, then released
			err = s.Write(ctx, func(tx *Tx) error {
				_, err := tx.Exec("INSERT INTO filler VALUES (randomblob(65536))")
				return err
			})
		}
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for s.Full() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the store never noticed the full disk")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.ReleaseHeld()
	select {
	case err := <-done:
		if !IsFull(err) {
			t.Fatalf("a released write answered %v, want the full-disk error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a held write was not released")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
