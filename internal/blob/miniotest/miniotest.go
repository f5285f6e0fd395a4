// Package miniotest starts a real MinIO server for tests: the binary is
// built from the Go module proxy by .ci/run (docs/storage.md), found at
// $MINIO_BIN or /var/cache/burst-minio/bin/minio. A test that cannot have
// it skips loudly, and fails under BURST_CI=1, where it must run. It is
// for tests only: nothing else imports it.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// CacheBin is where .ci/run builds MinIO.
const CacheBin = "/var/cache/burst-minio/bin/minio"

// Server is a running MinIO with one bucket.
type Server struct {
	Endpoint             string // http://host:port
	AccessKey, SecretKey string
	Bucket               string
	Region               string // "" unless StartIn named one
	Log                  string // its output
	cmd                  *exec.Cmd
}

// Env is the credentials as the AWS variables a server or agent reads.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey}
}

// Client is a minio-go client of the server, for tests to look inside.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint[len("http://"):], &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bin is the MinIO binary, or why there is none.
func Bin() (string, error) {
	for _, p := range []string{os.Getenv("MINIO_BIN"), CacheBin} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("no MinIO binary at $MINIO_BIN or %s: build it with .ci/run (or `GOBIN=%s go install github.com/minio/minio@<version in .ci/run>`)", CacheBin, filepath.Dir(CacheBin))
}

// Start runs MinIO on ip (empty: 127.0.0.1; the bridge's 10.251.0.1 lets
// the namespace test hosts reach it) on a free port, with a fresh data
// directory and bucket, until the test ends.
func Start(t testing.TB, ip string) *Server {
	t.Helper()
	return StartIn(t, ip, "")
}

// StartIn is Start of a MinIO whose region is region (MINIO_SITE_REGION;
// "": none, which takes any): it refuses requests signed for another,
// saying its own, as S3 does for a bucket in another region.
func StartIn(t testing.TB, ip, region string) *Server {
	t.Helper()
	bin, err := Bin()
	if err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatalf("MinIO: %v (BURST_CI is set and CI must not skip)", err)
		}
		t.Skipf("!!! SKIPPED: MinIO: %v", err)
	}
	if ip == "" {
		ip = "127.0.0.1"
	}
	// A port found free may be taken by another process before MinIO
	// binds it (tests run side by side): then again on other ports.
	for attempt := 1; ; attempt++ {
		if s, inUse := startIn(t, bin, ip, region); !inUse {
			return s
		} else if attempt == 3 {
			b, _ := os.ReadFile(s.Log)
			t.Fatalf("MinIO: its ports were taken before it bound them, three times:\n%s", b)
		}
	}
}

// startIn starts MinIO once on ports found free; inUse says that it
// exited because one was taken meanwhile (s is then stopped).
func startIn(t testing.TB, bin, ip, region string) (s *Server, inUse bool) {
	t.Helper()
	port, console := freePort(t, ip), freePort(t, ip)
	dir := t.TempDir()
	s = &Server{Endpoint: fmt.Sprintf("http://%s:%d", ip, port), AccessKey: "burst" + randHex(4), SecretKey: randHex(16),
		Bucket: "burst-" + randHex(4), Region: region, Log: filepath.Join(dir, "minio.log")}
	logf, err := os.Create(s.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "server", "--quiet", "--address", fmt.Sprintf("%s:%d", ip, port),
		"--console-address", fmt.Sprintf("%s:%d", ip, console), filepath.Join(dir, "data"))
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	if region != "" {
		s.cmd.Env = append(s.cmd.Env, "MINIO_SITE_REGION="+region)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		s.cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if b, _ := os.ReadFile(s.Log); bytes.Contains(b, []byte("port is already in use")) {
			s.Kill()
			return s, true
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.Log)
			t.Fatalf("MinIO at %s not ready after 30 s: %v\n%s", s.Endpoint, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatalf("MinIO: make bucket %s: %v", s.Bucket, err)
	}
	return s, false
}

// Kill kills MinIO at once (SIGKILL), as a crash would, and waits for it.
func (s *Server) Kill() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.cmd.Wait()
}

// Freeze stops MinIO (SIGSTOP): it still takes connections but answers
// nothing, until the returned func lets it go on (SIGCONT). It returns
// once every thread of MinIO is stopped: a signal is delivered after
// kill returns, and a thread still running on the other core answered a
// request sent meanwhile (a test of a silent store then read "no such
// blob" under load).
func (s *Server) Freeze() (thaw func()) {
	pid := s.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGSTOP)
	thaw = func() { syscall.Kill(-pid, syscall.SIGCONT) }
	for deadline := time.Now().Add(30 * time.Second); !allStopped(pid) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return thaw
}

// allStopped says whether every thread of process pid is stopped (state
// T in /proc/PID/task/TID/stat).
func allStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true // gone: nothing answers
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			continue // exited
		}
		// The state follows the command's closing parenthesis.
		if i := bytes.LastIndexByte(b, ')'); i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

func freePort(t testing.TB, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("no free port on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ObjectClass is an object's storage class as minio-go's StatObject
// reports it: MinIO leaves the StorageClass field empty and sends the
// header, which is absent for STANDARD.
func ObjectClass(in minio.ObjectInfo) string {
	if c := in.Metadata.Get("X-Amz-Storage-Class"); c != "" {
		return c
	}
	if in.StorageClass != "" {
		return in.StorageClass
	}
	return "STANDARD"
}
