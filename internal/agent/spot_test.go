package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// readNotice goes through IMDSv2 (a token first) at the endpoint the SDK
// is pointed at: no notice on 404, the notice once one is served, an
// error for a notice it cannot read.
func TestReadNotice(t *testing.T) {
	body := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			// The SDK reads the token's lifetime from the answer.
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
			fmt.Fprint(w, "tok")
		case r.URL.Path == "/latest/meta-data/spot/instance-action" && r.Header.Get("X-aws-ec2-metadata-token") == "tok":
			if body == "" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, body)
		default:
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.URL)
	md := imds.New(imds.Options{})
	ctx := context.Background()
	if n, err := readNotice(ctx, md); n != nil || err != nil {
		t.Fatalf("before a notice: %+v, %v; want none", n, err)
	}
	body = `{"action":"terminate","time":"2026-12-04T05:00:00Z"}`
	n, err := readNotice(ctx, md)
	if err != nil || n == nil || n.Action != "terminate" || !n.Time.Equal(time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)) {
		t.Fatalf("with a notice: %+v, %v", n, err)
	}
	body = `{"action":"terminate"}`
	if n, err := readNotice(ctx, md); err == nil {
		t.Fatalf("a notice without a time: %+v, want an error", n)
	}
}
