package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/burst-sh/burst/client"
)

// blobFile writes n random bytes to name in the harness's directory and
// returns its digest.
func (h *harness) blobFile(name string, n int) string {
	h.t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(filepath.Join(h.dir, name), b, 0o644); err != nil {
		h.t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// storage is `burst storage show -o json`.
func (h *harness) storage() client.StorageInfo {
	h.t.Helper()
	var s client.StorageInfo
	r := h.mustRun("storage", "show", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		h.t.Fatalf("storage show: %v: %q", err, r.stdout)
	}
	return s
}

// blobFiles are the files of the embedded store, temporaries included.
func (h *harness) blobFiles() []string {
	var out []string
	filepath.WalkDir(filepath.Join(h.home, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, h.home+"/"))
		}
		return nil
	})
	return out
}

// serverToken is the home's token, for raw requests.
func (h *harness) serverToken() string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.home, "token"))
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cutUpload sends the head of a blob's PUT by hand (its headers and the
// first part of the size it announces), waits for the server to be
// writing it, and returns the connection to cut.
func (h *harness) cutUpload(digest string, size int, part []byte) net.Conn {
	h.t.Helper()
	addr := strings.TrimPrefix(h.serverInfo().Addr, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		h.t.Fatal(err)
	}
	fmt.Fprintf(c, "PUT /v1/blobs/%s?project=default&kind=input HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
		digest, addr, h.serverToken(), size)
	c.Write(part)
	h.waitFor("the server to write the upload to blobs/tmp", 20*time.Second, func() bool {
		ents, _ := os.ReadDir(filepath.Join(h.home, "blobs", "tmp"))
		return len(ents) > 0
	})
	return c
}

// A user uploads with the CLI and reads back the same bytes; the same
// content again sends nothing (the server's received bytes stay); a body
// whose hash is not its digest is refused and leaves nothing; an upload
// whose connection is cut leaves nothing, and the same blob then uploads.
func TestBlobEmbedded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 65<<20 + 5 // past the 64 MiB of a JSON body: a blob is streamed, not held
	d := h.blobFile("data.bin", n)
	r := h.mustRun("storage", "put", "data.bin", "-o", "json")
	var refs []client.BlobRef
	if err := json.Unmarshal([]byte(r.stdout), &refs); err != nil || len(refs) != 1 || refs[0].Digest != d || refs[0].Size != n {
		t.Fatalf("storage put printed %q (%v), want [{%s %d}]", r.stdout, err, d, n)
	}
	s := h.storage()
	if s.Received != n || len(s.Usage) != 1 || s.Usage[0].Bytes != n || s.Usage[0].Kind != "input" || s.Usage[0].Location != "embedded" {
		t.Fatalf("after one upload: received %d, usage %+v; want %d bytes, one input blob held embedded", s.Received, s.Usage, n)
	}
	h.mustRun("storage", "put", "data.bin")
	if s2 := h.storage(); s2.Received != n || s2.Usage[0].Count != 1 || s2.Usage[0].Bytes != n {
		t.Fatalf("a second upload of the same file: received %d (want still %d), usage %+v", s2.Received, n, s2.Usage)
	}
	h.mustRun("storage", "get", d, "--size", strconv.Itoa(n), "-o", "back.bin")
	if a, b := readFile(t, filepath.Join(h.dir, "data.bin")), readFile(t, filepath.Join(h.dir, "back.bin")); a != b {
		t.Fatalf("storage get gave %d bytes that differ from the %d uploaded", len(b), len(a))
	}

	// A body that does not hash to its digest: 400, nothing kept.
	before := h.blobFiles()
	other := h.blobFile("other.bin", 1000)
	body := []byte(readFile(t, filepath.Join(h.dir, "data.bin"))[:1000])
	req, _ := http.NewRequest("PUT", h.serverInfo().Addr+"/v1/blobs/"+other+"?project=default&kind=input", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.serverToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(msg), "nothing was kept") {
		t.Fatalf("a wrong-hash upload: %d %s; want 400 saying nothing was kept", resp.StatusCode, msg)
	}
	if after := h.blobFiles(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("a refused upload changed the store: %v -> %v", before, after)
	}
	if r := h.run("storage", "get", other, "--size", "1000", "-o", "x.bin"); r.code == 0 {
		t.Fatalf("a refused blob can be read:\n%s", r)
	}

	// A cut connection: the half-written file goes, no blob appears.
	data := []byte(readFile(t, filepath.Join(h.dir, "other.bin")))
	c := h.cutUpload(other, len(data), data[:300])
	c.Close()
	h.waitFor("the cut upload's temporary to be removed", 20*time.Second, func() bool {
		ents, _ := os.ReadDir(filepath.Join(h.home, "blobs", "tmp"))
		return len(ents) == 0
	})
	if after := h.blobFiles(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("a cut upload changed the store: %v -> %v", before, after)
	}
	if s3 := h.storage(); s3.Usage[0].Count != 1 {
		t.Fatalf("a cut upload is counted: %+v", s3.Usage)
	}
	h.mustRun("storage", "put", "other.bin")
	if s4 := h.storage(); s4.Usage[0].Count != 2 || s4.Usage[0].Bytes != n+1000 {
		t.Fatalf("after the cut blob was sent whole: %+v, want 2 blobs of %d bytes", s4.Usage, n+1000)
	}
}

