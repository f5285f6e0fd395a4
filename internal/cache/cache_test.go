package cache

import (
	"errors"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

const (
	dA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func base() Job {
	return Job{Project: "mars", Name: "fit", Kind: burst.KindMap, Command: []string{"./fit", "{}"},
		Env: map[string]string{"FOO": "1", "PWD": "/a", "BURST_JOB_ID": "3"}, Staged: true,
		Resources: burst.Resources{CPUs: 1}, Inputs: []burst.Input{{Path: "data.csv", Digest: dA}}}
}

func mustKey(t *testing.T, j Job, argv ...string) (string, Parts) {
	t.Helper()
	jp, err := JobParts(j)
	if err != nil {
		t.Fatal(err)
	}
	own, err := TaskParts(argv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Key(jp.Digest(), own), append(append(Parts{}, jp...), own...)
}

func TestKeyAndWhy(t *testing.T) {
	k0, p0 := mustKey(t, base(), "./fit", "a")
	if !strings.HasPrefix(k0, "v1:") || len(k0) != 3+64 {
		t.Fatalf("key %q: want v1:<64 hex>", k0)
	}
	cases := []struct {
		name string
		edit func(*Job)
		argv []string
		same bool
		why  string
	}{
		{"excluded variables change nothing", func(j *Job) { j.Env = map[string]string{"FOO": "1", "PWD": "/b", "BURST_JOB_ID": "9", "SSH_TTY": "x"} }, nil, true, ""},
		{"workdir of a staged job changes nothing", func(j *Job) { j.Workdir = "/elsewhere" }, nil, true, ""},
		{"input", func(j *Job) { j.Inputs[0].Digest = dB }, nil, false, "input data.csv changed (sha256:aaaaaaaaaaaa… -> sha256:bbbbbbbbbbbb…)"},
		{"env changed", func(j *Job) { j.Env["FOO"] = "2" }, nil, false, "env FOO changed"},
		{"env set", func(j *Job) { j.Env["BAR"] = "2" }, nil, false, "env BAR set"},
		{"env unset", func(j *Job) { delete(j.Env, "FOO") }, nil, false, "env FOO unset"},
		{"resources", func(j *Job) { j.Resources.CPUs = 2 }, nil, false, "resources changed (cpus=1 mem=0 gpus=0 time=0s -> cpus=2 mem=0 gpus=0 time=0s)"},
		{"command", func(j *Job) { j.Command = []string{"./fit2", "{}"} }, nil, false, "command changed"},
		{"arguments", func(j *Job) {}, []string{"./fit", "b"}, false, "arguments changed"},
		{"stack", func(j *Job) { j.Stack = "sha256:cc" }, nil, false, "stack added"},
		{"project", func(j *Job) { j.Project = "venus" }, nil, false, "project changed (mars -> venus)"},
		{"unstaged keys its workdir", func(j *Job) { j.Staged = false; j.Workdir = "/w" }, nil, false, "workdir added"},
		{"executable input", func(j *Job) { j.Inputs[0].Mode = 0o755 }, nil, false, "input data.csv changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := base()
			j.Env = map[string]string{"FOO": "1", "PWD": "/a", "BURST_JOB_ID": "3"}
			j.Inputs = append([]burst.Input(nil), j.Inputs...)
			c.edit(&j)
			argv := c.argv
			if argv == nil {
				argv = []string{"./fit", "a"}
			}
			k, p := mustKey(t, j, argv...)
			if (k == k0) != c.same {
				t.Fatalf("same key = %v, want %v", k == k0, c.same)
			}
			if c.same {
				return
			}
			if why := Why(p0, p); !strings.HasPrefix(why, c.why) {
				t.Fatalf("why = %q, want it to begin %q", why, c.why)
			}
		})
	}
	if got := Why(nil, p0); got != "no earlier run of this command" {
		t.Fatalf("no earlier: %q", got)
	}
}

func TestUnpinnedS3IsUncacheable(t *testing.T) {
	j := base()
	j.Inputs = []burst.Input{{Path: "ref.fa", URL: "s3://lab/ref.fa"}}
	_, err := JobParts(j)
	var u *Uncacheable
	if !errors.As(err, &u) || !strings.Contains(u.Why, "pinned") {
		t.Fatalf("unpinned s3 input: err %v, want Uncacheable naming the pin", err)
	}
	j.Inputs[0].Digest = dA
	if _, err := JobParts(j); err != nil {
		t.Fatalf("pinned s3 input: %v", err)
	}
}

func TestWhyNamesAtMostThree(t *testing.T) {
	prev := Parts{{"env A", "h:1"}, {"env B", "h:1"}, {"env C", "h:1"}, {"env D", "h:1"}, {"input x", dA}}
	cur := Parts{{"env A", "h:2"}, {"env B", "h:2"}, {"env C", "h:2"}, {"env D", "h:2"}, {"input x", dB}}
	got := Why(prev, cur)
	if !strings.HasPrefix(got, "input x changed") || !strings.HasSuffix(got, "(and 2 more)") {
		t.Fatalf("why = %q: want the input first and the rest counted", got)
	}
}
