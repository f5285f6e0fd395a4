package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
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

// On a notice the server is told before the tasks get SIGTERM: a task's
// exit reported first would end it as cancelled, where the notice
// requeues it as preempted. The server here takes 300 ms to answer; the
// task must outlive the answer.
func TestInterruptTellsTheServerFirst(t *testing.T) {
	var answered atomic.Int64 // when the server answered the notice (unix ns)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/agent/interrupted" {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		time.Sleep(300 * time.Millisecond)
		answered.Store(time.Now().UnixNano())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"machine":"m1","requeued":1}`)
	}))
	defer srv.Close()
	cl, err := client.New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	task, err := runner.Start(runner.Spec{Argv: []string{"sleep", "60"}, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{Client: cl, Machine: "m1", Log: slog.New(slog.DiscardHandler)},
		running: map[key]*running{{1, 0}: {ref: client.TaskRef{Job: 1, Attempt: 1}, task: task}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.interrupt(ctx, notice{Action: "terminate", Time: time.Now().Add(time.Minute)})
	}()
	ended := make(chan time.Time, 1)
	go func() { task.Wait(); ended <- time.Now() }()
	select {
	case at := <-ended:
		if ans := answered.Load(); ans == 0 || at.UnixNano() < ans {
			t.Errorf("the task ended (SIGTERM) before the server had answered the notice")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the task did not get SIGTERM within 20 s of the notice")
	}
	cancel()
	<-done
}
