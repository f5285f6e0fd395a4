package burst

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLimits checks every limit of limits.go from both sides: a spec at the
// limit is taken, one past it is refused with a message that names the
// limit (or, for characters, what is wrong), so a person knows the fix.
func TestLimits(t *testing.T) {
	run := func(f func(*JobSpec)) JobSpec {
		s := JobSpec{Argv: []string{"/bin/true"}, Workdir: "/tmp"}
		f(&s)
		return s
	}
	mapOf := func(f func(*MapSpec)) JobSpec {
		m := &MapSpec{Template: []string{"echo", "{}"}, Sources: [][]string{{"a", "b"}}}
		f(m)
		return JobSpec{Map: m}
	}
	pipeOf := func(f func(*PipeSpec)) JobSpec {
		p := &PipeSpec{Stages: []PipeStage{{Name: "gen", Argv: []string{"seq", "3"}}, {Name: "wc", Argv: []string{"wc"}}}}
		f(p)
		return JobSpec{Pipe: p}
	}
	big := func(n int) string { return strings.Repeat("x", n) }
	argsOf := func(n, size int) []string {
		a := make([]string, n)
		for i := range a {
			a[i] = big(size)
		}
		a[0] = "/bin/echo"
		return a
	}
	envOf := func(n, size int) map[string]string {
		e := map[string]string{}
		for i := range n {
			e["V"+strconv.Itoa(i)] = big(size)
		}
		return e
	}
	for _, c := range []struct {
		name string
		spec JobSpec
		want string // "" accepted; else a part of the message
	}{
		{"name at the limit", run(func(s *JobSpec) { s.Name = big(255) }), ""},
		{"name of 60 MB", run(func(s *JobSpec) { s.Name = big(60_000_000) }), "job name is 60000000 bytes; the limit is 255"},
		{"name with a newline", run(func(s *JobSpec) { s.Name = "a\nb" }), "control character U+000A: give another with --name, in printable characters"},
		{"name with an escape sequence", run(func(s *JobSpec) { s.Name = "\x1b[2Jx" }), "control character U+001B"},
		{"name with a C1 control", run(func(s *JobSpec) { s.Name = "a\u009bb" }), "control character U+009B"},
		{"name that reverses text", run(func(s *JobSpec) { s.Name = "a\u202eb" }), "control character U+202E"},
		{"name with a zero width space", run(func(s *JobSpec) { s.Name = "a\u200bb" }), "control character U+200B"},
		{"name with a line separator", run(func(s *JobSpec) { s.Name = "a\u2028b" }), "control character U+2028"},
		{"name with a byte order mark", run(func(s *JobSpec) { s.Name = "\ufeffab" }), "control character U+FEFF"},
		{"name not UTF-8", run(func(s *JobSpec) { s.Name = "a\xffb" }), "not valid UTF-8"},
		{"name of 256 bytes", run(func(s *JobSpec) { s.Name = big(256) }), "give a shorter one with --name"},
		{"kind run", run(func(s *JobSpec) { s.Kind = KindRun }), ""},
		{"kind unknown", run(func(s *JobSpec) { s.Kind = "\x1b[2Jfoo" }), `kind "\x1b[2Jfoo": give run, map or pipe`},
		{"kind map without a map", run(func(s *JobSpec) { s.Kind = KindMap }), `kind "map" does not match the spec, which is a run`},
		{"kind pipe without a pipe", run(func(s *JobSpec) { s.Kind = KindPipe }), `kind "pipe" does not match`},
		{"kind run of a map (Defaults makes it map)", func() JobSpec { s := mapOf(func(m *MapSpec) {}); s.Kind = KindRun; return s }(), ""},
		{"name .", run(func(s *JobSpec) { s.Name = "." }), `job name "." names no file`},
		{"name ..", run(func(s *JobSpec) { s.Name = ".." }), `job name ".." names no file`},
		{"name of any script", run(func(s *JobSpec) { s.Name = "fit 2 ü.py" }), ""},
		{"project ..", run(func(s *JobSpec) { s.Project = ".." }), "not . or .."},
		{"project of 1 MB", run(func(s *JobSpec) { s.Project = big(1 << 20) }), "(1048576 bytes)"},

		// execve(2), "Limits on size of arguments and environment": one
		// string at most MAX_ARG_STRLEN (32 pages: 128 KiB); all of them
		// together at most a quarter of the stack limit (2 MiB usually).
		{"empty argv[0]", run(func(s *JobSpec) { s.Argv = []string{"", "x"} }), "names no program"},
		{"empty argv[0] of a script", run(func(s *JobSpec) { s.Script = "#!/bin/sh\n"; s.Argv = []string{""} }), ""},
		{"NUL in an argument", run(func(s *JobSpec) { s.Argv = []string{"echo", "a\x00b"} }), "argument 2 holds a NUL byte"},
		{"argument at the limit", run(func(s *JobSpec) { s.Argv = []string{"echo", big(128<<10 - 1)} }), ""},
		{"argument past the limit", run(func(s *JobSpec) { s.Argv = []string{"echo", big(128 << 10)} }), "argument 2 is 131072 bytes; the limit is 131071"},
		{"arguments at the limit", run(func(s *JobSpec) { s.Argv = argsOf(8, 128<<10-1) }), ""},
		{"arguments past the limit", run(func(s *JobSpec) { s.Argv = argsOf(9, 128<<10-1) }), "; the limit is 1048576"},
		{"too many arguments", run(func(s *JobSpec) { s.Argv = argsOf(65537, 0) }), "65537 arguments; the limit is 65536"},

		{"env key with =", run(func(s *JobSpec) { s.Env = map[string]string{"A=B": "1"} }), "cannot hold '=' or NUL"},
		{"env key with NUL", run(func(s *JobSpec) { s.Env = map[string]string{"A\x00": "1"} }), "cannot hold '=' or NUL"},
		{"empty env key", run(func(s *JobSpec) { s.Env = map[string]string{"": "1"} }), "empty name"},
		{"env value with NUL", run(func(s *JobSpec) { s.Env = map[string]string{"A": "1\x002"} }), "A\" holds a NUL byte"},
		{"env value with a newline", run(func(s *JobSpec) { s.Env = map[string]string{"F": "() {\n echo\n}"} }), ""},
		{"env variable past the limit", run(func(s *JobSpec) { s.Env = map[string]string{"A": big(128 << 10)} }), "is 131074 bytes; the limit is 131071"},
		{"env at the limit", run(func(s *JobSpec) { s.Env = envOf(8, 128<<10-8) }), ""},
		{"env past the limit", run(func(s *JobSpec) { s.Env = envOf(9, 128<<10-8) }), "; the limit is 1048576"},
		{"too many env variables", run(func(s *JobSpec) { s.Env = envOf(16385, 0) }), "16385 variables; the limit is 16384"},

		// slurm.conf(5), SchedulerParameters max_script_size: 4 MB unless
		// set otherwise.
		{"script past the limit", run(func(s *JobSpec) { s.Script = big(4<<20 + 1) }), "4194305 bytes; the limit is 4194304"},
		{"script of 4 MiB of text", run(func(s *JobSpec) { s.Script = "#!/bin/sh\n" + big(4<<20-10) }), ""},
		{"script of 2 MiB of control bytes (12 MiB as stored)", run(func(s *JobSpec) { s.Script = "#!/bin/sh\n" + strings.Repeat("\x01", 2<<20) }), "as stored; the limit is 8388608 (8 MiB)"},
		{"script with NUL", run(func(s *JobSpec) { s.Script = "#!/bin/sh\n\x00" }), "NUL"},
		{"relative working directory", run(func(s *JobSpec) { s.Workdir = "x/y" }), "not an absolute path"},
		{"working directory past PATH_MAX", run(func(s *JobSpec) { s.Workdir = "/" + big(4096) }), "4097 bytes; the limit is 4096"},
		{"output path with NUL", run(func(s *JobSpec) { s.Stdout = "/tmp/a\x00b" }), "--output holds a NUL byte"},
		{"cluster name with an escape", run(func(s *JobSpec) { s.Cluster = "\x1b]0;x\x07" }), "control character"},

		{"584 years", run(func(s *JobSpec) { s.Resources.TimeLimit = 18_446_744_074 }), "584 years); the limit is 3153600000 s (100 years of 365 days)"},
		{"100 years", run(func(s *JobSpec) { s.Resources.TimeLimit = MaxTimeLimitS }), ""},
		{"largest int64 of time", run(func(s *JobSpec) { s.Resources.TimeLimit = 1<<63 - 1 }), "the limit is 3153600000 s"},
		{"too many CPUs", run(func(s *JobSpec) { s.Resources.CPUs = 1 << 40 }), "ask for 1 to 65536 CPUs"},
		{"too many GPUs", run(func(s *JobSpec) { s.Resources.GPUs = 1025 }), "ask for 0 to 1024 GPUs"},
		{"too much memory", run(func(s *JobSpec) { s.Resources.MemBytes = 1<<50 + 1 }), "the limit is 1125899906842624 (1 PiB)"},
		{"too many retries", run(func(s *JobSpec) { s.Retries = 10_001 }), "--retries 10001: give 0 to 10000"},
		{"too many tasks", run(func(s *JobSpec) { s.Tasks = 10_000_001 }), "give 0 to 10000000"},
		{"negative max running", run(func(s *JobSpec) { s.MaxRunning = -1 }), "max running -1"},
		{"batch partition with a newline", run(func(s *JobSpec) { s.Batch = &BatchOptions{Partition: "a\nb"} }), "--partition holds the control character"},
		{"batch huge --mem-per-cpu", run(func(s *JobSpec) { s.Batch = &BatchOptions{MemPerCPU: 1 << 62} }), "--mem-per-cpu"},

		{"map input past the limit", mapOf(func(m *MapSpec) { m.Sources = [][]string{{"a", big(128 << 10)}} }), "input 2 of group 1 is 131072 bytes; the limit is 131071"},
		{"map input with NUL", mapOf(func(m *MapSpec) { m.Sources = [][]string{{"a\x00"}} }), "input 1 of group 1 holds a NUL byte"},
		{"map of too many groups", mapOf(func(m *MapSpec) { m.Sources = make([][]string, 1025) }), "1025 input groups (::: or ::::); the limit is 1024"},
		{"map with empty command", mapOf(func(m *MapSpec) { m.Template = []string{"", "{}"} }), "names no program"},
		{"map with huge max failures", mapOf(func(m *MapSpec) { m.MaxFailures = 1 << 40 }), "--max-failures"},
		{"map taken", mapOf(func(m *MapSpec) {}), ""},
		{"map halting on a success", mapOf(func(m *MapSpec) { m.HaltOn, m.HaltAfter = HaltOnSuccess, 1 }), ""},
		{"map halting on 3% done", mapOf(func(m *MapSpec) { m.HaltOn, m.HaltAfterPct = HaltOnDone, 3 }), ""},
		{"map halting on no count", mapOf(func(m *MapSpec) { m.HaltOn = HaltOnDone }), "--halt success=N or done=N"},
		{"map halting on a count and a share", mapOf(func(m *MapSpec) { m.HaltOn, m.HaltAfter, m.HaltAfterPct = HaltOnDone, 1, 5 }), "one of them"},
		{"map halting past 100%", mapOf(func(m *MapSpec) { m.HaltOn, m.HaltAfterPct = HaltOnSuccess, 101 }), "at most 100%"},
		{"map timing out at 200% of the median", mapOf(func(m *MapSpec) { m.TimeoutPct = 200 }), ""},
		{"map timing out past a million times the median", mapOf(func(m *MapSpec) { m.TimeoutPct = 1e9 }), "--timeout N%"},
		{"map timing out at a share and with a limit", func() JobSpec {
			s := mapOf(func(m *MapSpec) { m.TimeoutPct = 200 })
			s.Resources.TimeLimit = 60
			return s
		}(), "give no time limit of your own with it"},
		{"map halting on a word burst lacks", mapOf(func(m *MapSpec) { m.HaltOn, m.HaltAfter = "fail", 1 }), `halt_on "fail"`},
		{"map halt count with no condition", mapOf(func(m *MapSpec) { m.HaltAfter = 2 }), "--halt success=N"},
		{"map halt as given", mapOf(func(m *MapSpec) { m.Halt = "soon,fail=1" }), ""},
		{"map halt past its limit", mapOf(func(m *MapSpec) { m.Halt = "soon,fail=1" + big(64) }), "halt: 75 bytes; give GNU parallel's --halt (soon,fail=1) in at most 64"},
		{"array of indices", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"0", "3", "4000000"}} }), ""},
		{"array index abc", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"0", "abc"}} }), `array index 2, "abc", is not a number from 0 to 4000000`},
		{"array index -1", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"-1"}} }), "is not a number"},
		{"array index 007", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"007"}} }), "is not a number"},
		{"array index past Slurm's", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"4000001"}} }), "is not a number"},
		{"array indices repeated", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"1", "1"}} }), "does not come after 1"},
		{"array of two groups", mapOf(func(m *MapSpec) { m.Array, m.Sources = true, [][]string{{"1"}, {"2"}} }), "one group of inputs"},

		{"pipe stage ..", pipeOf(func(p *PipeSpec) { p.Stages[1].Name = ".." }), "not . or .."},
		{"pipe stage empty argv[0]", pipeOf(func(p *PipeSpec) { p.Stages[1].Argv = []string{""} }), "has no command"},
		{"pipe stage 584 years", pipeOf(func(p *PipeSpec) { p.Stages[0].Resources.TimeLimit = 18_446_744_074 }), "stage 1 (gen): --time is 18446744074 s"},
		{"pipe stage huge memory", pipeOf(func(p *PipeSpec) { p.Stages[0].Resources.MemBytes = 1 << 62 }), "stage 1 (gen): --mem is"},
		{"pipe of too many stages", pipeOf(func(p *PipeSpec) {
			p.Stages = nil
			for i := range 65 {
				p.Stages = append(p.Stages, PipeStage{Name: "s" + strconv.Itoa(i), Argv: []string{"cat"}})
			}
		}), "65 stages; the limit is 64"},
		{"pipe of 8 stages of 1024 copies of 1 PiB (2^63 in all)", pipeOf(func(p *PipeSpec) {
			p.Stages = nil
			for i := range 8 {
				p.Stages = append(p.Stages, PipeStage{Name: "s" + strconv.Itoa(i), Argv: []string{"cat"}, Parallel: 1024, Resources: Resources{MemBytes: MaxMemBytes}})
			}
		}), "bytes of memory in all; the limits are"},
		{"pipe of 1024 copies of 1 PiB", pipeOf(func(p *PipeSpec) {
			p.Stages[1].Parallel, p.Stages[1].Resources.MemBytes = 1024, MaxMemBytes
		}), ""},
		{"pipe text over lines", pipeOf(func(p *PipeSpec) { p.Text = "gen |\n\twc" }), ""},
		{"pipe text with an escape", pipeOf(func(p *PipeSpec) { p.Text = "gen | \x1b[31mwc" }), "control character U+001B"},
		{"pipe file with NUL", pipeOf(func(p *PipeSpec) { p.Stdout = "o\x00" }), "NUL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.spec
			s.Defaults()
			err := s.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted; want an error with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q; want it to say %q", err, c.want)
			case err != nil && (len(err.Error()) > 400 || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error is %d bytes or spans lines: want one short line", len(err.Error()))
			}
		})
	}
}

