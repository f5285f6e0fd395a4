package client

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// wantSameAsMarshal fails unless AppendJSON of v writes what json.Marshal
// writes, and that reads back as v did.
func wantSameAsMarshal[T any](t *testing.T, v *T, appendJSON func([]byte) ([]byte, error)) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := appendJSON([]byte("prefix"))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendJSON error %v, json.Marshal error %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("AppendJSON lost what it appended to: %q", got)
	}
	got = got[len("prefix"):]
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON wrote\n%s\njson.Marshal writes\n%s", got, want)
	}
	var back, wantBack T
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("read back %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &wantBack); err != nil {
		t.Fatalf("read back json.Marshal's %s: %v", want, err)
	}
	if !reflect.DeepEqual(back, wantBack) {
		t.Fatalf("read back as %+v, json.Marshal's as %+v", back, wantBack)
	}
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 12, 4, 16, 43, 21, 123456789, time.UTC)
	zoned := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7*3600-30*60))
	code, zero := 3, 0
	odd := "a\"b\\c\n\r\t\b\f\x00\x1f<>&\u2028\u2029é😀\xff\xfez"
	leases := []Leased{
		{},
		{Tasks: []Assignment{}, Cancel: []TaskRef{}},
		{Seq: 7, Exit: true, Cancel: []TaskRef{{Job: 1, Index: 2, Attempt: 3}, {Job: -1}}},
		{Seq: 9, Cancel: []TaskRef{{Job: 1, Index: 2, Attempt: 3}, {Job: 4}}, Requeue: []TaskRef{{Job: 1, Index: 2, Attempt: 3}}},
		{Seq: 8, Signals: []TaskSignal{{TaskRef: TaskRef{Job: 4}, Signal: 10}}, Limits: []JobLimit{{Job: 4, TimeLimitS: 60}, {Job: 5}}},
		{Seq: 1 << 63, Jobs: map[int64]*JobContext{2: {Env: []string{"A=1"}, Dir: "/w", CPUs: 1}, 10: {Dir: "\xff"}},
			Tasks: []Assignment{
				{TaskRef: TaskRef{Job: 2, Index: 0, Attempt: 1}, Argv: []string{"true", "0"}, Stdout: "/h/2/0.out", Stderr: "/h/2/0.err"},
				{TaskRef: TaskRef{Job: 2, Index: 1}, Argv: []string{odd[:len(odd)-3] + "z"}, TaskEnv: []string{"X=<y>"},
					GPUIDs: []int{0, 3}, Queued: true, Truncate: true, Direct: true},
				{Argv: []string{"not utf-8: \xff"}, Stdout: "\xfe"}, // the b64 path
				{Argv: []string{"x"}, Res: &burst.Resources{CPUs: 2}},
				{Argv: []string{"x"}, Pipe: &Plumbing{Stage: "s", Stdout: End{File: "f"}}},
				{Argv: []string{"x"}, Inputs: []burst.Input{{Path: "p"}}},
				{Argv: []string{}, TaskEnv: []string{}, GPUIDs: []int{}},
			}},
	}
	for i := range leases {
		wantSameAsMarshal(t, &leases[i], leases[i].AppendJSON)
	}
	// Job contexts kept (written once), some not, a nil one, keys whose
	// text sorts apart from their value.
	kept := []*JobContext{{Env: []string{"A=<1>", "B=\xff"}, Dir: "/w", CPUs: 2, Name: "n"}, {Env: []string{}, Script: "#!/bin/sh\n"}}
	for _, c := range kept {
		if err := c.Keep(); err != nil || c.wire == nil {
			t.Fatalf("Keep: %v", err)
		}
	}
	l := Leased{Seq: 3, Jobs: map[int64]*JobContext{2: kept[0], 10: kept[1], -1: {Dir: "d"}, 100: nil}, Tasks: []Assignment{}}
	wantSameAsMarshal(t, &l, l.AppendJSON)
	reports := []Report{
		{},
		{Machine: "local-1", BootID: "b", Events: []TaskEvent{}, SentAt: &at},
		{Machine: odd, BootID: "\u2028", Events: []TaskEvent{
			{TaskRef: TaskRef{Job: 2, Index: 5, Attempt: 1}, Kind: EventStarted, PID: 123, PIDStart: 1 << 40, StartedAt: &at, OutFrom: 9, ErrFrom: 10},
			{TaskRef: TaskRef{Job: 2, Index: 5, Attempt: 1}, Kind: EventExited, State: burst.Succeeded, ExitCode: &zero,
				StartedAt: &at, EndedAt: &zoned, UserUS: 1, SysUS: 2, MaxRSS: 3, OutBytes: 4, OutTo: 5, ErrTo: 6, ReadBytes: 7, WroteBytes: 8},
			{Kind: EventExited, State: burst.Failed, ExitCode: &code, Signal: 9, Reason: odd},
			{Kind: EventExited, Outputs: []OutputFile{{Path: "o", Digest: "d", Size: 1, Mode: 0o644}}},
			{Kind: EventExited, StackChanges: &OutputFile{Path: "s"}},
			{Kind: "progress", PID: -1, UserUS: -5},
		}},
	}
	for i := range reports {
		wantSameAsMarshal(t, &reports[i], reports[i].AppendJSON)
	}
}

