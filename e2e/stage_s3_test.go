package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// putObject writes data at key in the MinIO's bucket.
func putObject(t *testing.T, m *minioServer, key string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.Client(t).PutObject(ctx, m.Bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// s3Harness is a harness whose agents reach MinIO m with its credentials
// in their environment, and no other (no shared credentials file).
func s3Harness(t *testing.T, m *minioServer) *harness {
	h := newHarness(t)
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		h.setEnv(k, v)
	}
	h.setEnv("AWS_ENDPOINT_URL_S3", m.Endpoint)
	h.setEnv("AWS_REGION", "us-east-1")
	h.setEnv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(h.root, "no-credentials"))
	return h
}

// s3Fetches counts the agent's fetches of url (its log says each).
func s3Fetches(h *harness, url string) int {
	b, _ := os.ReadFile(filepath.Join(h.home, "agents", "local-1.log"))
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "fetched an s3:// input") && strings.Contains(l, url+" ") {
			n++
		}
	}
	return n
}

// s3Cached lists the s3:// objects in the agent's cache (not its lock
// files or a fetch's temporary ones).
func s3Cached(h *harness) []string {
	m, _ := filepath.Glob(filepath.Join(h.home, "cache", "s3", "*", "*"))
	var files []string
	for _, p := range m {
		if !strings.Contains(filepath.Base(p), ".") {
			files = append(files, p)
		}
	}
	return files
}

func digestOf(data []byte) string {
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}

// An s3:// input is fetched by the agent itself with the credentials in
// its environment, staged under the key's base name, and cached: a second
// task reads the very same cached file (its inode) and four tasks at once
// fetch a new object once. Its digest is recorded in the task's end and
// shown by burst show. A changed object is fetched again; a pin that is
// not the object's digest is refused and leaves nothing in the cache; a
// missing key fails with the fix.
func TestStageS3Run(t *testing.T) {
	t.Parallel()
	m := startMinIO(t, "")
	h := s3Harness(t, m)
	data := make([]byte, 3<<20)
	rand.Read(data)
	putObject(t, m, "refs/ref.fa", data)
	url := "s3://" + m.Bucket + "/refs/ref.fa"
	script := `set -e; mkdir -p o; sha256sum ref.fa | cut -c1-64 > o/sum.txt; stat -c %i ref.fa > o/inode.txt`
	runOnce := func(in string) (sum, inode string, id int64) {
		t.Helper()
		os.RemoveAll(filepath.Join(h.dir, "o"))
		r := h.mustRun("run", "--in", in, "--out", "o/*", "--", "sh", "-c", script)
		s, err1 := os.ReadFile(filepath.Join(h.dir, "o", "sum.txt"))
		i, err2 := os.ReadFile(filepath.Join(h.dir, "o", "inode.txt"))
		if err1 != nil || err2 != nil {
			t.Fatalf("outputs not fetched: %v %v\n%s", err1, err2, r)
		}
		return "sha256:" + strings.TrimSpace(string(s)), strings.TrimSpace(string(i)), jobIDFrom(t, r)
	}

	sum1, ino1, id1 := runOnce(url)
	if sum1 != digestOf(data) {
		t.Fatalf("the task read %s, want the object's %s", sum1, digestOf(data))
	}
	if reason := h.show(id1).task0(t).Reason; !strings.Contains(reason, digestOf(data)) || !strings.Contains(reason, url) {
		t.Errorf("the task's end should record the object's digest %s; reason %q", digestOf(data), reason)
	}
	if show := h.mustRun("show", idArg(id1)); !strings.Contains(show.stdout, digestOf(data)) || !strings.Contains(show.stdout, "ref.fa (from "+url+")") {
		t.Errorf("burst show should list the s3 input and the digest used:\n%s", show.stdout)
	}
	sum2, ino2, _ := runOnce(url)
	if sum2 != sum1 || ino2 != ino1 {
		t.Errorf("second task: digest %s inode %s; want the same cached file (%s, inode %s)", sum2, ino2, sum1, ino1)
	}
	if n := s3Fetches(h, url); n != 1 {
		t.Errorf("the agent fetched %s %d times for two tasks, want 1", url, n)
	}

	// Four tasks at once ask for an object nobody fetched: one fetch.
	big := make([]byte, 40<<20)
	rand.Read(big)
	putObject(t, m, "refs/big.bin", big)
	bigURL := "s3://" + m.Bucket + "/refs/big.bin"
	r := h.mustRun("map", "--quiet", "--in", bigURL, "--out", "s.out", "--", "sh", "-c", `sha256sum big.bin | cut -c1-64 > s.out`, "_", ":::", "1", "2", "3", "4")
	back := filepath.Join(h.root, "big")
	h.mustRun("results", idArg(jobIDFrom(t, r)), "--fetch", back)
	for i := range 4 {
		got, _ := os.ReadFile(filepath.Join(back, fmt.Sprint(i), "s.out"))
		if "sha256:"+strings.TrimSpace(string(got)) != digestOf(big) {
			t.Errorf("map task %d read %q, want %s", i, got, digestOf(big))
		}
	}
	if n := s3Fetches(h, bigURL); n != 1 {
		t.Errorf("four tasks at once fetched %s %d times, want 1", bigURL, n)
	}

	// The object changes: fetched again, the new bytes.
	data2 := append(bytes.Clone(data[:1<<20]), "changed"...)
	putObject(t, m, "refs/ref.fa", data2)
	sum3, ino3, _ := runOnce(url)
	if sum3 != digestOf(data2) || ino3 == ino1 {
		t.Errorf("after the object changed the task read %s (inode %s); want %s from a fresh fetch", sum3, ino3, digestOf(data2))
	}
	if n := s3Fetches(h, url); n != 2 {
		t.Errorf("the changed object was fetched %d times in all, want 2", n)
	}

	// Pinned: the right digest runs, a wrong one is refused.
	if sum, _, _ := runOnce(url + "#" + digestOf(data2)); sum != digestOf(data2) {
		t.Errorf("pinned to its digest, the task read %s", sum)
	}
	cached := s3Cached(h)
	r = h.run("run", "--in", url+"#"+digestOf(data), "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "not the "+digestOf(data)+" its --in pinned") {
		t.Errorf("a pin that is not the object's digest should fail the task saying so:\n%s", r)
	}
	pinned := "pinned-" + hex.EncodeToString(data[:4]) + ".bin"
	putObject(t, m, pinned, data2)
	r = h.run("run", "--in", "s3://"+m.Bucket+"/"+pinned+"#"+digestOf(data), "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "pin its new digest") {
		t.Errorf("a fresh fetch whose bytes are not the pin's should fail the task:\n%s", r)
	}
	if now := s3Cached(h); len(now) != len(cached) {
		t.Errorf("a refused object was left in the cache: %d files before, %d after", len(cached), len(now))
	}

	// A key that is not there, and a malformed pin.
	r = h.run("run", "--in", "s3://"+m.Bucket+"/no/such.csv", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "no such key") {
		t.Errorf("a missing key should fail the task naming it:\n%s", r)
	}
	r = h.run("run", "--in", "s3://no-such-bucket-"+m.Bucket+"/x.csv", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "no such bucket") {
		t.Errorf("a missing bucket should fail the task naming it:\n%s", r)
	}
	r = h.run("run", "--in", url+"#sha256:abc", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "sha256:<64 lowercase hex>") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("a malformed pin should be refused in one line:\n%s", r)
	}
}

