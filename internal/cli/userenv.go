package cli

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/sysuser"
)

// loginEnv is the environment a batch script starts from under
// --export=NONE or --get-user-env: sbatch(1) then loads "the user's
// environment on the node where the script is being executed", by running
// the user's login shell (`su - USER -c env`, with an 8 s timeout by
// default). burst does the same on this host, and falls back on a fresh
// login's basics (HOME, USER, LOGNAME, SHELL, a standard PATH) when the
// shell fails. The NAME=value items of export are set over it.
func loginEnv(ctx context.Context, export string) map[string]string {
	env := map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin"}
	shell := "/bin/sh"
	if u, err := sysuser.Current(ctx); err == nil {
		env["HOME"], env["USER"], env["LOGNAME"] = u.Home, u.Name, u.Name
		if u.Shell != "" {
			shell = u.Shell
		}
	}
	env["SHELL"] = shell
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, "-l", "-c", "env -0")
	cmd.Dir = env["HOME"]
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.Output(); err == nil {
		for kv := range bytes.SplitSeq(out, []byte{0}) {
			if k, v, ok := strings.Cut(string(kv), "="); ok && shellquote.IsName(k) && k != "_" && k != "SHLVL" && k != "PWD" && k != "OLDPWD" {
				env[k] = v
			}
		}
	}
	for item := range strings.SplitSeq(export, ",") {
		if k, v, ok := strings.Cut(item, "="); ok {
			env[k] = v
		}
	}
	return env
}
