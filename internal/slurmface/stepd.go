package slurmface

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Strerror is err as strerror(3) says its errno ("No such file or
// directory"), the way Slurm's messages quote it; err's own text when it
// carries no errno.
func Strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno == 0 {
		return err.Error()
	}
	s := errno.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

// StepdExecve is slurmstepd's line for a task whose program what cannot be
// started (Slurm 22.05): `slurmstepd-c1: error: execve(): nosuchprog: No
// such file or directory`.
func StepdExecve(node, what string, errno syscall.Errno) string {
	return fmt.Sprintf("slurmstepd-%s: error: execve(): %s: %s", node, what, Strerror(errno))
}

// StepdChdir is slurmstepd's line for a step's directory dir (absolute)
// that cannot be entered, after which the step runs in /tmp (Slurm 22.05:
// `slurmstepd-c1: error: couldn't chdir to `/w/sub': No such file or
// directory: going to /tmp instead`); "" when dir can be entered.
func StepdChdir(node, dir string) string {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		err = syscall.ENOTDIR
	case err == nil:
		err = syscall.Access(dir, 1) // X_OK: chdir needs search permission
	}
	if err == nil {
		return ""
	}
	return fmt.Sprintf("slurmstepd-%s: error: couldn't chdir to `%s': %s: going to /tmp instead", node, dir, Strerror(err))
}
