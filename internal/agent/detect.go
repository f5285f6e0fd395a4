package agent

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Resources is what a machine offers.
type Resources struct {
	CPUs     int
	MemBytes int64
	GPUs     []burst.GPU
}

// Detect reads this host's cores (as this process may use them), memory
// (the smaller of physical memory and this process's cgroup limit) and
// NVIDIA GPUs (from nvidia-smi, when it is installed).
func Detect(ctx context.Context) Resources {
	r := Resources{CPUs: runtime.NumCPU(), MemBytes: memTotal()}
	if lim := cgroupMemLimit(); lim > 0 && lim < r.MemBytes {
		r.MemBytes = lim
	}
	r.GPUs = detectGPUs(ctx)
	return r
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cgroupMemLimit returns this process's cgroup memory limit, or 0.
func cgroupMemLimit() int64 {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			file = "/sys/fs/cgroup" + parts[2] + "/memory.max"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			file = "/sys/fs/cgroup/memory" + parts[2] + "/memory.limit_in_bytes"
		default:
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && v > 0 && v < 1<<60 {
			return v
		}
	}
	return 0
}

func detectGPUs(ctx context.Context) []burst.GPU {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--query-gpu=index,name,uuid,memory.total",
		"--format=csv,noheader,nounits").Output()
	if err == nil {
		if g := ParseQueryGPU(out); len(g) > 0 {
			return g
		}
	}
	out, err = exec.CommandContext(ctx, path, "-L").Output()
	if err != nil {
		return nil
	}
	return ParseListGPUs(out)
}

// ParseQueryGPU parses `nvidia-smi --query-gpu=index,name,uuid,memory.total
// --format=csv,noheader,nounits` (memory in MiB).
func ParseQueryGPU(out []byte) []burst.GPU {
	var gpus []burst.GPU
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		f := strings.Split(string(line), ",")
		if len(f) < 4 {
			continue
		}
		idx, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil {
			continue
		}
		mib, _ := strconv.ParseInt(strings.TrimSpace(f[3]), 10, 64)
		gpus = append(gpus, burst.GPU{Index: idx, Name: strings.TrimSpace(f[1]), UUID: strings.TrimSpace(f[2]), MemBytes: mib << 20})
	}
	return gpus
}

// ParseListGPUs parses `nvidia-smi -L`: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)".
func ParseListGPUs(out []byte) []burst.GPU {
	var gpus []burst.GPU
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "GPU ")
		if !ok {
			continue
		}
		num, desc, ok := strings.Cut(rest, ": ")
		if !ok {
			continue
		}
		idx, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		g := burst.GPU{Index: idx, Name: desc}
		if i := strings.LastIndex(desc, " (UUID: "); i >= 0 {
			g.Name = desc[:i]
			g.UUID = strings.TrimSuffix(desc[i+len(" (UUID: "):], ")")
		}
		gpus = append(gpus, g)
	}
	return gpus
}

// AllowedGPUs is the part of a host's GPUs a slice of it may use: at most n,
// those that visible (CUDA_VISIBLE_DEVICES, as Slurm sets it for an
// allocation's GPUs: indices or UUIDs) names when it is set, else the first
// ones.
func AllowedGPUs(all []burst.GPU, n int, visible string) []burst.GPU {
	if n <= 0 {
		return nil
	}
	var out []burst.GPU
	if v := strings.TrimSpace(visible); v != "" && v != "NoDevFiles" {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			for _, g := range all {
				if strconv.Itoa(g.Index) == f || (g.UUID != "" && g.UUID == f) {
					out = append(out, g)
				}
			}
		}
	} else {
		out = all
	}
	return out[:min(n, len(out))]
}
