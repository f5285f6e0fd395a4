package api

import (
	"fmt"
	"net/http"
	"os"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/dist"
)

// distPath serves the server's own burst binary to machines that fetch it
// before they join (an EC2 instance's user-data): it takes no token, as
// the binary is no secret, and the machine checks it by the SHA-256 its
// user-data holds (also sent in the SHA256Header).
const distPath = "/v1/dist/burst"

// SHA256Header carries the SHA-256 (hex) of the binary served.
const SHA256Header = "X-Burst-SHA256"

func (h *handler) distRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/dist/burst", func(w http.ResponseWriter, r *http.Request) {
		arch := r.URL.Query().Get("arch")
		if arch != dist.Arch() {
			writeJSON(w, 404, client.Error{Message: fmt.Sprintf(
				"this server serves burst for %s only (asked: %q): launch machines of %s (x86_64 is amd64), or run a server built for %s",
				dist.Arch(), arch, dist.Arch(), arch)})
			return
		}
		exe, err := os.Executable()
		if err != nil {
			writeErr(w, err)
			return
		}
		sum, err := dist.Sum(exe)
		if err != nil {
			writeErr(w, err)
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			writeErr(w, err)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			writeErr(w, err)
			return
		}
		w.Header().Set(SHA256Header, sum)
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "burst", fi.ModTime(), f) // Range: a cut download resumes
	})
}
