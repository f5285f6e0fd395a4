package web

import (
	"io"
	"testing"

	"github.com/burst-sh/burst"
)

// The clusters page said of a cluster of joined machines what the server
// fills in for it, "0 live / 0 max", "$0.0052/h per machine" and "1 CPUs",
// where burst cluster list says it has no --max and no one price (each
// machine joins with its own size, charged per use), and of this host's
// built-in cluster "$0.252/h per machine · $0.252/h now" with no task
// running, though only its tasks pay. (Figures as a server gave them.)
func TestClustersPagePerUse(t *testing.T) {
	r := newRenderer(t)
	v := &ClustersView{Page: samplePage("Clusters", "clusters"), Clusters: []ClusterBox{
		{Cluster: burst.Cluster{Name: "lab", Provider: "joined", Type: "own size", Project: "mars", CPUs: 1, PriceUSDPerHour: 0.0052, Live: 2}},
		{Cluster: burst.Cluster{Name: "local", Provider: "local", BuiltIn: true, Max: 1, Live: 1, CPUs: 2, MemBytes: 24 << 30, PriceUSDPerHour: 0.252}},
	}}
	s := renderString(t, func(w io.Writer) error { return r.Clusters(w, v) })
	mustContain(t, "clusters", s, "2 joined", "each machine's own, per use", "<dd>each machine&#39;s own</dd>",
		"$0.252/h, per use", "1 live / 1 max")
	mustNotContain(t, "clusters", s, "$0.0052", "1 CPUs", "2 live / 0 max", "/h now")
}
