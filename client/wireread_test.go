package client

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// readAsServer reads data as the server's API does without DecodeJSON,
// only stricter: encoding/json refusing unknown fields (the API ignores
// them in a report, and DecodeJSON declines a report that has one), one
// value and nothing after it.
func readAsServer(data []byte) (Report, error) {
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, io.ErrUnexpectedEOF
	}
	return r, nil
}

// wantSameAsJSON fails if DecodeJSON accepts data and encoding/json reads
// it otherwise (or refuses it); it returns whether DecodeJSON accepted it.
func wantSameAsJSON(t *testing.T, data []byte) bool {
	t.Helper()
	var got Report
	if !got.DecodeJSON(data) {
		if !reflect.DeepEqual(got, Report{}) {
			t.Fatalf("DecodeJSON declined %q but changed the report: %+v", data, got)
		}
		return false
	}
	want, err := readAsServer(data)
	if err != nil {
		t.Fatalf("DecodeJSON accepted %q, which encoding/json refuses: %v", data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeJSON read %q as\n%+v\nencoding/json as\n%+v", data, got, want)
	}
	return true
}

// What the agent sends for a map's tasks is read by DecodeJSON, as
// encoding/json reads it.
func TestDecodeJSONCommonReports(t *testing.T) {
	at := time.Date(2026, 12, 4, 16, 43, 21, 123456789, time.UTC)
	zoned := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7*3600-30*60))
	zero, code := 0, 3
	_, bench := benchMessages()
	reports := []Report{
		*bench,
		{Machine: "local-1", BootID: "b", Events: []TaskEvent{}, SentAt: &at},
		{Machine: "é😀", BootID: "b", Events: []TaskEvent{
			{TaskRef: TaskRef{Job: 2, Index: 5, Attempt: 1}, Kind: EventStarted, PID: 123, PIDStart: 1 << 63, StartedAt: &at, OutFrom: 9, ErrFrom: 10},
			{TaskRef: TaskRef{Job: 2, Index: 5, Attempt: 1}, Kind: EventExited, State: burst.Succeeded, ExitCode: &zero,
				StartedAt: &at, EndedAt: &zoned, UserUS: 1, SysUS: 2, MaxRSS: 3, OutBytes: 4, OutTo: 5, ErrTo: 6, ReadBytes: 7, WroteBytes: 8,
				OutPack: "/h/logs/2/0/pack-local-1.out", ErrPack: "/h/logs/2/0/pack-local-1.err"},
			{Kind: EventExited, State: burst.Failed, ExitCode: &code, Signal: 9, Reason: "exit status 3"},
			{Kind: "progress", PID: -1, UserUS: -5, TaskRef: TaskRef{Job: -9223372036854775808}},
		}},
	}
	for _, r := range reports {
		data, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range [][]byte{data, spaced(data)} {
			if !wantSameAsJSON(t, d) {
				t.Fatalf("DecodeJSON declined a common report, which then costs encoding/json: %s", d)
			}
			var got Report
			got.DecodeJSON(d)
			if back, err := got.AppendJSON(nil); err != nil || !bytes.Equal(back, data) {
				t.Fatalf("DecodeJSON read\n%s\nas what writes\n%s (%v)", d, back, err)
			}
		}
	}
}

// spaced is data with JSON's white space around every structural byte
// outside strings.
func spaced(data []byte) []byte {
	var b []byte
	in := false
	for i, c := range data {
		if c == '"' && (i == 0 || data[i-1] != '\\') {
			in = !in
		}
		if !in && strings.IndexByte("{}[]:,", c) >= 0 {
			b = append(b, " \t\n\r"[i%4], c, '\n')
			continue
		}
		b = append(b, c)
	}
	return b
}

