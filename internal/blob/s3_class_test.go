package blob_test

import (
	"bytes"
	"context"
	"testing"
)

// SetClass gives a blob's object a storage class a real MinIO offers
// (REDUCED_REDUNDANCY), and Class reads it back; one it does not offer is
// refused and the class stays.
func TestS3SetClass(t *testing.T) {
	st, _ := newS3(t)
	ctx := context.Background()
	b := []byte("a blob to move between classes")
	d := sum(b)
	if _, err := st.Put(ctx, d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if c, err := st.Class(ctx, d); err != nil || c != "STANDARD" {
		t.Fatalf("a new blob's class: %q, %v; want STANDARD", c, err)
	}
	if err := st.SetClass(ctx, d, "REDUCED_REDUNDANCY"); err != nil {
		t.Fatal(err)
	}
	if c, err := st.Class(ctx, d); err != nil || c != "REDUCED_REDUNDANCY" {
		t.Fatalf("after SetClass: %q, %v; want REDUCED_REDUNDANCY", c, err)
	}
	if err := st.SetClass(ctx, d, "DEEP_ARCHIVE"); err == nil {
		t.Fatal("MinIO accepted DEEP_ARCHIVE")
	}
	if c, _ := st.Class(ctx, d); c != "REDUCED_REDUNDANCY" {
		t.Fatalf("a refused class changed it to %q", c)
	}
	r, _, err := st.Open(ctx, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got bytes.Buffer
	got.ReadFrom(r)
	if !bytes.Equal(got.Bytes(), b) {
		t.Fatalf("after the class changes the blob reads %q", got.Bytes())
	}
}
