package api

import (
	"strings"
	"testing"
)

// TestJoinBodyLimit: a POST /v1/join body past its own limit (4 KiB) is
// refused naming that limit, not the 64 MiB of other requests.
func TestJoinBodyLimit(t *testing.T) {
	h := newTest(t, &standIn{})
	code, body := call(h, "POST", "/v1/join", `{"token":"`+strings.Repeat("x", 5<<10)+`"}`, nil)
	if msg := errMessage(t, body); code != 413 || !strings.Contains(msg, "4096 bytes (4 KiB)") || strings.Contains(msg, "64 MiB") {
		t.Errorf("a 5 KB join body: %d %q, want 413 naming 4096 bytes (4 KiB)", code, msg)
	}
}
