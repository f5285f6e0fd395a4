package agent

import (
	"context"
	"slices"
	"testing"

	"github.com/burst-sh/burst"
)

// The outputs below have the shape nvidia-smi prints (format documented by
// NVIDIA for --query-gpu with csv,noheader,nounits, and for -L).
func TestParseQueryGPU(t *testing.T) {
	out := []byte("0, NVIDIA H100 80GB HBM3, GPU-2f4b7c1e-0d2a-4e59-9a0e-1f3c5b7d9e11, 81559\n" +
		"1, Tesla V100-SXM2-16GB, GPU-8a1d2e3f-4b5c-6d7e-8f90-a1b2c3d4e5f6, 16384\n")
	g := ParseQueryGPU(out)
	if len(g) != 2 {
		t.Fatalf("want 2 GPUs, got %+v", g)
	}
	if g[0].Index != 0 || g[0].Name != "NVIDIA H100 80GB HBM3" || g[0].MemBytes != 81559<<20 || g[0].UUID[:4] != "GPU-" {
		t.Errorf("gpu 0: %+v", g[0])
	}
	if g[1].Index != 1 || g[1].Name != "Tesla V100-SXM2-16GB" {
		t.Errorf("gpu 1: %+v", g[1])
	}
	if got := ParseQueryGPU([]byte("No devices were found\n")); len(got) != 0 {
		t.Errorf("no devices: got %+v", got)
	}
}

func TestParseListGPUs(t *testing.T) {
	out := []byte("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)\nGPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb)\n" +
		"  MIG 1g.5gb     Device  0: (UUID: MIG-cccc)\n")
	g := ParseListGPUs(out)
	if len(g) != 2 || g[1].Index != 1 || g[1].Name != "NVIDIA A100-SXM4-40GB" || g[1].UUID != "GPU-bbbb" {
		t.Fatalf("got %+v", g)
	}
}

func TestDetectThisHost(t *testing.T) {
	r := Detect(context.Background())
	if r.CPUs < 1 || r.MemBytes < 64<<20 {
		t.Fatalf("implausible resources for this host: %+v", r)
	}
}

func TestAllowedGPUs(t *testing.T) {
	all := []burst.GPU{{Index: 0, UUID: "GPU-a"}, {Index: 1, UUID: "GPU-b"}, {Index: 2, UUID: "GPU-c"}}
	ids := func(gs []burst.GPU) []int {
		var out []int
		for _, g := range gs {
			out = append(out, g.Index)
		}
		return out
	}
	cases := []struct {
		n       int
		visible string
		want    []int
	}{
		{0, "", nil},
		{2, "", []int{0, 1}},
		{5, "", []int{0, 1, 2}},
		{1, "2", []int{2}},
		{2, "2,0", []int{2, 0}},
		{2, "GPU-b", []int{1}},
		{1, "7", nil},
		{1, "NoDevFiles", []int{0}},
	}
	for _, c := range cases {
		if got := ids(AllowedGPUs(all, c.n, c.visible)); !slices.Equal(got, c.want) {
			t.Errorf("AllowedGPUs(n=%d, %q) = %v, want %v", c.n, c.visible, got, c.want)
		}
	}
}
