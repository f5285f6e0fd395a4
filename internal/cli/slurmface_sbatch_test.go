package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseSbatchArgs: sbatch's command line goes through the same getopt
// (slurmface.Getopt) as the other Slurm commands: grouped short flags,
// attached values, prefixes, aliases, options ending at the script.
func TestParseSbatchArgs(t *testing.T) {
	a, err := parseSbatchArgs([]string{"-Wc4", "--parsa", "--tasks=2", "-J", "fit", "--mem", "1G", "job.sh", "-c", "8"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"cpus-per-task", "4"}, {"ntasks", "2"}, {"job-name", "fit"}, {"mem", "1G"}}
	if !a.wait || !a.parsable || !slices.Equal(a.sets, want) || !slices.Equal(a.rest, []string{"job.sh", "-c", "8"}) {
		t.Errorf("got wait=%v parsable=%v sets=%v rest=%v", a.wait, a.parsable, a.sets, a.rest)
	}
	a, err = parseSbatchArgs([]string{"--test-only", "-Q", "--wrap", "true"})
	if err != nil || !a.testOnly || a.wrap != "true" {
		t.Errorf("--test-only: %+v, %v", a, err)
	}
	// Snakemake's --cluster "sbatch ... --cores 1": sbatch's --cores-per-socket,
	// which changes nothing on burst; so do the node layout options.
	a, err = parseSbatchArgs([]string{"--cores", "1", "--tmp=1g", "-x", "n3", "--sockets-per-node=2", "-B", "2:4", "--mincpus=2", "--time-min=10", "-n", "7"})
	if err != nil || !slices.Equal(a.sets, [][2]string{{"ntasks", "7"}}) {
		t.Errorf("node layout options: %+v, %v; want them taken and ignored", a, err)
	}
	// A driver's `sbatch --deadline=now+1hour` and NERSC's `-L SCRATCH`:
	// nothing on burst to honour them with, so taken and ignored.
	a, err = parseSbatchArgs([]string{"--deadline=now+1hour", "-L", "SCRATCH", "--licenses=matlab:2", "-t", "5"})
	if err != nil || !slices.Equal(a.sets, [][2]string{{"time", "5"}}) {
		t.Errorf("--deadline, -L: %+v, %v; want them taken and ignored", a, err)
	}
	// What Slurm 22.05's sbatch took (exit 0, side by side) and changes
	// nothing on burst: taken and ignored, where burst refused each.
	a, err = parseSbatchArgs([]string{"--cpu-freq=high", "--gpu-bind=closest", "--gres-flags=enforce-binding", "--thread-spec=1",
		"--core-spec=0", "--switches=1", "--network=x", "--profile=none", "--delay-boot=1", "--ignore-pbs", "--reboot",
		"--power=x", "--mcs-label=x", "--cluster-constraint=x", "--wait-all-nodes=1", "-t", "5"})
	if err != nil || !slices.Equal(a.sets, [][2]string{{"time", "5"}}) {
		t.Errorf("--cpu-freq, --gpu-bind, ...: %+v, %v; want them taken and ignored", a, err)
	}
	for args, msg := range map[string]string{
		"--parsable=x":  "doesn't allow an argument",
		"--cpus 4":      "ambiguous",
		"--frobnicate":  "unrecognized option '--frobnicate'",
		"-c":            "requires an argument",
		"-Y":            "invalid option -- 'Y'",
		"--nodefile=x":  "not supported by burst",
		"--mem-per-gpu": "requires an argument",
	} {
		_, err := parseSbatchArgs(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), "sbatch: ") {
			t.Errorf("sbatch %s: %v, want an error saying %q", args, err, msg)
		}
	}
}

// TestScancelBadIDAsScancel: an id that is no job id (squeue's header,
// JOBID, fed to xargs scancel) is refused in scancel's words, exit 1,
// with what a job id is.
func TestScancelBadIDAsScancel(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	for _, id := range []string{"JOBID", "12_x", "12abc", "12.0"} {
		var out, errb strings.Builder
		code := Main([]string{"scancel", id}, &out, &errb)
		want := "scancel: error: Invalid job id " + id + " (a job id is a number"
		if code != 1 || !strings.HasPrefix(errb.String(), want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("scancel %s: exit %d, %q; want exit 1 and one line starting %q", id, code, errb.String(), want)
		}
	}
}

