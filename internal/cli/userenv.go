package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/shellquote"
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
	if u, err := user.Current(); err == nil {
		env["HOME"], env["USER"], env["LOGNAME"] = u.HomeDir, u.Username, u.Username
		if sh := passwdShell(u.Username); sh != "" {
			shell = sh
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

// passwdShell is user's login shell from /etc/passwd, or "".
func passwdShell(name string) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 7 && fields[0] == name {
			return fields[6]
		}
	}
	return ""
}
