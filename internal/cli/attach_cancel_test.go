package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/burst-sh/burst/client"
)

// The cancel a signal sends an attached command says what keeps its job
// from ending: a cancel the server holds (its disk is full: the task was
// told to stop, its end is recorded once there is room) or refuses.
// Before, the command printed "cancelling job N" and waited without a
// word on why nothing happened; and one whose reader went away after its
// job had ended said the job was cancelled.
func TestInterruptSaysWhyTheCancelWaits(t *testing.T) {
	const held = "its running tasks were told to stop now; the cancel is recorded once the store can write again: free at least 1 MiB there"
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   string
	}{
		{"held", func(w http.ResponseWriter) {
			json.NewEncoder(w).Encode(client.CancelResult{ID: 7, State: "running", Held: held})
		}, "burst: job 7: " + held + "\n"},
		{"already ended", func(w http.ResponseWriter) {
			json.NewEncoder(w).Encode(client.CancelResult{ID: 7, State: "succeeded", AlreadyFinished: true})
		}, "burst: job 7 had already ended (succeeded): nothing was cancelled\n"},
		{"refused", func(w http.ResponseWriter) {
			w.WriteHeader(403)
			json.NewEncoder(w).Encode(client.Error{Message: "you may not cancel job 7"})
		}, "burst: the cancel of job 7 failed: you may not cancel job 7 (`burst cancel 7` asks again)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "POST" || r.URL.Path != "/v1/jobs/7/cancel" {
					t.Errorf("asked %s %s", r.Method, r.URL.Path)
				}
				tc.answer(w)
			}))
			defer srv.Close()
			cl, err := client.New(srv.URL, strings.Repeat("ab", 32))
			if err != nil {
				t.Fatal(err)
			}
			// One signal came before the job's id was known: it cancels
			// the job at once.
			in := &interrupts{sigs: make(chan os.Signal, 2), pipe: make(chan os.Signal, 1), handoff: make(chan struct{}), held: make(chan int, 1)}
			in.held <- 1
			var stdout, stderr bytes.Buffer
			_, _, stop := cancelOnInterrupt(context.Background(), &stdout, &stderr, cl, 7, in)
			stop() // waits for the cancel sent
			if got := stderr.String(); !strings.HasSuffix(got, tc.want) {
				t.Fatalf("stderr %q; want it to end with %q", got, tc.want)
			}
		})
	}
}