// A time json.Marshal refuses (a year past 9999) is refused here too.
func TestAppendJSONBadTime(t *testing.T) {
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	r := Report{Machine: "m", Events: []TaskEvent{{Kind: EventExited, EndedAt: &far}}}
	if _, err := r.AppendJSON(nil); err == nil {
		t.Fatal("AppendJSON took a time of year 10000, which json.Marshal refuses")
	}
	wantSameAsMarshal(t, &r, r.AppendJSON)
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("true", "0", "/h/1.out", "reason", "A=1", int64(1), 2, 3, int64(4), uint64(5), true, false)
	f.Add("\xff\xfe", "<\u2028>", "\x00\x1f\"\\", "é😀", "", int64(-1), -2, 0, int64(0), uint64(0), false, true)
	f.Fuzz(func(t *testing.T, arg, env, path, reason, extra string, job int64, index, attempt int, n int64, u uint64, b1, b2 bool) {
		at := time.Unix(n%(1<<35), int64(u%1e9)).UTC()
		code := int(n)
		ref := TaskRef{Job: job, Index: index, Attempt: attempt}
		l := Leased{Seq: u, Exit: b1, Cancel: []TaskRef{ref},
			Tasks: []Assignment{{TaskRef: ref, Argv: []string{arg, extra}, TaskEnv: []string{env}, Stdout: path, Stderr: reason,
				Queued: b1, Truncate: b2, Direct: b1 && b2}}}
		if b2 {
			l.Jobs = map[int64]*JobContext{job: {Env: []string{env}, Dir: path, Script: extra}}
			l.Tasks[0].GPUIDs = []int{index, attempt}
		}
		wantSameAsMarshal(t, &l, l.AppendJSON)
		ev := TaskEvent{TaskRef: ref, Kind: arg, PID: index, PIDStart: u, State: burst.State(env), Signal: attempt,
			Reason: reason, UserUS: n, SysUS: -n, MaxRSS: n / 3, OutBytes: job, OutFrom: n, ErrFrom: job, OutTo: n, ErrTo: job,
			ReadBytes: int64(index), WroteBytes: int64(attempt)}
		if b1 {
			ev.ExitCode, ev.StartedAt, ev.EndedAt = &code, &at, &at
		}
		r := Report{Machine: path, BootID: extra, Events: []TaskEvent{ev, {}}, SentAt: &at}
		wantSameAsMarshal(t, &r, r.AppendJSON)
	})
}

// benchMessages are a lease's answer and a report of 10 tasks of a map of
// `true`: what an agent and its server exchange every few milliseconds.
func benchMessages() (*Leased, *Report) {
	at := time.Date(2026, 12, 4, 16, 43, 21, 123456789, time.UTC)
	zero := 0
	l := &Leased{Seq: 42, Cancel: []TaskRef{}}
	r := &Report{Machine: "local-1", BootID: "5f0c2b1e9a7d4c3b", SentAt: &at}
	for i := range 10 {
		ref := TaskRef{Job: 2, Index: 100 + i, Attempt: 1}
		l.Tasks = append(l.Tasks, Assignment{TaskRef: ref, Argv: []string{"true", strconv.Itoa(100 + i)},
			Stdout: "/home/u/.burst/logs/2/" + strconv.Itoa(100+i) + ".out", Stderr: "/home/u/.burst/logs/2/" + strconv.Itoa(100+i) + ".err", Queued: true})
		r.Events = append(r.Events, TaskEvent{TaskRef: ref, Kind: EventExited, PID: 30000 + i, PIDStart: 123456789,
			State: burst.Succeeded, ExitCode: &zero, StartedAt: &at, EndedAt: &at, UserUS: 310, SysUS: 620, MaxRSS: 1 << 20})
	}
	return l, r
}