// TestDefaultName checks that a name made from a command's path is one that
// Validate takes: no control characters, at most 64 bytes cut on a
// character, and nothing for . and ...
func TestDefaultName(t *testing.T) {
	for _, c := range []struct{ argv0, want string }{
		{"/usr/bin/python3", "python3"},
		{"./a\x1b[2Jb", "a_[2Jb"},
		{"..", ""},
		{"/x/" + strings.Repeat("é", 40), strings.Repeat("é", 32)},
	} {
		s := JobSpec{Argv: []string{c.argv0}}
		s.Defaults()
		if s.Name != c.want {
			t.Errorf("name of %q is %q; want %q", c.argv0, s.Name, c.want)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%q: %v", c.argv0, err)
		}
	}
}

// TestProjectAndClusterLimits checks the limits on a project's and a
// cluster's fields from both sides, as TestLimits does for jobs.
func TestProjectAndClusterLimits(t *testing.T) {
	str := func(s string) *string { return &s }
	usd := func(v float64) *float64 { return &v }
	tags := func(n int) *[]string {
		t := make([]string, n)
		for i := range t {
			t[i] = "t" + strconv.Itoa(i)
		}
		return &t
	}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"description over lines", (&ProjectSpec{Description: str("Mars rover\n\tdata")}).Validate(), ""},
		{"description of 1 MB", (&ProjectSpec{Description: str(strings.Repeat("x", 1<<20))}).Validate(), "1048576 bytes; the limit is 4096"},
		{"description with an escape", (&ProjectSpec{Description: str("\x1b[2J")}).Validate(), "control character U+001B"},
		{"64 tags", (&ProjectSpec{Tags: tags(64)}).Validate(), ""},
		{"65 tags", (&ProjectSpec{Tags: tags(65)}).Validate(), "65 tags; the limit is 64"},
		{"tag with a bell", (&ProjectSpec{Tags: &[]string{"a\x07"}}).Validate(), "control character U+0007"},
		{"budget of $9 billion", (&ProjectSpec{BudgetUSD: usd(9e9)}).Validate(), ""},
		{"budget of $1e300", (&ProjectSpec{BudgetUSD: usd(1e300)}).Validate(), "budget $1e+300: the limit is $9000000000"}, // not 301 digits
		{"huge --warn", (&ProjectSpec{Warn: str(strings.Repeat("5", 1000))}).Validate(), "--warn is 1000 bytes; the limit is 255"},
		{"cluster", (&ClusterSpec{Name: "gpu", Provider: "local", Max: 4, Off: []string{"Fri 18:00"}}).Validate(), ""},
		{"cluster of 584-year pilots", (&ClusterSpec{TimeLimitS: 18_446_744_074}).Validate(), "--time-limit is 18446744074 s; the limit is 3153600000 s"},
		{"cluster of too many machines", (&ClusterSpec{Max: 1 << 40}).Validate(), "the limit is 100000 machines"},
		{"cluster type with an escape", (&ClusterSpec{Type: "\x1b]0;x"}).Validate(), "--type holds the control character"},
		{"tag with a comma", (&ProjectSpec{Tags: &[]string{"a,b"}}).Validate(), `tag "a,b": tags are single words or short phrases without commas`},
		{"cluster of negative --min", (&ClusterSpec{Min: -1}).Validate(), "--min and --max cannot be negative"},
		{"cluster of negative --idle-stop", (&ClusterSpec{IdleStopS: -1}).Validate(), "--idle-stop cannot be negative"},
		{"cluster of negative --cpus", (&ClusterSpec{MachineCPUs: -1}).Validate(), "cannot be negative"},
		{"cluster of huge machines", (&ClusterSpec{MachineMemBytes: 1 << 62}).Validate(), "the limits are"},
	} {
		switch {
		case c.want == "" && c.err != nil:
			t.Errorf("%s: refused: %v", c.name, c.err)
		case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
			t.Errorf("%s: error %v; want one that says %q", c.name, c.err, c.want)
		}
	}
}