// TestSbatchRefusesUnknownDirectives: a script whose #SBATCH lines hold an
// option sbatch does not know, an ambiguous one or a word that is no option
// is refused as Slurm 22.05's sbatch refuses it (checked with its sbatch:
// exit 255, getopt's words or "Invalid directive found in batch script"),
// nothing submitted; directives sbatch knows pass, those burst does not
// honour included.
func TestSbatchRefusesUnknownDirectives(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	dir := t.TempDir()
	script := func(directive string) string {
		path := filepath.Join(dir, "job.sh")
		if err := os.WriteFile(path, []byte("#!/bin/bash\n#SBATCH "+directive+"\n#SBATCH -t 1\necho hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for directive, msg := range map[string]string{
		"--nvps --mem=1G":   "sbatch: unrecognized option '--nvps'",
		"--constraints=gpu": "sbatch: unrecognized option '--constraints=gpu'", // with its value, as 22.05's sbatch names it
		"--ntask=2":         "sbatch: option '--ntask=2' is ambiguous; possibilities: '--ntasks' ",
		"-Z":                "sbatch: invalid option -- 'Z'",
		"foo":               "sbatch: error: Invalid directive found in batch script: foo",
		"--mem 1G extra":    "sbatch: error: Invalid directive found in batch script: extra",
		"-- --x":            "sbatch: error: Invalid directive found in batch script: --x",
	} {
		var out, errb strings.Builder
		code := Main([]string{"sbatch", "--test-only", script(directive)}, &out, &errb)
		if code != 255 || !strings.HasPrefix(errb.String(), msg) {
			t.Errorf("#SBATCH %s: exit %d, %q; want exit 255 and %q", directive, code, errb.String(), msg)
		}
	}
	for _, directive := range []string{"--mem=1G # a comment", "-J 'a b' --comment=\"x y\"", "--constraint=gpu --qos=long", "--ntasks 2 -c2"} {
		if _, err := scriptDirectives("job.sh", []byte("#!/bin/bash\n#SBATCH "+directive+"\necho hi\n")); err != nil {
			t.Errorf("#SBATCH %s: %v, want it taken", directive, err)
		}
	}
}

// TestShowHostnamesEmpty: scontrol show hostnames with no list, outside a
// job, says the list is empty and exits 0, as Slurm 22.05's scontrol does
// (checked); show hostlist with none is an error, exit 1, as there.
func TestShowHostnamesEmpty(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	t.Setenv("SLURM_NODELIST", "")
	t.Setenv("SLURM_JOB_NODELIST", "")
	var out, errb strings.Builder
	if code := Main([]string{"scontrol", "show", "hostnames"}, &out, &errb); code != 0 || out.String() != "" ||
		!strings.HasPrefix(errb.String(), "scontrol: error: host list is empty") {
		t.Errorf("scontrol show hostnames: exit %d, %q, %q; want exit 0 and the error", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := Main([]string{"scontrol", "show", "hostlist"}, &out, &errb); code != 1 {
		t.Errorf("scontrol show hostlist: exit %d, %q; want 1", code, errb.String())
	}
}

// TestSbatchRefusesScriptAsSbatch: a script sbatch will not take is
// refused in sbatch's words (checked with Slurm 22.05's: "sbatch: error:
// Unable to open file X", "Batch script is empty!", and its errors for DOS
// line breaks, a missing #! line, a NUL), exit 1, with burst's fix after.
func TestSbatchRefusesScriptAsSbatch(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, msg string }{
		"empty.sh": {"", "sbatch: error: Batch script is empty!\n"},
		"crlf.sh":  {"#!/bin/bash\r\necho hi\r\n", "sbatch: error: " + filepath.Join(dir, "crlf.sh") + ":1: the script has DOS line breaks"},
		"plain.sh": {"echo hi\n", "sbatch: error: " + filepath.Join(dir, "plain.sh") + ":1: not a batch script"},
		"nul.sh":   {"#!/bin/bash\necho \x00\n", "sbatch: error: " + filepath.Join(dir, "nul.sh") + ":2: the script contains a NUL byte"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb strings.Builder
		if code := Main([]string{"sbatch", path}, &out, &errb); code != 1 || !strings.HasPrefix(errb.String(), c.msg) {
			t.Errorf("sbatch %s: exit %d, %q; want exit 1 and %q", name, code, errb.String(), c.msg)
		}
	}
	var out, errb strings.Builder
	missing := filepath.Join(dir, "missing.sh")
	if code := Main([]string{"sbatch", missing}, &out, &errb); code != 1 || !strings.HasPrefix(errb.String(), "sbatch: error: Unable to open file "+missing) {
		t.Errorf("sbatch of no file: exit %d, %q", code, errb.String())
	}
}

// TestSbatchRefusesArrayAsSlurm: an --array sbatch cannot read, in an
// #SBATCH line or on the command line, is refused in the words Slurm
// 22.05 printed for each of these (a public script's
// --array=SRR8652107,SRR8652105 among them): "sbatch: error: Batch job
// submission failed: Invalid job array specification", exit 1, burst's
// reason after it. burst wrote its reason alone.
func TestSbatchRefusesArrayAsSlurm(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	dir := t.TempDir()
	const want = "sbatch: error: Batch job submission failed: Invalid job array specification ("
	for _, a := range []string{"SRR8652107,SRR8652105", "1-", "5-1", "1-3:0", "-1", "a"} {
		path := filepath.Join(dir, "a.sh")
		if err := os.WriteFile(path, []byte("#!/bin/bash\n#SBATCH --array="+a+"\necho hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"sbatch", path}, {"sbatch", "--array=" + a, "--wrap", "true"}} {
			var out, errb strings.Builder
			if code := Main(args, &out, &errb); code != 1 || !strings.HasPrefix(errb.String(), want) || out.String() != "" {
				t.Errorf("%q: exit %d, %q; want exit 1 and %q", args, code, errb.String(), want)
			}
		}
	}
}

// TestSbatchDeadlineChecked: --deadline is read as Slurm 22.05's sbatch
// reads it, on the command line and in an #SBATCH line: one it cannot read
// is "sbatch: error: Invalid --deadline specification", exit 255, and one
// that has passed is refused as its controller refuses it, "sbatch: error:
// Batch job submission failed: Requested time limit is invalid (missing or
// exceeds some limit)", exit 1 (the command line's wins over the
// script's: a past one in the script is no matter then). burst took both
// and ran the job.
func TestSbatchDeadlineChecked(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	dir := t.TempDir()
	n := 0
	script := func(directive string) string {
		n++
		path := filepath.Join(dir, fmt.Sprintf("job%d.sh", n))
		if err := os.WriteFile(path, []byte("#!/bin/bash\n#SBATCH "+directive+"\necho hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const bad, past = "sbatch: error: Invalid --deadline specification", "sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)"
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--deadline=xyz", "--wrap", "true"}, 255, bad},
		{[]string{"--dead", "T", "--wrap", "true"}, 255, bad},
		{[]string{script("--deadline=xyz")}, 255, bad},
		{[]string{"--deadline=now-1hour", "--wrap", "true"}, 1, past},
		{[]string{script("--deadline=2020-01-01T00:00")}, 1, past},
		{[]string{"--deadline=now-1hour", script("--deadline=now+1hour")}, 1, past},
	} {
		var out, errb strings.Builder
		code := Main(append([]string{"sbatch", "--test-only"}, c.args...), &out, &errb)
		if code != c.code || !strings.HasPrefix(errb.String(), c.msg) {
			t.Errorf("sbatch %q: exit %d, %q; want exit %d and %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
	for _, d := range []string{"now+1hour", "now", "2099-01-01T00:00"} {
		cmd, err := sbatchDeadline(d)
		if err != nil {
			t.Fatalf("--deadline=%s: %v", d, err)
		}
		if err := pastDeadline(cmd, time.Time{}, time.Now()); err != nil {
			t.Errorf("--deadline=%s: %v, want it taken", d, err)
		}
	}
	if err := pastDeadline(time.Now().Add(time.Hour), time.Now().Add(-time.Hour), time.Now()); err != nil {
		t.Errorf("a command line's deadline to come over the script's past one: %v, want it taken", err)
	}
}

// TestSbatchBeginRefusedAsSbatch: a --begin sbatch cannot read, on the
// command line or in an #SBATCH line, is refused as Slurm 22.05's sbatch
// refuses it: "sbatch: error: Invalid --begin specification" (after
// parse_time's "Invalid time specification (pos=0): xyz"), exit 255, as
// its bad --time and --distribution; burst said its own words and exited 1.
func TestSbatchBeginRefusedAsSbatch(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	path := filepath.Join(t.TempDir(), "job.sh")
	if err := os.WriteFile(path, []byte("#!/bin/bash\n#SBATCH --begin=xyz\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--begin=xyz", "--wrap", "true"}, {"-b", "T", "--wrap", "true"}, {path}} {
		var out, errb strings.Builder
		code := Main(append([]string{"sbatch", "--test-only"}, args...), &out, &errb)
		if code != 255 || !strings.HasPrefix(errb.String(), "sbatch: error: ") || !strings.Contains(errb.String(), "Invalid --begin specification") {
			t.Errorf("sbatch %q: exit %d, %q; want exit 255 and sbatch: error: ... Invalid --begin specification", args, code, errb.String())
		}
	}
}