func BenchmarkWire(b *testing.B) {
	l, r := benchMessages()
	// The same lease with its job's context (an environment of 40
	// variables), as json.Marshal writes it each time, or kept (Keep).
	ctx := func() *JobContext {
		c := &JobContext{Dir: "/home/u/work", CPUs: 1, Project: "default"}
		for i := range 40 {
			c.Env = append(c.Env, "VAR_"+strconv.Itoa(i)+"=/some/value/of/typical/length/"+strconv.Itoa(i))
		}
		return c
	}
	withJob, withKept := *l, *l
	withJob.Jobs = map[int64]*JobContext{2: ctx()}
	kept := ctx()
	if err := kept.Keep(); err != nil {
		b.Fatal(err)
	}
	withKept.Jobs = map[int64]*JobContext{2: kept}
	for _, c := range []struct {
		name string
		fn   func() ([]byte, error)
	}{
		{"Leased/json.Marshal", func() ([]byte, error) { return json.Marshal(l) }},
		{"Leased/AppendJSON", func() ([]byte, error) { return l.AppendJSON(make([]byte, 0, 4096)) }},
		{"Report/json.Marshal", func() ([]byte, error) { return json.Marshal(r) }},
		{"Report/AppendJSON", func() ([]byte, error) { return r.AppendJSON(make([]byte, 0, 4096)) }},
		{"Leased+job/json.Marshal", func() ([]byte, error) { return json.Marshal(withJob) }},
		{"Leased+job/AppendJSON", func() ([]byte, error) { return withJob.AppendJSON(make([]byte, 0, 8192)) }},
		{"Leased+job/AppendJSON-kept", func() ([]byte, error) { return withKept.AppendJSON(make([]byte, 0, 8192)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAppendJSONEveryField: each field of the hand-written messages, set
// alone to a value that is not its zero, is written as json.Marshal
// writes it. A field added to Assignment, TaskEvent, Leased or Report and
// not to AppendJSON is dropped on the wire without a word; this fails
// for it instead.
func TestAppendJSONEveryField(t *testing.T) {
	everyField(t, func(a *Assignment) ([]byte, error) {
		l := Leased{Tasks: []Assignment{*a}}
		return l.AppendJSON(nil)
	}, func(a *Assignment) any { return Leased{Tasks: []Assignment{*a}} })
	everyField(t, func(e *TaskEvent) ([]byte, error) {
		r := Report{Events: []TaskEvent{*e}}
		return r.AppendJSON(nil)
	}, func(e *TaskEvent) any { return Report{Events: []TaskEvent{*e}} })
	everyField(t, func(l *Leased) ([]byte, error) { return l.AppendJSON(nil) }, func(l *Leased) any { return l })
	everyField(t, func(r *Report) ([]byte, error) { return r.AppendJSON(nil) }, func(r *Report) any { return r })
}

// everyField sets each field of a T (an embedded struct's fields one by
// one) to a value that is not zero and compares what appendJSON writes of
// it with json.Marshal of wrap(it).
func everyField[T any](t *testing.T, appendJSON func(*T) ([]byte, error), wrap func(*T) any) {
	t.Helper()
	for _, p := range fieldPaths(reflect.TypeFor[T]()) {
		var v T
		f := reflect.ValueOf(&v).Elem().FieldByIndex(p)
		name := reflect.TypeFor[T]().FieldByIndex(p).Name
		if !setNonZero(f) {
			t.Errorf("%T.%s: a field of a kind (%s) this test cannot fill: teach setNonZero", v, name, f.Kind())
			continue
		}
		got, err := appendJSON(&v)
		if err != nil {
			t.Errorf("%T.%s: AppendJSON: %v", v, name, err)
			continue
		}
		want, err := json.Marshal(wrap(&v))
		if err != nil {
			t.Errorf("%T.%s: json.Marshal: %v", v, name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T.%s set: AppendJSON wrote\n%s\njson.Marshal writes\n%s", v, name, got, want)
		}
	}
}

// setNonZero gives v a value that is not its zero; false for a kind it
// does not know.
func setNonZero(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x<")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		setNonZero(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		setNonZero(k)
		setNonZero(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if v.Type().Elem() == reflect.TypeFor[time.Time]() {
			p.Elem().Set(reflect.ValueOf(time.Date(2026, 12, 4, 1, 2, 3, 4, time.UTC)))
		} else {
			setNonZero(p.Elem())
		}
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 4, 1, 2, 3, 4, time.UTC)))
			return true
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				setNonZero(v.Field(i))
			}
		}
	default:
		return false
	}
	return true
}
