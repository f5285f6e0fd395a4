package e2e

import (
	"testing"

	"github.com/burst-sh/burst/internal/blob/miniotest"
)

// minioServer is a real MinIO (built by .ci/run from the Go module proxy;
// $MINIO_BIN or /var/cache/burst-minio/bin/minio) with a fresh bucket.
type minioServer = miniotest.Server

// startMinIO runs MinIO on addr (empty: 127.0.0.1; hostGateway, the
// bridge's address, lets agents on the namespace test hosts reach it)
// until the test ends. Without the binary the test skips loudly, and fails
// under BURST_CI=1.
func startMinIO(t *testing.T, addr string) *minioServer {
	t.Helper()
	return miniotest.Start(t, addr)
}
