package e2e

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Staging across machines that share no disk: an agent on a namespace
// test host (its own /tmp and home, joined with a one-time token, reaching
// the server and MinIO over the bridge alone) runs a task with a local
// --in (uploaded to the server's blob store, fetched by the host), an
// s3:// --in (fetched by the host from MinIO with the credentials in its
// own environment) and --out: the outputs come back here byte-identical,
// and the task ran on the host, in a directory this machine does not have.
func TestStageRemoteHost(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	m := startMinIO(t, hostGateway)
	obj := make([]byte, 1<<20)
	rand.Read(obj)
	putObject(t, m, "lab/ref.bin", obj)
	h.mustRun("cluster", "create", "stagehost", "--provider", "joined")
	env := append(m.Env(), "AWS_ENDPOINT_URL_S3="+m.Endpoint, "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	a := h.startHostAgentEnv(3, env, "--machine", "bh3-stage", "--cluster", "stagehost", "--cpus", "2")
	h.waitRegistered(a)

	data := make([]byte, 2<<20)
	rand.Read(data)
	stageFile(t, h.dir, "data.csv", data, 0o644)
	script := `set -e; mkdir -p r; sha256sum data.csv ref.bin | cut -c1-64 > r/sums.txt; uname -n > r/host.txt; pwd > r/where.txt`
	r := h.mustRun("run", "--on", "stagehost", "--in", "data.csv", "--in", "s3://"+m.Bucket+"/lab/ref.bin", "--out", "r/*.txt", "--", "sh", "-c", script)
	if !strings.Contains(r.stderr, "fetched 3 outputs") {
		t.Errorf("run should fetch the 3 outputs back:\n%s", r)
	}
	got, err := os.ReadFile(filepath.Join(h.dir, "r", "sums.txt"))
	want := strings.TrimPrefix(digestOf(data), "sha256:") + "\n" + strings.TrimPrefix(digestOf(obj), "sha256:") + "\n"
	if err != nil || string(got) != want {
		t.Fatalf("the host read %q, %v; want the digests of data.csv and the object:\n%s", got, err, want)
	}
	host, _ := os.ReadFile(filepath.Join(h.dir, "r", "host.txt"))
	mine, _ := os.Hostname()
	if len(strings.TrimSpace(string(host))) == 0 || strings.TrimSpace(string(host)) == mine {
		t.Errorf("the task ran on %q; want host bh3, not this machine (%q)", host, mine)
	}
	where, _ := os.ReadFile(filepath.Join(h.dir, "r", "where.txt"))
	if dir := strings.TrimSpace(string(where)); dir == "" || strings.HasPrefix(dir, h.root) {
		t.Errorf("the task ran in %q; want its private directory on the host, not under this test's %s", dir, h.root)
	}
	if j := h.show(jobIDFrom(t, r)); j.task0(t).Machine != a.machine {
		t.Errorf("the task ran on %q, want %s", j.task0(t).Machine, a.machine)
	}
}
