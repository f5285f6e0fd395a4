package api

import (
	"bytes"
	"net"
	"testing"
)

// writes records each Write the connection under a BatchConn gets.
type writes struct {
	net.Conn
	got [][]byte
}

func (w *writes) Write(b []byte) (int, error) {
	w.got = append(w.got, append([]byte(nil), b...))
	return len(b), nil
}

// Unbatched, each write goes out as it comes; batched, writes gather
// until flushed (or the batch is full) and go out in one write, in
// order; ending the batch writes what gathered.
func TestBatchConnGathers(t *testing.T) {
	under := &writes{}
	c := &BatchConn{Conn: under}
	rec := bytes.Repeat([]byte("r"), 16<<10)
	c.Write([]byte("head"))
	if len(under.got) != 1 {
		t.Fatalf("an unbatched write made %d writes, want 1", len(under.got))
	}
	if err := c.setBatch(true); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		c.Write(rec)
	}
	if len(under.got) != 1 {
		t.Fatalf("16 batched records made %d writes before the flush, want none", len(under.got)-1)
	}
	c.flush()
	if len(under.got) != 2 || !bytes.Equal(under.got[1], bytes.Repeat(rec, 16)) {
		t.Fatalf("the flush made %d writes, want one of the 16 records in order", len(under.got)-1)
	}
	// More than a batch holds: written when full, nothing lost.
	for range 20 {
		c.Write(rec)
	}
	c.Write([]byte("tail"))
	c.setBatch(false)
	c.Write([]byte("after"))
	var all []byte
	for _, w := range under.got[2:] {
		all = append(all, w...)
	}
	want := append(append(bytes.Repeat(rec, 20), "tail"...), "after"...)
	if !bytes.Equal(all, want) {
		t.Fatalf("after the flush, %d bytes written, want %d in order", len(all), len(want))
	}
	if n := len(under.got) - 2; n != 3 {
		t.Fatalf("20 records, a tail and an unbatched write made %d writes, want 3 (a full batch, the rest at its end, the last)", n)
	}
}
