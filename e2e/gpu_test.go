package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// GPUs are placed one per task and named by CUDA_VISIBLE_DEVICES.
//
// Real GPUs cannot be tested here: CI has none. testdata/fake-nvidia-smi is a
// stand-in for the real nvidia-smi, put first on the PATH the server and the
// agent start with, so that burst detects two (made-up) H100s. What is tested
// is burst's side: detection from nvidia-smi's output, admission, placement
// of distinct GPUs and the environment the task gets.
func TestGPUsWithStandInNvidiaSmi(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("two 1-CPU jobs must run at once; this machine has 1 CPU")
	}
	h := newHarness(t)
	src, err := os.ReadFile(filepath.Join("testdata", "fake-nvidia-smi"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(h.root, "fake-gpu-bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bin, "nvidia-smi"), string(src), 0o755)
	h.setEnv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	r := h.run("run", "--gpus", "1", "--", "sh", "-c", "echo $CUDA_VISIBLE_DEVICES")
	if r.code != 0 {
		t.Fatalf("run --gpus 1 with two (stand-in) GPUs: want exit 0:\n%s", r)
	}
	if r.stdout != "0\n" && r.stdout != "1\n" {
		t.Errorf("CUDA_VISIBLE_DEVICES = %q, want 0 or 1", strings.TrimSpace(r.stdout))
	}
	if j := h.show(jobIDFrom(t, r)); j.GPUs != 1 || len(j.task0(t).GPUIDs) != 1 {
		t.Errorf("show: gpus %d, task gpu_ids %v; want 1 GPU given", j.GPUs, j.task0(t).GPUIDs)
	}

	// Two jobs at once get different GPUs.
	m1, m2 := newMarker(), newMarker()
	a := h.submit("--gpus", "1", "--", "sh", "-c", `echo "$CUDA_VISIBLE_DEVICES"; sleep $0`, m1)
	b := h.submit("--gpus", "1", "--", "sh", "-c", `echo "$CUDA_VISIBLE_DEVICES"; sleep $0`, m2)
	ja, jb := h.waitRunning(a), h.waitRunning(b)
	ga, gb := ja.task0(t).GPUIDs, jb.task0(t).GPUIDs
	if len(ga) != 1 || len(gb) != 1 || ga[0] == gb[0] || ga[0] < 0 || ga[0] > 1 || gb[0] < 0 || gb[0] > 1 {
		t.Errorf("two concurrent --gpus 1 jobs got gpu_ids %v and %v; want one each, different, from {0, 1}", ga, gb)
	}
	for _, j := range []struct {
		id   int64
		gpus []int
	}{{a, ga}, {b, gb}} {
		if len(j.gpus) != 1 {
			continue
		}
		want := idArg(int64(j.gpus[0])) + "\n"
		h.waitFor("the job's first line", 30*time.Second, func() bool { return h.mustRun("logs", idArg(j.id)).stdout != "" })
		if out := h.mustRun("logs", idArg(j.id)).stdout; out != want {
			t.Errorf("job %d: CUDA_VISIBLE_DEVICES=%q, want %q (its gpu_ids)", j.id, out, want)
		}
	}
	h.mustRun("cancel", idArg(a), idArg(b))

	r = h.run("run", "--gpus", "3", "--", "true")
	if r.code != 2 {
		t.Errorf("--gpus 3 on a machine with 2: want exit 2:\n%s", r)
	}
	if msg := oneLine(t, r); !strings.Contains(msg, "2 GPUs") {
		t.Errorf("message should say what exists (2 GPUs): %q", msg)
	}

	// A pipe's GPU stage gets one GPU of its own; its other stages none.
	r = h.run("pipe", `sh -c 'echo in:[$CUDA_VISIBLE_DEVICES]' | --gpus 1 --name gpu sh -c 'cat; echo gpu:[$CUDA_VISIBLE_DEVICES]'`)
	if r.code != 0 || !strings.Contains(r.stdout, "in:[]") || !(strings.Contains(r.stdout, "gpu:[0]") || strings.Contains(r.stdout, "gpu:[1]")) {
		t.Errorf("a pipe's --gpus 1 stage should see one GPU and the others none:\n%s", r)
	}
}
