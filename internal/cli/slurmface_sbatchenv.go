package cli

import (
	"os"
	"strconv"
	"strings"

	"github.com/burst-sh/burst/internal/sbatch"
)

// sbatchEnvVars are sbatch's input environment variables (sbatch(1),
// "INPUT ENVIRONMENT VARIABLES", Slurm 22.05) for the options burst
// honours or accepts, with the option each one sets. Those of options
// burst would refuse (SBATCH_NETWORK, SBATCH_CPU_FREQ_REQ, ...) are left
// alone: a site's profile that sets one must not stop every submission.
var sbatchEnvVars = [...][2]string{
	{"SBATCH_ACCOUNT", "account"},
	{"SBATCH_ACCTG_FREQ", "acctg-freq"},
	{"SBATCH_ARRAY_INX", "array"},
	{"SBATCH_CLUSTERS", "clusters"},
	{"SBATCH_CONSTRAINT", "constraint"},
	{"SBATCH_CONTAINER", "container"},
	{"SBATCH_DISTRIBUTION", "distribution"},
	{"SBATCH_ERROR", "error"},
	{"SBATCH_EXCLUSIVE", "exclusive"},
	{"SBATCH_EXPORT", "export"},
	{"SBATCH_GET_USER_ENV", "get-user-env"},
	{"SBATCH_GPUS", "gpus"},
	{"SBATCH_GPUS_PER_NODE", "gpus-per-node"},
	{"SBATCH_GRES", "gres"},
	{"SBATCH_HINT", "hint"},
	{"SBATCH_INPUT", "input"},
	{"SBATCH_JOB_NAME", "job-name"},
	{"SBATCH_MEM_PER_CPU", "mem-per-cpu"},
	{"SBATCH_MEM_PER_NODE", "mem"},
	{"SBATCH_NO_KILL", "no-kill"},
	{"SBATCH_NO_REQUEUE", "no-requeue"},
	{"SBATCH_OPEN_MODE", "open-mode"},
	{"SBATCH_OUTPUT", "output"},
	{"SBATCH_PARTITION", "partition"},
	{"SBATCH_QOS", "qos"},
	{"SBATCH_REQUEUE", "requeue"},
	{"SBATCH_RESERVATION", "reservation"},
	{"SBATCH_SIGNAL", "signal"},
	{"SBATCH_THREADS_PER_CORE", "threads-per-core"},
	{"SBATCH_TIMELIMIT", "time"},
	{"SBATCH_WAIT", "wait"},
	{"SBATCH_WCKEY", "wckey"},
}

// sbatchEnvArgs are the options sbatch's input environment variables set,
// written as command-line options to put before the real command line:
// as sbatch(1) says, they "override any options set in a batch script, and
// command line options will override any environment variables" (checked
// with Slurm 22.05: SBATCH_JOB_NAME over #SBATCH -J, -J over both). Open
// OnDemand submits with SBATCH_EXPORT=NONE; sites set SBATCH_ACCOUNT and
// SBATCH_PARTITION in users' profiles. A variable of an option that takes
// no value sets it when empty, "yes" or a number other than 0, as sbatch
// reads it. The second result names each option's variable, for messages.
func sbatchEnvArgs(getenv func(string) (string, bool)) ([]string, map[string]string) {
	var args []string
	from := map[string]string{}
	for _, ev := range sbatchEnvVars {
		v, ok := getenv(ev[0])
		if !ok {
			continue
		}
		o, _, _ := sbatch.LongOption(ev[1])
		switch o.Value {
		case 0: // no value
			if n, err := strconv.Atoi(v); v != "" && !strings.EqualFold(v, "yes") && (err != nil || n == 0) {
				continue
			}
			args = append(args, "--"+ev[1])
		case 2: // optional value
			if v == "" {
				args = append(args, "--"+ev[1])
			} else {
				args = append(args, "--"+ev[1]+"="+v)
			}
		default:
			args = append(args, "--"+ev[1]+"="+v)
		}
		from[ev[1]] = ev[0] + "=" + v
	}
	return args, from
}

// checkSbatchEnv reads the options sbatch's environment gives (args, of
// sbatchEnvArgs) alone and checks their values, so that a bad one is named
// by its variable, not as an option the user never typed.
func checkSbatchEnv(args []string, from map[string]string) error {
	a, err := parseSbatchArgs(args)
	if err != nil {
		return usage("sbatch: the SBATCH_* environment: %v; unset the variable or give the option on the command line", err)
	}
	for _, s := range a.sets {
		sc, err := sbatch.Parse("", []byte("#!/bin/sh\n"))
		if err == nil {
			err = sc.SetOption(s[0], s[1])
		}
		if err != nil {
			return usage("sbatch: %s (from the environment): %v; unset it or give --%s on the command line", from[s[0]], err, s[0])
		}
	}
	return nil
}

// lookupEnv is os.LookupEnv, the getenv of sbatchEnvArgs.
func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
