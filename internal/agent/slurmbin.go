package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/atomicfile"
	"github.com/burst-sh/burst/internal/slurmface"
)

// A batch job's script (sbatch) finds srun, sbatch, squeue, scontrol, ...
// on its PATH as in a Slurm job, whatever the submitter's PATH held: the
// agent puts a directory of links to its own binary (slurmface.Link) first
// on it. srun there runs job steps within the task (as burst slurm srun);
// the others reach the server that runs the job when the task is on its
// host (withSlurmBin sets BURST_HOME). A script run
// inside a stack sees the stack's own PATH: nothing is added there.
//
// A login shell (#!/bin/bash -l, common in batch scripts) reads the
// system's profile first, and Debian's sets PATH afresh: the links would
// be gone, and srun with them (or a real Slurm's found instead). bash then
// reads $BASH_ENV, so the directory holds a file for it (bashEnvName)
// that puts the links first again, then reads the BASH_ENV the job had.

// bashEnvName is the file, in the links' directory, that BASH_ENV names.
const bashEnvName = ".bash_env"

// bashEnv is its text: the directory it lies in goes first on PATH (once),
// then the job's own BASH_ENV (kept in BURST_BASH_ENV) is read, expanded
// as bash expands BASH_ENV ($HOME/.bashrc). It keeps
// quiet under bash -x (a script's #!/bin/bash -x traces from its own first
// line, as under Slurm); under -v its first line shows.
const bashEnv = `{ __burst_xv=${-//[^xv]/}; set +xv; } 2>/dev/null
# Read by bash at the start of a burst batch script and of the bash scripts
# it runs (BASH_ENV): Slurm's commands (this directory) first on PATH, as in
# a Slurm job, even after a login shell's profile set PATH afresh.
case ":$PATH:" in
":${BASH_SOURCE%/*}:"*) ;;
*) PATH=":$PATH:" PATH=${PATH//":${BASH_SOURCE%/*}:"/:} PATH=${PATH#:} PATH="${BASH_SOURCE%/*}:${PATH%:}" ;;
esac
# bash expands the job's own BASH_ENV ($HOME/.bashrc) before reading it.
case ${BURST_BASH_ENV-} in
*\$*) eval "__burst_env=\"$BURST_BASH_ENV\"" ;;
*) __burst_env=${BURST_BASH_ENV-} ;;
esac
if [ -n "$__burst_env" ] && [ "$__burst_env" != "$BASH_SOURCE" ]; then
	{ [ -z "$__burst_xv" ] || set "-$__burst_xv"; unset __burst_xv; } 2>/dev/null
	. "$__burst_env"
fi
{ [ -z "${__burst_xv-}" ] || set "-$__burst_xv"; unset __burst_xv __burst_env; } 2>/dev/null
`

// slurmBin is that directory, made at the first batch task ("" when the
// agent has no directory of its own, or the links cannot be made: said
// once in its log, and scripts find what their PATH holds), and the file
// for BASH_ENV in it ("" when it could not be written, or its path would
// not reach bash as written: bash expands BASH_ENV).
func (a *Agent) slurmBin() (dir, env string) {
	a.slurmBinOnce.Do(func() {
		if a.cfg.WorkDir == "" {
			return
		}
		exe, err := os.Executable()
		if err == nil {
			dir := filepath.Join(a.cfg.WorkDir, "slurm-bin")
			if err = slurmface.Link(dir, exe); err == nil {
				a.slurmBinDir = dir
				a.slurmBashEnv = filepath.Join(dir, bashEnvName)
				if strings.ContainsAny(a.slurmBashEnv, "$`\\") {
					a.slurmBashEnv = ""
				} else if err := atomicfile.Write(a.slurmBashEnv, []byte(bashEnv)); err != nil {
					a.cfg.Log.Warn("batch scripts run by a login shell will find srun and Slurm's other commands only on their own PATH", "err", err)
					a.slurmBashEnv = ""
				}
				return
			}
		}
		a.cfg.Log.Warn("batch scripts will find srun and Slurm's other commands only on their own PATH", "err", err)
	})
	return a.slurmBinDir, a.slurmBashEnv
}

