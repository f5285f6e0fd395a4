package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/blob/miniotest"
)

// faultProxy stands between the fetcher and a real MinIO and spoils the
// responses of its first faults connections (one request each): cut after
// at bytes, or with the byte at at flipped.
type faultProxy struct {
	ln     net.Listener
	to     string
	cut    bool
	at     int64
	faults atomic.Int64
	ranged atomic.Int64 // requests that asked for a range
	conns  atomic.Int64
	wg     sync.WaitGroup
}

func startFaultProxy(t *testing.T, to string, cut bool, at int64, faults int64) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, to: to, cut: cut, at: at}
	p.faults.Store(faults)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *faultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *faultProxy) handle(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.to)
	if err != nil {
		return
	}
	defer up.Close()
	at := p.at + 7*p.conns.Add(1) // each spoiled transfer differs
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bytes.Contains(bytes.ToLower(buf[:n]), []byte("\nrange: bytes=")) {
					p.ranged.Add(1)
				}
				up.Write(buf[:n])
			}
			if err != nil {
				up.Close()
				return
			}
		}
	}()
	spoil := false
	var seen int64
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			b := buf[:n]
			if !spoil && seen+int64(n) > at && p.faults.Add(-1) >= 0 {
				spoil = true
				i := at - seen
				if p.cut {
					c.Write(b[:i])
					return
				}
				b[i] ^= 0xff
			}
			seen += int64(n)
			if _, err := c.Write(b); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// fetcherVia is an s3Fetcher of m's bucket through the proxy p, one
