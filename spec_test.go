package burst

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestParseMem(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512M", 512 << 20, true}, {"8G", 8 << 30, true}, {"8g", 8 << 30, true}, {"1.5G", 3 << 29, true},
		{"100", 100 << 20, true}, {"64K", 64 << 10, true}, {"2T", 2 << 40, true}, {"1GB", 1 << 30, true},
		{"1GiB", 1 << 30, true}, {" 4G ", 4 << 30, true},
		{"12Q", 0, false}, {"", 0, false}, {"-1G", 0, false}, {"G", 0, false}, {"B", 0, false},
		{"1e400G", 0, false}, {"NaN", 0, false}, {"abc", 0, false},
	} {
		got, err := ParseMem(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseMem(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseTimeLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10m", 10 * time.Minute, true}, {"90s", 90 * time.Second, true}, {"1h30m", 90 * time.Minute, true},
		{"90", 90 * time.Minute, true}, {"5:30", 5*time.Minute + 30*time.Second, true},
		{"1:30:00", 90 * time.Minute, true}, {"2-00:00:00", 48 * time.Hour, true}, {"1-12", 36 * time.Hour, true},
		{"1-2:30", 26*time.Hour + 30*time.Minute, true}, {"0", 0, true}, {"infinite", 0, true}, {"UNLIMITED", 0, true}, {"-1", 0, true}, {"-2", 0, false},
		{"banana", 0, false}, {"", 0, false}, {"-5m", 0, false}, {"1:2:3:4", 0, false}, {"1-", 0, false},
		{"x-1", 0, false}, {"1::2", 0, false}, {"+5", 0, false},
		// Fields past their unit carry over, as in Slurm (time_str2secs).
		{"90:00", 90 * time.Minute, true}, {"30:00:00", 30 * time.Hour, true}, {"1-23:59:59", 48*time.Hour - time.Second, true},
		{"25:99", 26*time.Minute + 39*time.Second, true}, {"0:90:00", 90 * time.Minute, true}, {"1:00:60", time.Hour + time.Minute, true},
		{"1-24", 48 * time.Hour, true}, {"1-1:60", 26 * time.Hour, true},
	} {
		got, err := ParseTimeLimit(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseTimeLimit(%q) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestSpecDefaultsAndValidate(t *testing.T) {
	s := JobSpec{Argv: []string{"/usr/bin/python3", "fit.py"}}
	s.Defaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Name != "python3" || s.Project != "default" || s.Resources.CPUs != 1 || s.Tasks != 1 || s.Kind != KindRun {
		t.Errorf("defaults: %+v", s)
	}
	for _, bad := range []JobSpec{
		{},
		{Argv: []string{"x"}, Resources: Resources{CPUs: -1}},
		{Argv: []string{"x"}, Resources: Resources{GPUs: -1}},
		{Argv: []string{"x"}, Resources: Resources{MemBytes: -1}},
		{Argv: []string{"x"}, Project: "no spaces"},
		{Argv: []string{"x"}, Retries: -2},
	} {
		b := bad
		b.Defaults()
		if err := b.Validate(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// A map's tasks may reserve no CPU, said outright (SharedCPUs): a spec
// that leaves its CPUs out still reserves one, and no other kind of job,
// nor a batch script's, may share.
func TestSharedCPUs(t *testing.T) {
	m := &MapSpec{Template: []string{"sleep", "{}"}, Sources: [][]string{{"1", "2"}}}
	s := JobSpec{Map: m, SharedCPUs: true, MaxRunning: 8}
	s.Defaults()
	if err := s.Validate(); err != nil || s.Resources.CPUs != 0 {
		t.Fatalf("shared map: CPUs %d, %v", s.Resources.CPUs, err)
	}
	plain := JobSpec{Map: m}
	plain.Defaults()
	if plain.Resources.CPUs != 1 {
		t.Errorf("a map that names no CPUs reserves %d, want 1", plain.Resources.CPUs)
	}
	for _, c := range []struct {
		spec JobSpec
		want string
	}{
		{JobSpec{Argv: []string{"x"}, SharedCPUs: true}, "is for burst map"},
		{JobSpec{Map: m, SharedCPUs: true, Resources: Resources{CPUs: 2}}, "give --cpus 0"},
		{JobSpec{Map: m, SharedCPUs: true, Batch: &BatchOptions{}}, "a batch script's tasks reserve their CPUs"},
		{JobSpec{Pipe: &PipeSpec{Stages: []PipeStage{{Name: "a", Argv: []string{"a"}}}}, SharedCPUs: true}, "a pipe's stages say their own CPUs"},
	} {
		b := c.spec
		b.Defaults()
		if err := b.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.spec, err, c.want)
		}
	}
}

// FuzzJobSpec feeds the API's submit body through decoding, defaults and
// validation: nothing may panic, and what validates has at least one CPU,
// one task and a command.
func FuzzJobSpec(f *testing.F) {
	f.Add(`{"argv":["true"]}`)
	f.Add(`{"argv":["sh","-c","exit 3"],"resources":{"cpus":2,"mem_bytes":1073741824,"gpus":1,"time_limit_s":60}}`)
	f.Add(`{"script":"#!/bin/sh\necho hi\n","batch":{"ntasks":2}}`)
	f.Add(`{"argv":[],"resources":{"cpus":-5}}`)
	f.Add(`{"map":{"template":["sleep","{}"],"sources":[["1"]]},"shared_cpus":true,"max_running":8}`)
	f.Add(`{"argv":["true"],"name":"\u001b[2J","resources":{"time_limit_s":18446744074}}`)
	f.Add(`{"pipe":{"stages":[{"name":"a","argv":["seq","3"],"resources":{"mem_bytes":4611686018427387904}}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var s JobSpec
		if json.Unmarshal([]byte(body), &s) != nil {
			return
		}
		s.Defaults()
		if s.Validate() != nil {
			return
		}
		if s.Resources.CPUs < 1 && !(s.SharedCPUs && s.Map != nil) || s.Tasks < 1 || (len(s.Argv) == 0 && s.Script == "" && s.Map == nil && s.Pipe == nil) {
			t.Fatalf("validated a spec it should not have: %+v", s)
		}
		// Within the limits of limits.go: nothing that can wrap or reach a
		// terminal raw.
		if len(s.Name) > MaxNameBytes || s.Name == "." || s.Name == ".." || strings.ContainsFunc(s.Name, unicode.IsControl) ||
			s.Resources.TimeLimit > MaxTimeLimitS || s.Tasks > MaxTasks || s.Retries > MaxRetries ||
			(len(s.Argv) > 0 && s.Script == "" && s.Argv[0] == "") {
			t.Fatalf("validated a spec past its limits: %+v", s)
		}
	})
}

func FuzzParseMem(f *testing.F) {
	for _, s := range []string{"512M", "8G", "1.5T", "100", "12Q", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseMem(s); err == nil && v < 0 {
			t.Fatalf("ParseMem(%q) = %d", s, v)
		}
	})
}

func FuzzParseTimeLimit(f *testing.F) {
	for _, s := range []string{"10m", "1:30:00", "2-00:00:00", "90", "banana"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseTimeLimit(s); err == nil && v < 0 {
			t.Fatalf("ParseTimeLimit(%q) = %v", s, v)
		}
	})
}

// TestFormatTimeLimitRoundTrips: what FormatTimeLimit writes,
// ParseTimeLimit reads back as the same duration, within every field's
// range.
func TestFormatTimeLimitRoundTrips(t *testing.T) {
	for _, secs := range []int64{0, 59, 60, 1599, 3599, 3600, 86399, 86400, 90061, 100 * 365 * 86400} {
		d := time.Duration(secs) * time.Second
		s := FormatTimeLimit(d)
		if got, err := ParseTimeLimit(s); err != nil || got != d {
			t.Errorf("ParseTimeLimit(FormatTimeLimit(%v) = %q) = %v, %v", d, s, got, err)
		}
	}
}

// A map of columns (MapSpec.Columns) may join its columns with NUL; each
// column is checked as an argument, and their number is bounded.
func TestMapColumnsValidate(t *testing.T) {
	ok := &MapSpec{Template: []string{"echo"}, Columns: true, Sources: [][]string{{"a\x00b", "c"}}}
	if err := ok.validate(true); err != nil {
		t.Fatalf("columns joined by NUL: %v", err)
	}
	for name, m := range map[string]*MapSpec{
		"NUL without columns": {Template: []string{"echo"}, Sources: [][]string{{"a\x00b"}}},
		"a column too long":   {Template: []string{"echo"}, Columns: true, Sources: [][]string{{"a\x00" + strings.Repeat("x", MaxArgBytes+1)}}},
		"too many columns":    {Template: []string{"echo"}, Columns: true, Sources: [][]string{{strings.Repeat("\x00", MaxColumns)}}},
	} {
		if err := m.validate(true); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Each column may be as long as an argument may, though together longer.
	long := strings.Repeat("x", MaxArgBytes-1)
	if err := (&MapSpec{Template: []string{"echo"}, Columns: true, Sources: [][]string{{long + "\x00" + long}}}).validate(true); err != nil {
		t.Errorf("two columns each under the limit: %v", err)
	}
}

// A numbered map (some of another's tasks, GNU parallel's --resume): one
// source of columns, each input's last column its task's number.
func TestMapNumberedValidate(t *testing.T) {
	ok := &MapSpec{Template: []string{"echo"}, Columns: true, Numbered: true, Sources: [][]string{{"a\x00b\x003", "c\x0012"}}}
	if err := ok.validate(true); err != nil {
		t.Fatalf("a numbered map: %v", err)
	}
	for name, m := range map[string]*MapSpec{
		"no columns":       {Template: []string{"echo"}, Numbered: true, Sources: [][]string{{"a"}}},
		"two sources":      {Template: []string{"echo"}, Columns: true, Numbered: true, Sources: [][]string{{"a\x001"}, {"b\x002"}}},
		"no number":        {Template: []string{"echo"}, Columns: true, Numbered: true, Sources: [][]string{{"a\x001", "b"}}},
		"number 0":         {Template: []string{"echo"}, Columns: true, Numbered: true, Sources: [][]string{{"a\x000"}}},
		"not a number":     {Template: []string{"echo"}, Columns: true, Numbered: true, Sources: [][]string{{"a\x00x"}}},
		"an array as well": {Template: []string{"echo"}, Columns: true, Numbered: true, Array: true, Sources: [][]string{{"1\x001"}}},
	} {
		if err := m.validate(true); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The remedian is GNU parallel's for --timeout N%: the exact lower median
// of up to 999 values, and of many more a median of medians.
func TestRemedian(t *testing.T) {
	var r Remedian
	if _, ok := r.Median(); ok {
		t.Fatal("an empty remedian has a median")
	}
	s := time.Second
	for i, c := range []struct {
		add  time.Duration
		want time.Duration
	}{{3 * s, 3 * s}, {1 * s, 1 * s}, {2 * s, 2 * s}, {10 * s, 2 * s}, {9 * s, 3 * s}} {
		r.Add(c.add)
		if got, ok := r.Median(); !ok || got != c.want {
			t.Fatalf("after %d values: median %v, want %v (the lower middle value)", i+1, got, c.want)
		}
	}
	// 5,000 values, 1..5000 s shuffled: each full buffer of 999 gives its
	// median, and the median of those is near the true 2,500 s.
	var big Remedian
	for _, v := range rand.New(rand.NewPCG(1, 2)).Perm(5000) {
		big.Add(time.Duration(v+1) * s)
	}
	if got, _ := big.Median(); got < 2200*s || got > 2800*s {
		t.Errorf("the remedian of 1..5000 s is %v, want about 2500 s", got)
	}
	// Step by step, the same as the remedian computed plainly (each
	// buffer sorted anew), over 3,000 values with repeats.
	var r2 Remedian
	var plain [3][]time.Duration
	mid := func(vs []time.Duration) time.Duration { s := slices.Sorted(slices.Values(vs)); return s[(len(s)-1)/2] }
	put := func(l, at int, v time.Duration) {
		if at < len(plain[l]) {
			plain[l][at] = v
		} else {
			plain[l] = append(plain[l], v)
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		v := time.Duration(rnd.IntN(50)) * time.Second
		r2.Add(v)
		put(0, i%remedianBase, v)
		put(1, i/remedianBase%remedianBase, mid(plain[0]))
		put(2, i/remedianBase/remedianBase%remedianBase, mid(plain[1]))
		if got, _ := r2.Median(); got != mid(plain[2]) {
			t.Fatalf("after %d values: %v, want %v", i+1, got, mid(plain[2]))
		}
	}
	n := 0
	for _, l := range big.levels {
		n += len(l.vals)
		// Each level's sorted copy is its values, sorted.
		want := slices.Sorted(slices.Values(l.vals))
		if !slices.Equal(l.sorted, want) {
			t.Fatalf("a level's sorted values %v are not its values %v sorted", l.sorted[:min(5, len(l.sorted))], want[:min(5, len(want))])
		}
	}
	if n > 3*remedianBase {
		t.Errorf("the remedian holds %d values, want at most %d", n, 3*remedianBase)
	}
}

// --timeout N% sets N% of the median, in whole seconds rounded up, at
// least one.
func TestMedianTimeLimit(t *testing.T) {
	for _, c := range []struct {
		pct    float64
		median time.Duration
		want   int64
	}{
		{200, 10 * time.Second, 20},
		{150, 3 * time.Second, 5}, // 4.5 s, rounded up
		{200, 100 * time.Millisecond, 1},
		{101, time.Hour, 3636},
		{110, 100 * time.Second, 110}, // not 111: 1.1*100 is 110.00000000000001
		{1e8, 1e6 * time.Hour, MaxTimeLimitS},
	} {
		if got := MedianTimeLimit(c.pct, c.median); got != c.want {
			t.Errorf("MedianTimeLimit(%g, %v) = %d, want %d", c.pct, c.median, got, c.want)
		}
	}
}
