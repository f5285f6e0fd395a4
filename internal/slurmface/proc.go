package slurmface

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// Umask is this process's umask in four octal digits (SLURM_UMASK, as
// srun passes it to its tasks: 0022), read from /proc/self/status so that
// no thread sees it changed, and once (srun's does not change while it
// runs its step); "" where the kernel does not say it.
func Umask() string {
	umaskOnce.Do(func() { umask = readUmask() })
	return umask
}

// umaskOnce and umask back Umask; a package-level sync.Once allocates
// nothing at start, where sync.OnceValue's closure does.
var (
	umaskOnce sync.Once
	umask     string
)

func readUmask() string {
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