// withSlurmBin is env (a batch task's) with dir first on its PATH,
// BASH_ENV naming bashEnv (when not "": the job's own BASH_ENV, if any,
// moves to BURST_BASH_ENV, which bashEnv reads), and BURST_HOME set to home
// (the agent's own: on the server's host, the server's, so that sbatch,
// squeue, ... in the script find that server, as a Slurm job's find its
// cluster; elsewhere a home where no server answers, and the CLI says so
// rather than starting one).
func withSlurmBin(env []string, dir, bashEnv, home string) []string {
	if _, batch := envValue(env, "SLURM_JOB_ID"); dir == "" || !batch {
		return env
	}
	path, ok := envValue(env, "PATH")
	if !ok {
		path = runner.DefaultPath
	}
	extra := []string{"PATH=" + dir + ":" + path}
	if bashEnv != "" {
		// One inherited from a batch job that submitted this one is a
		// burst file too: the job's own stays in BURST_BASH_ENV.
		if own, ok := envValue(env, "BASH_ENV"); ok && own != bashEnv && !strings.HasSuffix(own, "/slurm-bin/"+bashEnvName) {
			extra = append(extra, "BURST_BASH_ENV="+own)
		}
		extra = append(extra, "BASH_ENV="+bashEnv)
	}
	if _, ok := envValue(env, "BURST_HOME"); home != "" && !ok {
		extra = append(extra, "BURST_HOME="+home)
	}
	return mergeEnv(env, extra)
}

// withTmpdir is env (a batch task's) with TMPDIR as slurmstepd leaves it:
// /tmp when unset; when set, the directory is made (mode 0700, not its
// parents) if missing, and one that cannot be made, or is no directory,
// is replaced by /tmp, with slurmstepd's two lines (node is the machine's
// name) for the job's error file. Scripts run `cd $TMPDIR` and
// `cp input $TMPDIR`: unset, the first goes home and the second copies
// over its own input.
func withTmpdir(env []string, node string) (out []string, preface string) {
	dir, ok := envValue(env, "TMPDIR")
	if ok {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return env, ""
		}
		st, serr := os.Stat(dir)
		switch {
		case serr == nil && st.IsDir():
			return env, ""
		case serr == nil:
			preface = fmt.Sprintf("slurmstepd-%s: error: TMPDIR [%s] is not a directory\n", node, dir)
		default:
			preface = fmt.Sprintf("slurmstepd-%s: error: Unable to create TMPDIR [%s]: %s\n", node, dir, slurmface.Strerror(err))
		}
		preface += fmt.Sprintf("slurmstepd-%s: error: Setting TMPDIR to /tmp\n", node)
	}
	return mergeEnv(env, []string{"TMPDIR=/tmp"}), preface
}

// chdirOrTmp is where slurmstepd runs a batch script whose working
// directory dir it cannot enter on this machine (missing, no directory,
// not searchable): in /tmp, saying so twice in the job's error file,
// "slurmstepd-NODE: error: couldn't chdir to `DIR': No such file or
// directory: going to /tmp instead", and the job runs (checked beside
// Slurm 22.05: -D /nonexist ends COMPLETED, pwd says /tmp). It returns dir
// and "" when dir can be entered, or is "" (the agent's own).
func chdirOrTmp(dir, node string) (string, string) {
	if dir == "" {
		return dir, ""
	}
	line := slurmface.StepdChdir(node, dir)
	if line == "" {
		return dir, ""
	}
	return "/tmp", line + "\n" + line + "\n"
}

// envValue is the value of key in env (its last setting, as exec takes it).
func envValue(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// jobOwner is a Slurm job's SLURM_JOB_UID and SLURM_JOB_GID: the user and
// group it runs as, this agent's (a Slurm job's are its owner's, whom it
// runs as). Read once.
var jobOwner = sync.OnceValue(func() []string {
	return []string{"SLURM_JOB_UID=" + strconv.Itoa(os.Getuid()), "SLURM_JOB_GID=" + strconv.Itoa(os.Getgid())}
})