// request a connection (so that each fault spoils one transfer), with
// m's credentials in the environment.
func fetcherVia(t *testing.T, m *miniotest.Server, p *faultProxy) *s3Fetcher {
	t.Helper()
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	f := &s3Fetcher{}
	f.once.Do(func() {
		f.where = "http://" + p.ln.Addr().String()
		f.init(context.Background(), f.where, "us-east-1", func(o *s3.Options) {
			o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		})
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func putTestObject(t *testing.T, m *miniotest.Server, key string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.Client(t).PutObject(ctx, m.Bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A transfer cut short resumes where it stopped (a ranged request), and
// one whose bytes were spoiled is fetched again from the start (the MD5
// of its ETag, or its pin, says so): the file is the object's. Spoiled
// every time, it is refused after s3Tries transfers and nothing is left.
func TestS3FetchFaults(t *testing.T) {
	m := miniotest.Start(t, "")
	obj := make([]byte, 3<<20)
	rand.Read(obj)
	putTestObject(t, m, "d/obj.bin", obj)
	to := strings.TrimPrefix(m.Endpoint, "http://")
	in := burst.Input{Path: "obj.bin", URL: "s3://" + m.Bucket + "/d/obj.bin"}
	pinned := in
	pinned.Digest = "sha256:" + sha256hex(obj)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name   string
		cut    bool
		faults int64
		in     burst.Input
		ok     bool
	}{
		{"cut twice", true, 2, in, true},
		{"spoiled once, unpinned (MD5 ETag)", false, 1, in, true},
		{"spoiled once, pinned", false, 1, pinned, true},
		{"spoiled every time", false, 100, in, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startFaultProxy(t, to, c.cut, 1<<20, c.faults)
			f := fetcherVia(t, m, p)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, fetch, size, check, err := f.source(ctx, c.in, log)
			if err != nil || size != int64(len(obj)) {
				t.Fatalf("source: size %d, %v", size, err)
			}
			dir := t.TempDir()
			dst := filepath.Join(dir, "blob")
			err = fetch(ctx, dst)
			left, _ := os.ReadDir(dir)
			if !c.ok {
				if !errors.As(err, new(errS3)) || !strings.Contains(err.Error(), "not used") {
					t.Fatalf("spoiled every time: %v, want a refusal saying it was not used", err)
				}
				if len(left) != 0 {
					t.Fatalf("a refused transfer left %d files behind", len(left))
				}
				return
			}
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, obj) {
				t.Fatalf("fetched %d bytes, not the object's", len(got))
			}
			if len(left) != 1 {
				t.Errorf("the fetch left %d files, want the blob alone", len(left))
			}
			if note, err := check(); err != nil || (c.in.Digest == "") != strings.Contains(note, pinned.Digest) {
				t.Errorf("check: %q, %v", note, err)
			}
			if c.cut && p.ranged.Load() != c.faults {
				t.Errorf("%d ranged requests after %d cuts: want each cut resumed", p.ranged.Load(), c.faults)
			}
			if !c.cut && p.ranged.Load() != 0 {
				t.Errorf("a spoiled transfer was resumed (%d ranged requests), want it fetched again whole", p.ranged.Load())
			}
		})
	}
}

// BenchmarkS3Fetch fetches a 256 MiB object from a local MinIO, checked
// (sha256, and MD5 against its ETag), into a file: the agent's side of a
// cache miss.
func BenchmarkS3Fetch(b *testing.B) {
	m := miniotest.Start(b, "")
	obj := make([]byte, 256<<20)
	rand.Read(obj)
	ctx := context.Background()
	if _, err := m.Client(b).PutObject(ctx, m.Bucket, "big.bin", bytes.NewReader(obj), int64(len(obj)), minio.PutObjectOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	f := &s3Fetcher{}
	f.once.Do(func() { f.where = m.Endpoint; f.init(ctx, m.Endpoint, "us-east-1") })
	if f.err != nil {
		b.Fatal(f.err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := b.TempDir()
	b.SetBytes(int64(len(obj)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, fetch, _, _, err := f.source(ctx, burst.Input{Path: "big.bin", URL: "s3://" + m.Bucket + "/big.bin"}, log)
		if err != nil {
			b.Fatal(err)
		}
		dst := filepath.Join(dir, "blob")
		if err := fetch(ctx, dst); err != nil {
			b.Fatal(err)
		}
		os.Remove(dst)
	}
}

// An object in a bucket of another region than the agent's (none set:
// us-east-1) is fetched all the same: S3 (here a MinIO of eu-west-2)
// refuses the first HEAD saying the bucket's region, and the agent asks
// there.
func TestS3FetchOtherRegion(t *testing.T) {
	m := miniotest.StartIn(t, "", "eu-west-2")
	obj := []byte("an object kept in eu-west-2\n")
	putTestObject(t, m, "d/obj.txt", obj)
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	f := &s3Fetcher{}
	f.once.Do(func() { f.where = m.Endpoint; f.init(ctx, m.Endpoint, "") })
	if f.err != nil {
		t.Fatal(f.err)
	}
	_, fetch, size, _, err := f.source(ctx, burst.Input{Path: "obj.txt", URL: "s3://" + m.Bucket + "/d/obj.txt"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || size != int64(len(obj)) {
		t.Fatalf("source: size %d, %v", size, err)
	}
	dst := filepath.Join(t.TempDir(), "blob")
	if err := fetch(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, obj) {
		t.Fatalf("fetched %q", got)
	}
}

// newFetcher is an s3Fetcher of m, made as the agent makes it, with the
// AWS variables env (and no shared files, no instance role).
func newFetcher(t *testing.T, m *miniotest.Server, env ...string) *s3Fetcher {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_S3", m.Endpoint)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return &s3Fetcher{}
}

// Without credentials the agent asks anonymously: a private bucket
// refuses, and the task is told which credentials to give.
func TestS3FetchNoCredentials(t *testing.T) {
	m := miniotest.Start(t, "")
	putTestObject(t, m, "x.csv", []byte("1,2\n"))
	f := newFetcher(t, m)
	_, _, _, _, err := f.source(context.Background(), burst.Input{Path: "x.csv", URL: "s3://" + m.Bucket + "/x.csv"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.As(err, new(errS3)) || !strings.Contains(err.Error(), "the machine has no S3 credentials") {
		t.Fatalf("no credentials: %v", err)
	}
}

// An AWS configuration the agent cannot read (a profile that is not
// there, a credentials file that is a directory) is not a machine without
// credentials: the task is told what to fix, and nothing is asked
// anonymously (it was: a public object would even have been fetched).
func TestS3FetchBrokenConfig(t *testing.T) {
	m := miniotest.Start(t, "")
	putTestObject(t, m, "x.csv", []byte("1,2\n"))
	for name, c := range map[string]struct{ env, want string }{
		"no such profile":      {"AWS_PROFILE=nope", "nope"},
		"credentials is a dir": {"AWS_SHARED_CREDENTIALS_FILE=" + t.TempDir(), "AWS_SHARED_CREDENTIALS_FILE"},
	} {
		f := newFetcher(t, m, c.env)
		_, _, _, _, err := f.source(context.Background(), burst.Input{Path: "x.csv", URL: "s3://" + m.Bucket + "/x.csv"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if !errors.As(err, new(errS3)) || !strings.Contains(err.Error(), "the agent's AWS configuration") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want the configuration named, with %q", name, err, c.want)
		}
	}
}

// An object replaced between its HEAD and its GET (If-Match on the ETag
// the HEAD gave) is not fetched: the task runs again with the new one.
func TestS3FetchChangedObject(t *testing.T) {
	m := miniotest.Start(t, "")
	putTestObject(t, m, "x.csv", []byte("1,2\n"))
	f := newFetcher(t, m, m.Env()...)
	ctx := context.Background()
	_, fetch, _, _, err := f.source(ctx, burst.Input{Path: "x.csv", URL: "s3://" + m.Bucket + "/x.csv"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	putTestObject(t, m, "x.csv", []byte("3,4,5\n"))
	if err := fetch(ctx, filepath.Join(t.TempDir(), "blob")); err == nil || !strings.Contains(err.Error(), "changed while it was fetched") {
		t.Fatalf("an object changed since its HEAD: %v", err)
	}
}

// A key the store refuses (MinIO refuses "dir/../x.txt" with 400 Bad
// Request) fails the task with what to check, as the job's fault: it was
// taken for the machine's trouble, and the task ran again as lost.
func TestS3FetchRefusedKey(t *testing.T) {
	m := miniotest.Start(t, "")
	f := newFetcher(t, m, m.Env()...)
	u := "s3://" + m.Bucket + "/dir/../x.txt"
	_, _, _, _, err := f.source(context.Background(), burst.Input{Path: "x.txt", URL: u}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var es errS3
	if !errors.As(err, &es) || !strings.Contains(err.Error(), "refuses the request for it") {
		t.Fatalf("source(%s) = %v; want the job's error naming the refusal", u, err)
	}
}