// A reason past the server's limit is cut to fit, keeping its start and
// end and never cutting a character.
func TestCutReason(t *testing.T) {
	if got := CutReason("short"); got != "short" {
		t.Fatalf("a short reason changed: %q", got)
	}
	exact := strings.Repeat("x", MaxReasonBytes)
	if CutReason(exact) != exact {
		t.Fatal("a reason of exactly the limit was cut")
	}
	for _, filler := range []string{"y", "é", "日本", "🙂"} {
		long := "cannot start: exec: \"" + strings.Repeat(filler, 70_000) + "\": executable file not found in $PATH"
		got := CutReason(long)
		if len(got) > MaxReasonBytes {
			t.Fatalf("%s: cut to %d bytes, over the limit %d", filler, len(got), MaxReasonBytes)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("%s: a character was cut in two", filler)
		}
		if !strings.HasPrefix(got, "cannot start: exec: ") || !strings.HasSuffix(got, "executable file not found in $PATH") {
			t.Fatalf("%s: the start or end was lost: %.80q ... %.80q", filler, got[:80], got[len(got)-80:])
		}
		if !strings.Contains(got, " bytes left out>... ") {
			t.Fatalf("%s: no word of what was left out", filler)
		}
	}
}

// Bytes that are not UTF-8 are written by JSON as U+FFFD (three bytes
// each): a reason cut before that would arrive three times longer than
// the server takes. CutReason measures what JSON will send.
func TestCutReasonInvalidUTF8(t *testing.T) {
	got := CutReason(strings.Repeat("\xff", 20_000))
	if !utf8.ValidString(got) || len(got) > MaxReasonBytes {
		t.Fatalf("a reason of 20,000 bytes that are not UTF-8 cut to %d bytes, valid UTF-8 %v; want valid and at most %d", len(got), utf8.ValidString(got), MaxReasonBytes)
	}
}
