package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/auth"
)

// TestUICodesBounded: POST /v1/ui/code, asked 10,000 times by one caller,
// leaves at most maxCodes of theirs in memory (the newest: the last code
// still signs in), another caller's are kept apart, and codes past their
// expiry are swept when a new one is made.
func TestUICodesBounded(t *testing.T) {
	mux := http.NewServeMux()
	h := &handler{b: &standIn{}, o: Options{Token: token, User: "ada", Addr: "http://127.0.0.1:7780"}}
	if err := h.uiRoutes(mux); err != nil {
		t.Fatal(err)
	}
	ask := func(p *auth.Principal) {
		r := httptest.NewRequest("POST", "/v1/ui/code", nil)
		if p != nil {
			r = r.WithContext(auth.With(r.Context(), p))
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != 201 {
			t.Fatalf("POST /v1/ui/code: %d %s", w.Code, w.Body)
		}
	}
	h.ui.codes["stale"] = signInCode{user: "bob", tokenHash: "old", expires: time.Now().Add(-time.Second)}
	bob := &auth.Principal{Kind: auth.User, Name: "bob", Credential: "bobs"}
	ask(bob)
	if _, ok := h.ui.codes["stale"]; ok {
		t.Errorf("an expired code outlived a new code")
	}
	for range 10000 {
		ask(nil)
	}
	h.ui.mu.Lock()
	defer h.ui.mu.Unlock()
	if n := len(h.ui.codes); n != maxCodes+1 {
		t.Errorf("after 10,000 codes of the admin and 1 of bob: %d codes held, want %d", n, maxCodes+1)
	}
	bobs := 0
	for _, c := range h.ui.codes {
		if c.user == "bob" {
			bobs++
		}
	}
	if bobs != 1 {
		t.Errorf("bob's code was dropped for the admin's: %d of his held", bobs)
	}
}