// Anything but the common shape is left to encoding/json, which then
// gives the answer (or error) it always gave.
func TestDecodeJSONDeclines(t *testing.T) {
	for _, s := range []string{
		``, `null`, `[]`, `{`, `{"machine":"m"`, `{"machine":"m",}`, `{"machine":"m"} {}`, `{"machine":"m"}x`,
		`{"Machine":"m"}`, `{"MACHINE":"m"}`, `{"machine":"m","machine":"n"}`, `{"other":1}`,
		`{"machine":"m\n"}`, `{"machine":"a\"b"}`, `{"machine":"\u003c"}`, "{\"machine\":\"\xff\"}", "{\"machine\":\"a\tb\"}",
		`{"machine":null}`, `{"machine":1}`, `{"events":{}}`, `{"sent_at":"yesterday"}`, `{"sent_at":null}`,
		`{"sent_at":"2026-12-04T16:43:21Z "}`,
		`{"events":[{"job":1.0}]}`, `{"events":[{"job":1e3}]}`, `{"events":[{"job":01}]}`, `{"events":[{"job":-}]}`,
		`{"events":[{"job":9223372036854775808}]}`, `{"events":[{"pid_start":-1}]}`, `{"events":[{"exit_code":null}]}`,
		`{"events":[{"job":1,"job":2}]}`, `{"events":[{"Kind":"exited"}]}`, `{"events":[{"outputs":[]}]}`,
		`{"events":[{"stack_changes":{"path":"p"}}]}`, `{"events":[{"kind":"x"},]}`, `{"events":[{"kind":"x"}}`,
		`{"events":[{"job":"1"}]}`, `{"events":[{"index":true}]}`,
	} {
		if wantSameAsJSON(t, []byte(s)) {
			t.Errorf("DecodeJSON took %q: it should leave it to encoding/json", s)
		}
	}
}

// Each field of a report and of its events, set alone, is read back: a
// field added to TaskEvent or Report and not to DecodeJSON sends every
// report that carries it to encoding/json, the slow way; this fails for it
// (Outputs, StackChanges and Steps, rare, are left to encoding/json on
// purpose).
func TestDecodeJSONEveryField(t *testing.T) {
	check := func(name string, r Report) {
		t.Helper()
		data, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		// setNonZero's strings hold a '<', which AppendJSON escapes as
		// json.Marshal does: the agent's plain strings have none.
		data = bytes.ReplaceAll(data, []byte(`\u003c`), []byte("<"))
		if !wantSameAsJSON(t, data) {
			t.Errorf("%s set: DecodeJSON declined %s", name, data)
		}
	}
	typ := reflect.TypeFor[TaskEvent]()
	for _, p := range fieldPaths(typ) {
		name := typ.FieldByIndex(p).Name
		if name == "Outputs" || name == "StackChanges" || name == "Steps" {
			continue
		}
		var e TaskEvent
		setNonZero(reflect.ValueOf(&e).Elem().FieldByIndex(p))
		check("TaskEvent."+name, Report{Events: []TaskEvent{e}})
	}
	rt := reflect.TypeFor[Report]()
	for _, p := range fieldPaths(rt) {
		var r Report
		setNonZero(reflect.ValueOf(&r).Elem().FieldByIndex(p))
		if len(r.Events) == 1 {
			r.Events[0].Outputs, r.Events[0].StackChanges, r.Events[0].Steps = nil, nil, nil
		}
		check("Report."+rt.FieldByIndex(p).Name, r)
	}
}

// fieldPaths are the index paths of typ's exported fields, an embedded
// struct's fields one by one.
func fieldPaths(typ reflect.Type) [][]int {
	var paths [][]int
	var walk func(typ reflect.Type, at []int)
	walk = func(typ reflect.Type, at []int) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			p := append(append([]int(nil), at...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, p)
				continue
			}
			paths = append(paths, p)
		}
	}
	walk(typ, nil)
	return paths
}

// FuzzDecodeReport: whatever DecodeJSON accepts, encoding/json reads the
// same way.
func FuzzDecodeReport(f *testing.F) {
	_, r := benchMessages()
	data, _ := r.AppendJSON(nil)
	f.Add(data)
	f.Add(spaced(data))
	f.Add([]byte(`{"machine":"m","boot_id":"b","events":[{"job":1,"index":2,"attempt":1,"kind":"started","pid":3,"pid_start":4,"out_from":5}],"sent_at":"2026-12-04T16:43:21.5+01:00"}`))
	f.Add([]byte(`{"events":[{"job":-0,"exit_code":0,"state":"failed","reason":"é","out_pack":"p","err_pack":"q"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		wantSameAsJSON(t, data)
	})
}

func BenchmarkWireRead(b *testing.B) {
	_, r := benchMessages()
	data, err := r.AppendJSON(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Report/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := readAsServer(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Report/DecodeJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r Report
			if !r.DecodeJSON(data) {
				b.Fatal("declined")
			}
		}
	})
}