// kill -9 of the server in the middle of an upload loses nothing it had
// accepted: the blob uploaded before reads back whole after the restart,
// the cut one is not there, and nothing half-written is left.
func TestBlobServerKill9MidUpload(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.blobFile("a.bin", 1<<20)
	h.mustRun("storage", "put", "a.bin")
	b := h.blobFile("b.bin", 4<<20)
	c := h.cutUpload(b, 4<<20, []byte(readFile(t, filepath.Join(h.dir, "b.bin"))[:1<<20]))
	defer c.Close()
	pid := h.serverPID()
	h.kill9(pid, "server")
	h.mustRun("storage", "get", a, "--size", strconv.Itoa(1<<20), "-o", "a2.bin")
	if h.serverPID() == pid {
		t.Fatal("the server was not restarted")
	}
	if readFile(t, filepath.Join(h.dir, "a.bin")) != readFile(t, filepath.Join(h.dir, "a2.bin")) {
		t.Fatal("the blob accepted before the kill does not read back the same")
	}
	if r := h.run("storage", "get", b, "--size", strconv.Itoa(4<<20), "-o", "b2.bin"); r.code == 0 || !strings.Contains(r.stderr, "no blob") {
		t.Fatalf("the blob cut by the kill:\n%s\nwant refused as unknown", r)
	}
	for _, f := range h.blobFiles() {
		if strings.HasPrefix(f, "blobs/tmp/") {
			t.Fatalf("a half-written upload outlived the restart: %s", f)
		}
	}
	if s := h.storage(); len(s.Usage) != 1 || s.Usage[0].Count != 1 || s.Usage[0].Bytes != 1<<20 {
		t.Fatalf("after the restart the store counts %+v, want the one blob accepted", s.Usage)
	}
}

