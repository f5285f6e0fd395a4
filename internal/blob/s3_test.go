package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7"

	"github.com/burst-sh/burst/internal/blob"
	"github.com/burst-sh/burst/internal/blob/miniotest"
	"github.com/burst-sh/burst/internal/blob/s3conn"
	"github.com/burst-sh/burst/internal/stallconn/stalltest"
)

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return blob.Digest(s[:]) }

// newS3 is a store on a fresh real MinIO, with the credentials in the
// environment as a server would have them.
func newS3(t *testing.T) (*blob.S3, *miniotest.Server) {
	m := miniotest.Start(t, "")
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	st, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/lab/burst", Endpoint: m.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return st, m
}

// objects are the keys in the bucket.
func objects(t *testing.T, m *miniotest.Server) []string {
	var out []string
	for o := range m.Client(t).ListObjects(context.Background(), m.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	return out
}

// A bucket deleted while the server runs is said as such, not as each
// blob missing: Stat and Open name the bucket and how to make it again,
// and a blob never stored is still ErrNotFound while the bucket is there.
func TestS3BucketGone(t *testing.T) {
	st, m := newS3(t)
	ctx := context.Background()
	mc := m.Client(t)
	data := []byte("kept\n")
	if _, err := st.Stat(ctx, sum([]byte("never stored"))); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("a blob never stored: %v, want ErrNotFound", err)
	}
	// A MinIO only just started makes a bucket removed in its first
	// second again (its start's pass over the buckets it listed): where
	// it did, the store's answers are for a bucket that is there, and the
	// removal is made again.
	for try := 1; ; try++ {
		if there, err := mc.BucketExists(ctx, m.Bucket); err != nil {
			t.Fatal(err)
		} else if !there {
			if err := mc.MakeBucket(ctx, m.Bucket, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Put(ctx, sum(data), int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		fresh, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/lab/burst", Endpoint: m.Endpoint}) // as at a server's start
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fresh.Stat(ctx, sum(data)); err != nil {
			t.Fatal(err)
		}
		if err := mc.RemoveBucketWithOptions(ctx, m.Bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
			t.Fatal(err)
		}
		_, statErr := fresh.Stat(ctx, sum(data))
		_, _, openErr := fresh.Open(ctx, sum(data), 0)
		named := func(err error) bool {
			return err != nil && !errors.Is(err, blob.ErrNotFound) && strings.Contains(err.Error(), "no bucket") && strings.Contains(err.Error(), "deleted")
		}
		if named(statErr) && named(openErr) {
			return
		}
		if there, err := mc.BucketExists(ctx, m.Bucket); err == nil && there && try < 20 {
			t.Logf("try %d: MinIO has bucket %s again after its removal (Stat: %v; Open: %v); removing it again", try, m.Bucket, statErr, openErr)
			continue
		}
		t.Fatalf("once the bucket is deleted: Stat %v, Open %v; want the bucket named as gone", statErr, openErr)
	}
}

// A Put to an endpoint that takes the connection and then reads nothing
// fails once it took no byte for s3conn.SendStall, saying so, instead of
// waiting as long as TCP does (for ever). Loopback only.
func TestS3PutToFrozenEndpoint(t *testing.T) {
	defer func(d time.Duration) { s3conn.SendStall = d }(s3conn.SendStall)
	s3conn.SendStall = 300 * time.Millisecond
	defer blob.ShortCalls(time.Second)() // the staging object's removal, which it never answers either
	addr, _ := stalltest.Frozen(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROZEN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "frozen-secret")
	st, err := blob.NewS3(blob.S3Config{URL: "s3://frozen/x", Endpoint: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard: without the bound it never ends
	defer cancel()
	const size = 48 << 20 // one PUT, larger than what the kernels' buffers take without a read
	_, err = st.Put(ctx, sum(make([]byte, size)), size, io.LimitReader(zeros{}, size))
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "took no byte") {
		t.Fatalf("a Put to an endpoint that reads nothing: %v; want the stall said", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Put then Open (from an offset) gives the same bytes; a wrong or short
// body is refused and leaves no object; List and Delete see what Put made.
func TestS3PutOpen(t *testing.T) {
	st, m := newS3(t)
	ctx := context.Background()
	if err := st.Probe(ctx); err != nil {
		t.Fatalf("probe: %v", err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	d := sum(data)
	for _, c := range []struct {
		name string
		size int64
		body io.Reader
	}{
		{"wrong bytes", int64(len(data)), bytes.NewReader(bytes.ToUpper(data))},
		{"truncated", int64(len(data)), bytes.NewReader(data[:1000])},
		{"too long", int64(len(data)) - 1, bytes.NewReader(data)},
	} {
		_, err := st.Put(ctx, d, c.size, c.body)
		var mm *blob.MismatchError
		if !errors.As(err, &mm) {
			t.Errorf("%s: %v, want a MismatchError", c.name, err)
		}
		if objs := objects(t, m); len(objs) != 0 {
			t.Errorf("%s left %v", c.name, objs)
		}
	}
	if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if objs := objects(t, m); len(objs) != 1 || !strings.HasPrefix(objs[0], "lab/burst/sha256/") {
		t.Fatalf("objects after a Put: %v, want the blob alone under lab/burst/sha256/", objs)
	}
	// Held already: other bytes of its size are refused all the same (a
	// Put proves its sender has the blob), and the one held stays.
	var mm *blob.MismatchError
	if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(bytes.ToUpper(data))); !errors.As(err, &mm) {
		t.Fatalf("wrong bytes for a blob held: %v, want a MismatchError", err)
	}
	rc, in, err := st.Open(ctx, d, 12345)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if in.Size != int64(len(data)) || !bytes.Equal(got, data[12345:]) {
		t.Fatalf("Open from 12345: %d bytes (size %d), want %d", len(got), in.Size, len(data)-12345)
	}
	var listed []blob.Info
	st.List(ctx, "", func(i blob.Info) error { listed = append(listed, i); return nil })
	if len(listed) != 1 || listed[0].Digest != d {
		t.Fatalf("List: %v", listed)
	}
	if err := st.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
}

// A blob larger than one PUT may carry (5 GiB on AWS S3, made 1 MiB here)
// gets no presigned PUT: its client sends it to the server, whose Put
// sends it in parts. One of the limit's size still gets a URL.
func TestS3PresignedPutTooBig(t *testing.T) {
	st, _ := newS3(t)
	defer blob.SmallPresignedPut(1 << 20)()
	ctx := context.Background()
	d := sum([]byte("any"))
	u, h, err := st.PresignPut(ctx, d, 1<<20+1, time.Minute)
	if err != nil || u != "" || h != nil {
		t.Errorf("PresignPut of 1 MiB + 1 byte: %q %v %v; want no URL and no error", u, h, err)
	}
	if u, _, err := st.PresignPut(ctx, d, 1<<20, time.Minute); err != nil || u == "" {
		t.Errorf("PresignPut of 1 MiB: %q %v; want a URL", u, err)
	}
}

// A presigned PUT lands under staging, carrying the blob's checksum: the
// store refuses other bytes as they arrive, and a PUT without the signed
// checksum is refused too. Commit places only bytes that match, trusting
// the store's checksum when it kept one and hashing the staging object
// when not (written here straight to the staging key, as a store that
// ignores checksums would keep a PUT). A presigned GET serves the blob,
// Range included, to a plain client.
func TestS3Presigned(t *testing.T) {
	st, m := newS3(t)
	ctx := context.Background()
	data := []byte("bytes that never pass through the server")
	d := sum(data)
	put := func(body []byte, signed bool) int {
		u, h, err := st.PresignPut(ctx, d, int64(len(data)), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", u, bytes.NewReader(body))
		if signed {
			for k := range h {
				req.Header.Set(k, h.Get(k))
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("presigned PUT: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put([]byte("something else entirely, of another length"), true); code < 400 {
		t.Fatalf("the store took wrong bytes under the blob's checksum: %d", code)
	}
	if code := put(data, false); code < 400 {
		t.Fatalf("the store took a PUT without the signed checksum: %d", code)
	}
	if _, err := st.Commit(ctx, d, int64(len(data))); err == nil {
		t.Fatal("Commit placed a blob nothing was uploaded for")
	}
	staging := "lab/burst/uploads/" + strings.TrimPrefix(d, "sha256:")
	wrong := []byte("wrong bytes kept by a store that checks no checksum")
	if _, err := m.Client(t).PutObject(ctx, m.Bucket, staging, bytes.NewReader(wrong), int64(len(wrong)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, d, int64(len(wrong))); err == nil {
		t.Fatal("Commit took wrong bytes that carried no checksum")
	}
	if objs := objects(t, m); len(objs) != 0 {
		t.Fatalf("a refused Commit left %v", objs)
	}
	if _, err := m.Client(t).PutObject(ctx, m.Bucket, staging, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, d, int64(len(data))); err != nil {
		t.Fatalf("Commit of the right bytes without a checksum (hashed here): %v", err)
	}
	if err := st.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if code := put(data, true); code != 200 {
		t.Fatalf("presigned PUT of the blob with its checksum: %d", code)
	}
	// MinIO refuses a wrong checksum, so the bytes went to the blob's own
	// key, and it kept their checksum: Commit need not read them back.
	final := "lab/burst/sha256/" + strings.TrimPrefix(d, "sha256:")[:2] + "/" + strings.TrimPrefix(d, "sha256:")
	if objs := objects(t, m); len(objs) != 1 || objs[0] != final {
		t.Fatalf("after the presigned PUT the bucket holds %v, want only %s", objs, final)
	}
	oi, err := m.Client(t).StatObject(ctx, m.Bucket, final, minio.StatObjectOptions{Checksum: true})
	if want := base64.StdEncoding.EncodeToString(mustHex(t, strings.TrimPrefix(d, "sha256:"))); err != nil || oi.ChecksumSHA256 != want {
		t.Fatalf("the staging object's checksum is %q (%v), want %q: Commit would read it back", oi.ChecksumSHA256, err, want)
	}
	if _, err := st.Commit(ctx, d, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	u, err := st.PresignGet(ctx, d, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Range", "bytes=6-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(got) != string(data[6:]) {
		t.Fatalf("presigned GET with a range: %d %q", resp.StatusCode, got)
	}
}

// Probe names the fix: wrong keys, no bucket, no endpoint.
func TestS3ProbeErrors(t *testing.T) {
	_, m := newS3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe := func(url, endpoint string) error {
		st, err := blob.NewS3(blob.S3Config{URL: url, Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		return st.Probe(ctx)
	}
	if err := probe("s3://no-such-bucket/x", m.Endpoint); err == nil || !strings.Contains(err.Error(), "create it") {
		t.Errorf("no bucket: %v", err)
	}
	if err := probe("s3://"+m.Bucket+"/x", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "cannot reach the endpoint") {
		t.Errorf("no endpoint: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-0123456789")
	if err := probe("s3://"+m.Bucket+"/x", m.Endpoint); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("wrong keys: %v", err)
	}
}

// requests records the S3 requests a store sends through it to MinIO
// (keeping their Host, which their signature covers).
type requests struct {
	mu  sync.Mutex
	log []string // "PUT part", "PUT part copy", "POST", ...
}

func (rq *requests) proxy(t *testing.T, to string) string {
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host
		what := r.In.Method
		if r.In.URL.Query().Has("partNumber") {
			what += " part"
			if r.In.Header.Get("X-Amz-Copy-Source") != "" {
				what += " copy"
			}
		}
		rq.mu.Lock()
		rq.log = append(rq.log, what)
		rq.mu.Unlock()
	}})
	t.Cleanup(srv.Close)
	return srv.URL
}

// counts is how many requests of each kind were sent since the last
// counts.
func (rq *requests) counts() map[string]int {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	n := map[string]int{}
	for _, w := range rq.log {
		n[w]++
	}
	rq.log = nil
	return n
}

// Above the thresholds (made small here) Put sends its bytes in parts
// and copies them into place in parts, and SetClass copies in parts: the
// blob is whole, its class set; a wrong or short body in parts is refused
// and leaves neither objects nor parts behind.
func TestS3Multipart(t *testing.T) {
	_, m := newS3(t)
	var rq requests
	st, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/lab/burst", Endpoint: rq.proxy(t, m.Endpoint)})
	if err != nil {
		t.Fatal(err)
	}
	defer blob.SmallParts(5<<20, 5<<20, 5<<20, 5<<20)()
	ctx := context.Background()
	data := make([]byte, 11<<20+123) // 3 parts
	rand.Read(data)
	d := sum(data)
	leftovers := func(what string) {
		t.Helper()
		if objs := objects(t, m); len(objs) != 0 {
			t.Errorf("%s left objects %v", what, objs)
		}
		for u := range m.Client(t).ListIncompleteUploads(ctx, m.Bucket, "", true) {
			t.Errorf("%s left an upload of %s (%v)", what, u.Key, u.Err)
		}
	}
	for _, c := range []struct {
		name string
		body []byte
	}{{"wrong bytes", bytes.ToUpper(data)}, {"truncated", data[:7<<20]}} {
		var mm *blob.MismatchError
		if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(c.body)); !errors.As(err, &mm) {
			t.Errorf("%s: %v, want a MismatchError", c.name, err)
		}
		leftovers(c.name)
	}
	rq.counts()
	if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if n := rq.counts(); n["PUT part"] != 3 || n["PUT part copy"] != 3 || n["PUT"] != 0 {
		t.Errorf("Put sent %v; want 3 parts, then 3 part copies into place, and no single PUT", n)
	}
	read := func(off int) {
		t.Helper()
		rc, in, err := st.Open(ctx, d, int64(off))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil || in.Size != int64(len(data)) || !bytes.Equal(got, data[off:]) {
			t.Fatalf("Open from %d: %d bytes (size %d, %v), want the blob's %d", off, len(got), in.Size, err, len(data)-off)
		}
	}
	read(6<<20 + 1)
	if err := st.SetClass(ctx, d, "REDUCED_REDUNDANCY"); err != nil {
		t.Fatal(err)
	}
	if n := rq.counts(); n["PUT part copy"] != 3 || n["PUT"] != 0 {
		t.Errorf("SetClass sent %v; want 3 part copies and no single copy", n)
	}
	if c, err := st.Class(ctx, d); err != nil || c != "REDUCED_REDUNDANCY" {
		t.Fatalf("after SetClass in parts: %q, %v; want REDUCED_REDUNDANCY", c, err)
	}
	read(0)
	if err := st.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	leftovers("a blob put, moved and deleted")
}

// Without credentials in the environment or the shared files, and with an
// instance metadata service that never answers (a machine off EC2 whose
// IMDS address is not refused), Probe says which to set: it does not hang.
func TestS3NoCredentials(t *testing.T) {
	_, m := newS3(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_CONFIG_FILE": dir + "/config",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://" + ln.Addr().String()} {
		t.Setenv(k, v)
	}
	st, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/x", Endpoint: m.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), "no credentials for") {
		t.Fatalf("no credentials: %v", err)
	}
}

// An AWS configuration that cannot be read (AWS_PROFILE naming no profile)
// does not stop the store from being made (a server whose store is S3
// still starts): its first request fails, naming the configuration.
func TestS3BrokenConfiguration(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "nope",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_CONFIG_FILE": dir + "/config"} {
		t.Setenv(k, v)
	}
	st, err := blob.NewS3(blob.S3Config{URL: "s3://bucket/x", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("NewS3 with AWS_PROFILE=nope: %v; want a store whose requests fail", err)
	}
	err = st.Probe(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AWS configuration cannot be read") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Probe = %v; want the unreadable configuration named", err)
	}
}

// keepsClaimedChecksums is a store in front of m that keeps the checksum
// a PUT carries without checking it, and gives it back to a HEAD that asks
// for checksums, as some S3-compatible services and gateways do: the PUT
// goes on to MinIO, signed anew, with the checksum as metadata.
func keepsClaimedChecksums(t *testing.T, m *miniotest.Server) string {
	u, err := url.Parse(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	pass := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = r.In.Host },
		ModifyResponse: func(resp *http.Response) error {
			if c := resp.Header.Get("X-Amz-Meta-Claimed-Sha256"); c != "" && resp.Request.Header.Get("X-Amz-Checksum-Mode") != "" {
				resp.Header.Set("X-Amz-Checksum-Sha256", c)
			}
			return nil
		},
	}
	signer := v4.NewSigner()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claimed := r.Header.Get("X-Amz-Checksum-Sha256")
		if r.Method != "PUT" || claimed == "" {
			pass.ServeHTTP(w, r)
			return
		}
		out, _ := http.NewRequest("PUT", m.Endpoint+r.URL.EscapedPath(), r.Body)
		out.ContentLength = r.ContentLength
		out.Header.Set("X-Amz-Meta-Claimed-Sha256", claimed)
		out.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		creds := aws.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}
		if err := signer.SignHTTP(r.Context(), creds, out, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A store that keeps the checksum a presigned PUT carried without checking
// it (its probe shows it takes a wrong one) is not trusted for it: Commit
// reads the bytes back and refuses wrong ones of the blob's size, which
// such a store keeps under the blob's own checksum.
func TestS3CommitChecksumNotChecked(t *testing.T) {
	_, m := newS3(t)
	st, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/lab/burst", Endpoint: keepsClaimedChecksums(t, m)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := []byte("the blob's own bytes, which never arrive")
	d := sum(data)
	put := func(body []byte) {
		t.Helper()
		u, h, err := st.PresignPut(ctx, d, int64(len(data)), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", u, bytes.NewReader(body))
		for k := range h {
			req.Header.Set(k, h.Get(k))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT: %d", resp.StatusCode)
		}
	}
	wrong := bytes.ToUpper(data) // of the blob's size
	put(wrong)
	if in, err := st.Commit(ctx, d, int64(len(data))); err == nil {
		rc, _, _ := st.Open(ctx, d, 0)
		got, _ := io.ReadAll(rc)
		rc.Close()
		t.Fatalf("Commit placed %+v holding %q, not the blob's bytes, on the store's unchecked word", in, got)
	}
	if _, err := st.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after a refused Commit the blob is there (%v)", err)
	}
	put(data)
	if _, err := st.Commit(ctx, d, int64(len(data))); err != nil {
		t.Fatalf("Commit of the right bytes: %v", err)
	}
}

// Credentials that take a while to come (a credential_process, SSO, an
// assumed role) are waited for: only the instance role's metadata service
// is given a second a request. A profile whose credential_process takes
// 4 s once counted as no credentials (the whole look was bounded to 3 s).
func TestS3SlowCredentialProcess(t *testing.T) {
	_, m := newS3(t)
	dir := t.TempDir()
	proc := filepath.Join(dir, "creds.sh")
	body := fmt.Sprintf("#!/bin/sh\nsleep 4\nprintf '%%s' '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\"}'\n", m.AccessKey, m.SecretKey)
	if err := os.WriteFile(proc, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[profile slow]\ncredential_process = "+proc+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "slow",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_CONFIG_FILE": filepath.Join(dir, "config")} {
		t.Setenv(k, v)
	}
	st, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/slow", Endpoint: m.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Probe(context.Background()); err != nil {
		t.Fatalf("Probe with a credential_process of 4 s: %v", err)
	}
}

// killAfter reads r, killing MinIO before it yields a byte past n: the
// store dies in the middle of an upload in parts, its sender's body whole.
type killAfter struct {
	r    io.Reader
	n    int64
	read int64
	kill func()
}

func (k *killAfter) Read(p []byte) (int, error) {
	if k.kill != nil && k.read+int64(len(p)) > k.n {
		k.kill()
		k.kill = nil
	}
	n, err := k.r.Read(p)
	k.read += int64(n)
	return n, err
}

// A store that dies while a blob goes to it in parts is the store's
// failure, naming its endpoint: not a body "that ended" after the parts
// sent, which tells the sender to send the same bytes again to a store
// that is down.
func TestS3DiesMidParts(t *testing.T) {
	st, m := newS3(t)
	defer blob.SmallParts(5<<20, 5<<20, 5<<20, 5<<20)()
	defer blob.ShortCalls(2 * time.Second)()
	data := make([]byte, 11<<20)
	rand.Read(data)
	body := &killAfter{r: bytes.NewReader(data), n: 5 << 20, kill: m.Kill}
	_, err := st.Put(context.Background(), sum(data), int64(len(data)), body)
	var mm *blob.MismatchError
	if err == nil || errors.As(err, &mm) || !strings.Contains(err.Error(), m.Endpoint) {
		t.Fatalf("Put while the store died: %v; want the store's error naming %s, not a refused body", err, m.Endpoint)
	}
}

// A store whose endpoint takes connections but answers nothing (MinIO
// stopped) fails each call that moves no bytes within callWait, naming
// the endpoint: an upload's offer (Stat) does not wait for its client to
// give up.
func TestS3EndpointSilent(t *testing.T) {
	st, m := probedS3(t)
	ctx := context.Background()
	defer blob.ShortCalls(time.Second)()
	defer m.Freeze()()
	if _, err := st.Stat(ctx, sum([]byte("x"))); err == nil || !strings.Contains(err.Error(), "cannot reach the endpoint "+m.Endpoint) {
		t.Fatalf("Stat of a silent store: %v; want it to say it cannot reach %s", err, m.Endpoint)
	}
	if err := st.Delete(ctx, sum([]byte("x"))); err == nil || !strings.Contains(err.Error(), m.Endpoint) {
		t.Fatalf("Delete on a silent store: %v; want it to name %s", err, m.Endpoint)
	}
}

// Credentials the store refuses are named as such when the refusal is a
// HEAD's (Stat: an upload's offer), whose 403 has no body to say why.
func TestS3StatRefusedCredentials(t *testing.T) {
	st, m := probedS3(t)
	ctx := context.Background()
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-0123456789")
	st, err := blob.NewS3(blob.S3Config{URL: "s3://" + m.Bucket + "/lab/burst", Endpoint: m.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, sum([]byte("x"))); err == nil || !strings.Contains(err.Error(), "refused the server's credentials") {
		t.Fatalf("Stat with a wrong secret: %v; want the credentials named", err)
	}
}

// probedS3 is newS3's store, once it answered a probe.
func probedS3(t *testing.T) (*blob.S3, *miniotest.Server) {
	st, m := newS3(t)
	if err := st.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, m
}

// What failed uploads could not remove (the store or the server gone in
// the middle) is swept: objects under the staging prefixes written before
// the cutoff; newer ones and blobs stay.
func TestS3SweepStaging(t *testing.T) {
	st, m := newS3(t)
	ctx := context.Background()
	data := []byte("some blob")
	d := sum(data)
	if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	mc := m.Client(t)
	for _, k := range []string{"lab/burst/uploads/left-by-a-crash", "lab/burst/probe/left-too"} {
		if _, err := mc.PutObject(ctx, m.Bucket, k, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A cutoff before they were written sweeps nothing.
	if o, _, err := st.SweepStaging(ctx, time.Now().Add(-time.Hour)); err != nil || o != 0 {
		t.Fatalf("sweep with an hour-old cutoff: %d objects, %v; want none", o, err)
	}
	o, _, err := st.SweepStaging(ctx, time.Now().Add(time.Minute))
	if err != nil || o != 2 {
		t.Fatalf("sweep: %d objects, %v; want the 2 left", o, err)
	}
	keys := objects(t, m)
	for _, k := range keys {
		if strings.Contains(k, "/uploads/") || strings.Contains(k, "/probe/") {
			t.Errorf("%s left after the sweep", k)
		}
	}
	if _, err := st.Stat(ctx, d); err != nil {
		t.Errorf("the blob after the sweep: %v", err)
	}
}

// An endpoint whose TLS this machine cannot use is said so, with the fix,
// not as one that cannot be reached: a certificate signed by no authority
// it trusts; an endpoint that does not speak TLS given as https://.
func TestS3EndpointTLSProblems(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_CONFIG_FILE": filepath.Join(dir, "config")} {
		t.Setenv(k, v)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	tlsSrv := httptest.NewTLSServer(ok) // its own certificate: no authority this machine trusts
	defer tlsSrv.Close()
	plain := httptest.NewServer(ok)
	defer plain.Close()
	for endpoint, want := range map[string]string{
		tlsSrv.URL: "signed by no authority this machine trusts",
		"https://" + strings.TrimPrefix(plain.URL, "http://"): "it does not speak TLS: give it as http://",
	} {
		st, err := blob.NewS3(blob.S3Config{URL: "s3://bucket/x", Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "cannot reach") {
			t.Errorf("Probe of %s = %v; want %q", endpoint, err, want)
		}
	}
}

// An endpoint that answers what no S3 service answers (a web server's
// page, junk, a proxy's 500) is said so at the store's probe, not with the
// SDK's raw words alone.
func TestS3EndpointNotS3(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_CONFIG_FILE": filepath.Join(dir, "config")} {
		t.Setenv(k, v)
	}
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			w.Write([]byte("\x00\x01 not xml <html>"))
		}
	}))
	defer junk.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>proxy error</html>", http.StatusBadGateway)
	}))
	defer broken.Close()
	for _, endpoint := range []string{junk.URL, broken.URL} {
		st, err := blob.NewS3(blob.S3Config{URL: "s3://bucket/x", Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), "S3 service") {
			t.Errorf("Probe of %s = %v; want it said that it is not S3", endpoint, err)
		}
	}
}
