package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// beginOf is the begin time `burst show -o json` gives job id (its spec's
// "begin"), failing the test if it has none.
func (h *harness) beginOf(id int64) time.Time {
	h.t.Helper()
	r := h.mustRun("show", "-o", "json", idArg(id))
	var j struct {
		Spec struct {
			Begin time.Time `json:"begin"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.Spec.Begin.IsZero() {
		h.t.Fatalf("show %d -o json has no spec.begin (%v):\n%s", id, err, r.stdout)
	}
	return j.Spec.Begin
}

// TestSbatchBegin defers jobs with sbatch --begin and burst run --begin on
// the real binary and server: squeue shows the deferred job PD with Reason
// BeginTime and its begin time as %S at once, burst show and burst jobs say
// what it waits for, and it starts no earlier than its begin time; one
// whose begin time is past runs at once, and so does one whose begin time
// passed while the server was down (killed with kill -9); bad and far
// times are refused with one line.
func TestSbatchBegin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("slurm", "sbatch", "--parsable", "--begin=now+3", "--wrap", "true")
	id := strings.TrimSpace(r.stdout)
	q := h.mustRun("slurm", "squeue", "-h", "-j", id, "-o", "%t|%r|%S")
	fields := strings.Split(strings.TrimSpace(q.stdout), "|")
	if len(fields) != 3 || fields[0] != "PD" || fields[1] != "BeginTime" || fields[2] == "N/A" {
		t.Fatalf("squeue of a job deferred 3 s: %q, want PD|BeginTime|<its begin time>", q.stdout)
	}
	if s := h.mustRun("slurm", "scontrol", "show", "job", id); !strings.Contains(s.stdout, "EligibleTime="+fields[2]) {
		t.Errorf("scontrol show job: EligibleTime is not the begin time %s:\n%s", fields[2], s.stdout)
	}
	var jid int64
	for _, c := range id {
		jid = jid*10 + int64(c-'0')
	}
	begin := h.beginOf(jid)
	// What burst's own views say of a deferred job, on one deferred an
	// hour (so that every check runs before it could start), cancelled
	// after.
	later := h.submit("--begin", "now+1hour", "--", "true")
	laterBegin := h.beginOf(later)
	show := h.mustRun("show", idArg(later))
	if !strings.Contains(show.stdout, "Waits:        waiting until "+laterBegin.Local().Format("2006-01-02 15:04:05")) { // in local time, as Begin
		t.Errorf("burst show of a deferred job does not say it waits until its begin time:\n%s", show.stdout)
	}
	if want := "Begin:"; !strings.Contains(show.stdout, want) || !strings.Contains(show.stdout, laterBegin.Local().Format("2006-01-02 15:04:05")) {
		t.Errorf("burst show of a deferred job has no %s line with its begin time:\n%s", want, show.stdout)
	}
	if jobs := h.mustRun("jobs", "-o", "wide"); !strings.Contains(jobs.stdout, "waiting until") {
		t.Errorf("burst jobs -o wide does not say the deferred job waits until its begin time:\n%s", jobs.stdout)
	}
	h.mustRun("cancel", idArg(later))
	h.waitFor("the deferred job to end", 30*time.Second, func() bool { return terminal(h.show(jid).State) })
	j := h.show(jid)
	if j.State != "succeeded" {
		t.Fatalf("deferred job %d: %s (%s)", jid, j.State, j.Reason)
	}
	if started := at(t, j.StartedAt); started.Before(begin) {
		t.Fatalf("deferred job %d started %v, before its begin time %v", jid, started, begin)
	}
	// Once ended it is listed without its spec: sacct still shows its
	// begin time as Eligible (not its submission), its working directory.
	acct := h.mustRun("slurm", "sacct", "-X", "-n", "-P", "-o", "JobIDRaw,Eligible,Submit,WorkDir", "-S", "now-1hour")
	var row string
	for _, l := range strings.Split(acct.stdout, "\n") {
		if strings.HasPrefix(l, id+"|") {
			row = l
		}
	}
	if f := strings.Split(row, "|"); len(f) != 4 || f[1] != fields[2] || f[1] == f[2] || f[3] == "" {
		t.Errorf("sacct of the ended deferred job: %q; want Eligible = its begin time %s (not its submission) and its WorkDir\n%s", row, fields[2], acct.stdout)
	}

	// burst run --begin, with --after: both must hold; burst jobs says so.
	a := h.submit("--", "true")
	b := h.submit("--begin", "now+2", "--after", "ok:"+idArg(a), "--", "true")
	bBegin := h.beginOf(b)
	h.mustRun("wait", idArg(b))
	jb, ja := h.show(b), h.show(a)
	if jb.State != "succeeded" || at(t, jb.StartedAt).Before(bBegin) || at(t, jb.StartedAt).Before(at(t, ja.EndedAt)) {
		t.Fatalf("job %d (--begin %v --after ok:%d): %s, started %v; job %d ended %v", b, bBegin, a, jb.State, jb.StartedAt, a, ja.EndedAt)
	}

	// A begin time already past: not deferred.
	r = h.mustRun("slurm", "sbatch", "--parsable", "--begin=now-1hour", "--wrap", "true")
	past := strings.TrimSpace(r.stdout)
	if q := h.mustRun("slurm", "squeue", "-h", "-t", "all", "-j", past, "-o", "%r"); strings.Contains(q.stdout, "BeginTime") {
		t.Errorf("a job whose begin time is past pends for it: %q", q.stdout)
	}
	h.mustRun("wait", past)

	// Held across a server killed with kill -9, its begin time passing
	// while no server runs: the next server releases it at once.
	d := h.submit("--begin", "now+2", "--", "true")
	dBegin := h.beginOf(d)
	h.kill9(h.serverPID(), "server")
	h.waitFor("the begin time to pass with no server", 10*time.Second, func() bool { return time.Now().After(dBegin) })
	h.mustRun("wait", idArg(d))
	if jd := h.show(d); jd.State != "succeeded" || at(t, jd.StartedAt).Before(dBegin) {
		t.Fatalf("job %d deferred across a restart: %s, started %v, begin %v", d, jd.State, jd.StartedAt, dBegin)
	}

	// sbatch --test-only -v: the begin time among the defined options, and
	// the estimate no earlier than it.
	script := filepath.Join(t.TempDir(), "later.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n#SBATCH --begin=now+2days\ntrue\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = h.mustRun("slurm", "sbatch", "--test-only", "-v", script)
	m := regexp.MustCompile(`begin +: (\S+)\n(?s:.*)Job 0 to start at (\S+) `).FindStringSubmatch(r.stderr)
	if m == nil || m[1] != m[2] {
		t.Errorf("sbatch --test-only -v of a script deferred 2 days: want its begin time defined and as the start:\n%s", r.stderr)
	}

	// Bad input: one line naming the fix, exit 2 (sbatch: 255, as sbatch).
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--begin", "whenever", "--", "true"}, "give e.g. now+1hour"},
		{[]string{"run", "--begin", time.Now().AddDate(2, 0, 0).Format("2006-01-02"), "--", "true"}, "more than a year (366 days) from now"},
		{[]string{"slurm", "sbatch", "--begin=T", "--wrap", "true"}, "give e.g. now+1hour"},
	} {
		r := h.run(c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("burst %v: exit %d, stderr %q; want one line saying %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
