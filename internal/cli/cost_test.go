package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// TestCostByTierIsHeadedKind: --by tier is --by kind by another name;
// its lines are kinds (task, idle, storage:TIER), and the table's header
// says KIND (it said TIER over rows task and idle).
func TestCostByTierIsHeadedKind(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cost", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(&burst.CostReport{By: r.URL.Query().Get("by"), Lines: []burst.CostLine{
			{Key: "task", USD: 0.5, NUSD: 5e8}, {Key: "idle", USD: 0.25, NUSD: 2.5e8}, {Key: "storage:ssd", USD: 0.25, NUSD: 2.5e8},
		}, TotalUSD: 1, TotalNUSD: 1e9})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("BURST_HOME", t.TempDir())
	t.Setenv("BURST_SERVER", srv.URL)
	t.Setenv("BURST_TOKEN", strings.Repeat("ab", 32))
	for _, by := range []string{"kind", "tier"} {
		var out, errb bytes.Buffer
		if code := Main([]string{"cost", "--by", by}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "KIND ") {
			t.Errorf("burst cost --by %s: exit %d, stdout %q, stderr %q; want a table headed KIND", by, code, out.String(), errb.String())
		}
	}
}
