package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/burst-sh/burst/internal/dist"
)

// GET /v1/dist/burst serves this very binary, without a token, with its
// sha256 in a header; another arch is refused naming the fix.
func TestDistServesOwnBinary(t *testing.T) {
	h := newTest(t, &standIn{})
	r := httptest.NewRequest("GET", "/v1/dist/burst?arch="+dist.Arch(), nil) // no Authorization
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	exe, _ := os.Executable()
	want, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(want)
	if w.Code != 200 || w.Body.Len() != len(want) || w.Header().Get(SHA256Header) != hex.EncodeToString(d[:]) {
		t.Fatalf("GET own arch: %d, %d bytes (want %d), sha %q", w.Code, w.Body.Len(), len(want), w.Header().Get(SHA256Header))
	}
	got := sha256.Sum256(w.Body.Bytes())
	if got != d {
		t.Error("the bytes served are not the binary's")
	}
	other := "arm64"
	if dist.Arch() == "arm64" {
		other = "amd64"
	}
	code, body := call(h, "GET", "/v1/dist/burst?arch="+other, "", map[string]string{"Authorization": ""})
	if msg := errMessage(t, body); code != 404 || !strings.Contains(msg, "serves burst for "+dist.Arch()+" only") {
		t.Errorf("GET arch %s: %d %q", other, code, msg)
	}
}
