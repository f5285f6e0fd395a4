package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// blobServer serves one blob, cutting the first answers short after cut
// bytes and corrupting the first corrupt whole answers; it records the
// Range of every request.
type blobServer struct {
	data           []byte
	cut, corrupt   int
	mu             sync.Mutex
	ranges         []string
	cuts, corrupts int
}

func (b *blobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.ranges = append(b.ranges, r.Header.Get("Range"))
	cut := b.cuts < 2 && b.cut > 0
	if cut {
		b.cuts++
	}
	bad := !cut && b.corrupts < b.corrupt
	if bad {
		b.corrupts++
	}
	b.mu.Unlock()
	off := int64(0)
	if s, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok {
		off, _ = strconv.ParseInt(strings.TrimSuffix(s, "-"), 10, 64)
	}
	body := append([]byte{}, b.data[off:]...)
	if bad {
		body[len(body)/2] ^= 0xff
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if off > 0 {
		w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.Itoa(len(b.data)-1)+"/"+strconv.Itoa(len(b.data)))
		w.WriteHeader(206)
	}
	if cut {
		w.Write(body[:b.cut])
		panic(http.ErrAbortHandler) // the connection is cut mid-body
	}
	w.Write(body)
}

func refOf(data []byte) BlobRef {
	s := sha256.Sum256(data)
	return BlobRef{Digest: "sha256:" + hex.EncodeToString(s[:]), Size: int64(len(data))}
}

func newBlobTest(t *testing.T, b *blobServer) *Client {
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "t", WithRetry(Retry{Patience: 5 * time.Second, First: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A cut transfer goes on from where it was cut (a Range from the bytes
// already written), and the file is whole and right.
func TestFetchBlobResumes(t *testing.T) {
	data := bytes.Repeat([]byte("resume me "), 100000)
	b := &blobServer{data: data, cut: 300000}
	c := newBlobTest(t, b)
	dst := filepath.Join(t.TempDir(), "out")
	if err := c.FetchBlob(context.Background(), refOf(data), dst); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, data) {
		t.Fatalf("fetched %d bytes that differ from the blob's %d", len(got), len(data))
	}
	if len(b.ranges) != 3 || b.ranges[0] != "" || b.ranges[1] != "bytes=300000-" || b.ranges[2] != "bytes=600000-" {
		t.Fatalf("requests' ranges %q, want none, then from 300000, then from 600000", b.ranges)
	}
}

// A transfer that came whole but wrong is fetched again from the start;
// when it stays wrong, FetchBlob fails and leaves no file at all.
func TestFetchBlobNeverLeavesWrongBytes(t *testing.T) {
	data := bytes.Repeat([]byte("verify me "), 1000)
	b := &blobServer{data: data, corrupt: 1}
	c := newBlobTest(t, b)
	dir := t.TempDir()
	dst := filepath.Join(dir, "out")
	if err := c.FetchBlob(context.Background(), refOf(data), dst); err != nil {
		t.Fatalf("one corrupt answer, then a good one: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) || b.corrupts != 1 {
		t.Fatalf("after one corrupt answer: %d right bytes? %v (corrupt answers %d)", len(got), bytes.Equal(got, data), b.corrupts)
	}
	b2 := &blobServer{data: data, corrupt: 100}
	c2 := newBlobTest(t, b2)
	dst2 := filepath.Join(dir, "out2")
	err := c2.FetchBlob(context.Background(), refOf(data), dst2)
	if !errors.Is(err, ErrBlobMismatch) {
		t.Fatalf("always corrupt: %v, want ErrBlobMismatch", err)
	}
	if b2.corrupts != 3 {
		t.Fatalf("always corrupt: fetched %d times, want 3", b2.corrupts)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "out" {
		t.Fatalf("files left: %v, want only the good out", ents)
	}
	rc, err := c2.OpenBlob(context.Background(), refOf(data))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	rc.Close()
	if !errors.Is(err, ErrBlobMismatch) {
		t.Fatalf("OpenBlob of corrupt bytes ended with %v, want ErrBlobMismatch", err)
	}
}

// An upload by the store's presigned URL that the server refuses at done
// (409: another project's upload of the same bytes was recorded while
// these were sent) sends the bytes to the server, which checks them: the
// upload was lost (burst run --in failed, an agent's outputs with it).
func TestUploadSentToTheServerWhenDoneIsRefused(t *testing.T) {
	data := []byte("reference genome")
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	var mu sync.Mutex
	var calls []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch {
		case r.URL.Path == "/v1/blobs/uploads":
			var req BlobUploads
			json.NewDecoder(r.Body).Decode(&req)
			o := BlobOffer{Digest: req.Blobs[0].Digest}
			if o.Digest != "" {
				o.URL = srv.URL + "/store/put"
			}
			json.NewEncoder(w).Encode(BlobOffers{Blobs: []BlobOffer{o}})
		case r.URL.Path == "/store/put":
			io.Copy(io.Discard, r.Body)
		case r.URL.Path == "/v1/blobs/"+digest+"/done":
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error": "send its bytes to the server"}`)
		case r.Method == "PUT" && r.URL.Path == "/v1/blobs/"+digest:
			b, _ := io.ReadAll(r.Body)
			json.NewEncoder(w).Encode(BlobRef{Digest: digest, Size: int64(len(b))})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "ref.fa")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.UploadFile(context.Background(), path, BlobPut{Project: "mars", Kind: "input"})
	mu.Lock()
	defer mu.Unlock()
	if err != nil || ref.Digest != digest || !slices.Contains(calls, "PUT /v1/blobs/"+digest) {
		t.Fatalf("upload: %+v, %v; calls %q; want the bytes sent to the server after done's 409", ref, err, calls)
	}
}