// With `burst storage set s3://...` against a real MinIO: the set is
// refused, naming the fix, without keys or bucket; accepted once the
// server holds keys; blobs then go to the bucket by a presigned URL (the
// server receives no byte), reads are 307 redirects to a presigned GET,
// the choice survives a restart, and after `storage set embedded` the
// blobs held in S3 still read back while new ones stay home.
func TestBlobS3MinIO(t *testing.T) {
	t.Parallel()
	m := startMinIO(t, "")
	h := newHarness(t)
	r := h.run("storage", "set", "s3://"+m.Bucket+"/lab", "--endpoint", m.Endpoint)
	if r.code == 0 || !strings.Contains(r.stderr, "AWS_ACCESS_KEY_ID") {
		t.Fatalf("storage set with a server that holds no keys:\n%s\nwant refused, naming AWS_ACCESS_KEY_ID", r)
	}
	h.mustRun("server", "stop")
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		h.setEnv(k, v)
	}
	if r := h.run("storage", "set", "s3://no-bucket-here/lab", "--endpoint", m.Endpoint); r.code == 0 || !strings.Contains(r.stderr, "create it") {
		t.Fatalf("storage set to a bucket that does not exist:\n%s", r)
	}
	if s := h.storage(); s.URL != "embedded" {
		t.Fatalf("a refused set changed the storage: %+v", s)
	}
	h.mustRun("storage", "set", "s3://"+m.Bucket+"/lab", "--endpoint", m.Endpoint)

	const n = 3<<20 + 1
	d := h.blobFile("data.bin", n)
	h.mustRun("storage", "put", "data.bin")
	oi, err := m.Client(t).StatObject(context.Background(), m.Bucket, "lab/sha256/"+d[7:9]+"/"+d[7:], minio.StatObjectOptions{})
	if err != nil || oi.Size != n {
		t.Fatalf("the blob in the bucket: %v (size %d), want %d bytes", err, oi.Size, n)
	}
	if s := h.storage(); s.Received != 0 || len(s.Usage) != 1 || !strings.HasPrefix(s.Usage[0].Location, "s3://"+m.Bucket+"/lab") {
		t.Fatalf("after an upload to S3: received %d (want 0: by the presigned URL), usage %+v", s.Received, s.Usage)
	}
	req, _ := http.NewRequest("GET", h.serverInfo().Addr+"/v1/blobs/"+d, nil)
	req.Header.Set("Authorization", "Bearer "+h.serverToken())
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 307 || !strings.HasPrefix(loc, m.Endpoint+"/"+m.Bucket+"/lab/sha256/") || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("GET of an S3 blob: %d to %q, want 307 to a presigned URL of the bucket", resp.StatusCode, loc)
	}
	h.mustRun("storage", "get", d, "--size", strconv.Itoa(n), "-o", "back.bin")
	if readFile(t, filepath.Join(h.dir, "data.bin")) != readFile(t, filepath.Join(h.dir, "back.bin")) {
		t.Fatal("the blob read back from S3 differs")
	}

	h.mustRun("server", "stop")
	if s := h.storage(); s.URL != "s3://"+m.Bucket+"/lab" || !strings.Contains(s.Describe, m.Endpoint) {
		t.Fatalf("after a restart the storage is %+v, want s3://%s/lab at %s", s, m.Bucket, m.Endpoint)
	}
	h.mustRun("storage", "set", "embedded")
	e := h.blobFile("home.bin", 1000)
	h.mustRun("storage", "put", "home.bin")
	h.mustRun("storage", "get", d, "--size", strconv.Itoa(n), "-o", "back2.bin")
	if readFile(t, filepath.Join(h.dir, "data.bin")) != readFile(t, filepath.Join(h.dir, "back2.bin")) {
		t.Fatal("the S3 blob read back after `storage set embedded` differs")
	}
	h.mustRun("storage", "get", e, "--size", "1000", "-o", "home2.bin")
	if s := h.storage(); s.Received != 1000 || len(s.Usage) != 2 {
		t.Fatalf("after the switch back: received %d, usage %+v; want the new blob sent home, both held", s.Received, s.Usage)
	}
}