// A machine without S3 credentials fails the task saying which to give.
func TestStageS3NoCredentials(t *testing.T) {
	t.Parallel()
	m := startMinIO(t, "")
	putObject(t, m, "x.csv", []byte("1,2\n"))
	h := newHarness(t)
	h.setEnv("AWS_ENDPOINT_URL_S3", m.Endpoint)
	h.setEnv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(h.root, "no-credentials"))
	h.setEnv("AWS_EC2_METADATA_DISABLED", "true")
	r := h.run("run", "--in", "s3://"+m.Bucket+"/x.csv", "--", "cat", "x.csv")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "AWS_ACCESS_KEY_ID") {
		t.Errorf("without credentials the task should fail naming the variables:\n%s", r)
	}
}

// A map's {} inputs that are s3:// URLs: each task fetches its own
// object, staged at BUCKET/KEY, which {} reads as. The agent's
// credentials come from a shared credentials file (profile lab) alone.
func TestStageS3Map(t *testing.T) {
	t.Parallel()
	m := startMinIO(t, "")
	h := newHarness(t)
	file := filepath.Join(h.root, "aws-credentials")
	creds := fmt.Sprintf("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n[lab]\naws_access_key_id = %s\naws_secret_access_key = %s\n", m.AccessKey, m.SecretKey)
	if err := os.WriteFile(file, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	h.setEnv("AWS_SHARED_CREDENTIALS_FILE", file)
	h.setEnv("AWS_PROFILE", "lab")
	h.setEnv("AWS_ENDPOINT_URL_S3", m.Endpoint)
	var urls []string
	for i := range 3 {
		key := fmt.Sprintf("m/%d.txt", i)
		putObject(t, m, key, []byte(fmt.Sprintf("object %d\n", i)))
		urls = append(urls, "s3://"+m.Bucket+"/"+key)
	}
	args := append([]string{"map", "--quiet", "--out", "r.txt", "--", "sh", "-c", `{ echo "$1"; cat "$1"; ls "$(dirname "$1")"; } > r.txt`, "_", "{}", ":::"}, urls...)
	r := h.mustRun(args...)
	back := filepath.Join(h.root, "back")
	h.mustRun("results", idArg(jobIDFrom(t, r)), "--fetch", back)
	for i := range 3 {
		got, err := os.ReadFile(filepath.Join(back, fmt.Sprint(i), "r.txt"))
		want := fmt.Sprintf("%s/m/%d.txt\nobject %d\n%d.txt\n", m.Bucket, i, i, i)
		if err != nil || string(got) != want {
			t.Errorf("task %d wrote %q, %v; want its own object only, at BUCKET/KEY: %q", i, got, err, want)
		}
	}
}
