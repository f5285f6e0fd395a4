package slurmface

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Nice is this process's nice value, as sbatch and srun record it for the
// job (SLURM_PRIO_PROCESS); 0 when it cannot be read.
func Nice() int {
	// The system call answers 20 - nice (1 to 40), not the nice itself.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return 0
	}
	return 20 - p
}

// Umask is this process's umask in four octal digits (SLURM_UMASK, as
// srun passes it to its tasks: 0022), read from /proc/self/status so that
// no thread sees it changed; "" where the kernel does not say it.
func Umask() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	_, rest, ok := bytes.Cut(b, []byte("\nUmask:"))
	if !ok {
		return ""
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	m, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 8, 32)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%04o", m)
}