// A machine's credential (an agent on a namespace test host, joined with
// a one-time token) reads a blob only while it holds a task of a job that
// references it, and uploads outputs only for the task it holds.
func TestBlobMachineReads(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	h.mustRun("project", "create", "mars", "--budget", "100")
	h.mustRun("cluster", "create", "bl", "--provider", "joined", "--project", "mars")
	a := h.startHostAgent(4, "--machine", "bh4-bl", "--cluster", "bl", "--cpus", "2")
	h.waitRegistered(a)
	const n = 300000
	d := h.blobFile("in.bin", n)
	h.mustRun("storage", "put", "in.bin", "--project", "mars")

	// The machine's credential, as its agent keeps it on its host.
	out, err := onHost(t, a, "cat", "/tmp/home/.burst/joined.json") // the agent says where it keeps it
	var st struct {
		Servers []struct{ Server, Credential, CA string } `json:"servers"`
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || len(st.Servers) != 1 || st.Servers[0].Credential == "" {
		t.Fatalf("the agent's joined.json on its host: %v %q", err, out)
	}
	m, err := client.New(st.Servers[0].Server, st.Servers[0].Credential, client.WithCA([]byte(st.Servers[0].CA)), client.WithRetry(client.Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := client.BlobRef{Digest: d, Size: n}
	dst := filepath.Join(h.dir, "fetched.bin")
	if err := m.FetchBlob(ctx, ref, dst); !client.IsNotFound(err) {
		t.Fatalf("the machine read a blob no task of it uses: %v, want 404", err)
	}

	id := h.submit("--project", "mars", "--on", "bl", "--", "sleep", "300")
	j := h.waitRunning(id)
	if err := m.FetchBlob(ctx, ref, dst); !client.IsNotFound(err) {
		t.Fatalf("the machine read a blob its running job does not reference: %v, want 404", err)
	}
	h.mustRun("storage", "put", "in.bin", "--project", "mars", "--job", idArg(id))
	if err := m.FetchBlob(ctx, ref, dst); err != nil {
		t.Fatalf("the machine could not read its job's blob: %v", err)
	}
	if readFile(t, dst) != readFile(t, filepath.Join(h.dir, "in.bin")) {
		t.Fatal("the machine read other bytes than were uploaded")
	}
	if s := h.storage(); s.Received != n {
		t.Fatalf("referencing the blob from the job sent it again: received %d, want %d", s.Received, n)
	}

	h.blobFile("out.bin", 5000)
	task := j.task0(t)
	mine := client.BlobPut{Project: "mars", Kind: client.BlobOutput, Job: id, Task: 0, Attempt: task.Attempt}
	if _, err := m.UploadFile(ctx, filepath.Join(h.dir, "out.bin"), mine); err != nil {
		t.Fatalf("the machine could not upload its task's output: %v", err)
	}
	other := mine
	other.Job = id + 1000
	var ae *client.Error
	if _, err := m.UploadFile(ctx, filepath.Join(h.dir, "out.bin"), other); !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("the machine uploaded an output for a task it does not hold: %v, want 403", err)
	}
	if _, err := m.UploadFile(ctx, filepath.Join(h.dir, "in.bin"), client.BlobPut{Project: "mars", Kind: client.BlobInput}); !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("the machine uploaded an input: %v, want 403", err)
	}

	h.mustRun("cancel", idArg(id))
	h.waitFor("the cancelled task to leave the machine", 30*time.Second, func() bool { return terminal(h.show(id).State) })
	if err := m.FetchBlob(ctx, ref, dst); !client.IsNotFound(err) {
		t.Fatalf("the machine still reads the blob once its task ended: %v, want 404", err)
	}
}

// An empty file moves through an S3 store as any other: as a job's input
// (a presigned PUT of 0 bytes must say Content-Length: 0, which S3
// requires, not be sent chunked) and as its output.
func TestBlobS3EmptyFile(t *testing.T) {
	t.Parallel()
	m := startMinIO(t, "")
	h := newHarness(t)
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		h.setEnv(k, v)
	}
	h.mustRun("storage", "set", "s3://"+m.Bucket+"/lab", "--endpoint", m.Endpoint)
	h.blobFile("empty.in", 0)
	r := h.mustRun("run", "--in", "empty.in", "--out", "empty.out", "--", "sh", "-c", "wc -c < empty.in; : > empty.out")
	if strings.TrimSpace(r.stdout) != "0" {
		t.Fatalf("a job with an empty input and output:\n%s\nwant it to read 0 bytes", r)
	}
	if fi, err := os.Stat(filepath.Join(h.dir, "empty.out")); err != nil || fi.Size() != 0 {
		t.Fatalf("the empty output fetched back: %v, %v", fi, err)
	}
}
