package burst

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// A spec's commands, inputs, environment values, script and paths cross
// JSON byte for byte, whatever the bytes: encoding/json alone once turned
// printf %s $'x\xffy' into x EF BF BD y. What is UTF-8 stays a JSON string,
// so a spec of text reads as before.
func TestSpecBytesExact(t *testing.T) {
	bad := "x\xffy\xc3" // not UTF-8: a Latin-1 byte, a cut sequence
	spec := JobSpec{
		Name: "n", Argv: []string{"printf", "%s", bad}, Script: "#!/bin/sh\n# caf\xe9\n", ScriptRef: "/s/\xe9.sh",
		Env: map[string]string{"A": bad, "B": "plain"}, Workdir: "/d/\xe9", Stdout: "/o/\xff%j", Stderr: "/e/\xfe",
		Map:   &MapSpec{Template: []string{"echo", "{}", bad}, Sources: [][]string{{"a", "caf\xe9"}, {bad}}},
		Batch: &BatchOptions{SubmitDir: "/sub/\xe9"},
		Pipe:  &PipeSpec{Stages: []PipeStage{{Name: "a", Argv: []string{"grep", bad}}}, Stdin: "/i/\xe9", Stdout: "/o/\xe9"},
	}
	b, err := json.Marshal(&spec)
	if err != nil {
		t.Fatal(err)
	}
	var back JobSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("read back: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(back, spec) {
		t.Errorf("read back:\n%+v\nwant\n%+v\nJSON: %s", back, spec, b)
	}
	if !strings.Contains(string(b), `"argv":["printf","%s",{"b64":"eP95ww=="}]`) {
		t.Errorf("JSON %s: want a non-UTF-8 argument as {\"b64\":...}, the others as strings", b)
	}

	// Text stays text, and a spec of text reads as it always did.
	plain := JobSpec{Argv: []string{"echo", "héllo"}, Env: map[string]string{"A": "1"}, Workdir: "/tmp"}
	b, _ = json.Marshal(&plain)
	if want := `"argv":["echo","héllo"]`; !strings.Contains(string(b), want) || strings.Contains(string(b), "b64") {
		t.Errorf("JSON %s: want %s and no b64", b, want)
	}
	// A field the spec does not have is refused at any depth, as the
	// API refuses a misspelt option.
	for _, in := range []string{`{"argv":["true"],"colour":1}`, `{"map":{"template":["x"],"colour":1}}`,
		`{"pipe":{"stages":[{"name":"a","argv":["x"],"colour":1}]}}`, `{"argv":[{"b64":"eA==","x":1}]}`} {
		var s JobSpec
		if err := json.Unmarshal([]byte(in), &s); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("%s: %v; want an unknown field refused", in, err)
		}
	}
}

// An environment key that is not UTF-8 cannot cross JSON (an object's keys
// are strings): it is refused, named.
func TestEnvKeyNotUTF8(t *testing.T) {
	s := JobSpec{Argv: []string{"true"}, Env: map[string]string{"K\xff": "v"}}
	s.Defaults()
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("Validate = %v; want the key refused as not UTF-8", err)
	}
}

// Any string crosses JSON as a WireString unchanged, and stays a JSON
// string when it is UTF-8.
func FuzzWireString(f *testing.F) {
	for _, s := range []string{"", "plain", "x\xffy", "caf\xe9", "\x00\x01", `{"b64":"eA=="}`, "\u2028<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(WireString(s))
		if err != nil {
			t.Fatal(err)
		}
		var back WireString
		if err := json.Unmarshal(b, &back); err != nil || string(back) != s {
			t.Fatalf("%q: read back %q, %v (JSON %s)", s, back, err, b)
		}
		if utf8.ValidString(s) != (b[0] == '"') {
			t.Fatalf("%q written as %s", s, b)
		}
	})
}

// A JSON string read as a WireString is what encoding/json reads into a
// string, whether it takes the path with nothing to decode or not, and
// lists and environments of text are written as they were value by value.
func FuzzWireStringRead(f *testing.F) {
	for _, s := range []string{"", "plain", "x\xffy", "caf\xe9", "\x00\x01", `a\"b`, "tab\there", "é\u2028<&>", "\\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		marshaled, _ := json.Marshal(s)
		for _, b := range [][]byte{marshaled, []byte(`"` + s + `"`), []byte(`["` + s + `"]`)} {
			var want any
			errWant := json.Unmarshal(b, &want)
			var got any = new(WireString)
			if b[0] == '[' {
				got = new(WireStrings)
			}
			errGot := json.Unmarshal(b, got)
			if (errWant == nil) != (errGot == nil) {
				t.Fatalf("%q: encoding/json says %v, WireString %v", b, errWant, errGot)
			}
			if errWant != nil {
				continue
			}
			var str string
			switch g := got.(type) {
			case *WireString:
				str = string(*g)
			case *WireStrings:
				str = (*g)[0]
				want = want.([]any)[0]
			}
			if str != want.(string) {
				t.Fatalf("%q read as %q; encoding/json reads %q", b, str, want)
			}
		}
		// Written whole or value by value: the same bytes.
		l := []string{s, "x", s + "<&>"}
		env := map[string]string{"A": s, "B": "é\u2028"}
		if !utf8.ValidString(s) {
			return
		}
		byValue := make([]WireString, len(l))
		for i, v := range l {
			byValue[i] = WireString(v)
		}
		envByValue := map[string]WireString{}
		for k, v := range env {
			envByValue[k] = WireString(v)
		}
		for _, c := range []struct{ whole, each any }{{WireStrings(l), byValue}, {WireEnv(env), envByValue}} {
			a, err1 := json.Marshal(c.whole)
			b, err2 := json.Marshal(c.each)
			if err1 != nil || err2 != nil || string(a) != string(b) {
				t.Fatalf("%q: written whole %s (%v), value by value %s (%v)", s, a, err1, b, err2)
			}
		}
	})
}

// BenchmarkSpecJSON is what each submit of `burst run` costs the CLI and
// the server in JSON: a spec with a shell's environment, written and read.
func BenchmarkSpecJSON(b *testing.B) {
	spec := JobSpec{Name: "true", Argv: []string{"true"}, Workdir: "/home/user/project", Env: map[string]string{}}
	for i := range 40 {
		spec.Env["VAR_"+strconv.Itoa(i)] = strings.Repeat("value/", 8) + strconv.Itoa(i)
	}
	for b.Loop() {
		data, err := json.Marshal(&spec)
		if err != nil {
			b.Fatal(err)
		}
		var back JobSpec
		if err := json.Unmarshal(data, &back); err != nil {
			b.Fatal(err)
		}
	}
}

// A spec's AppendJSON (how the client sends it) says what json.Marshal
// says, whatever the map's sources hold, but for the order of its keys.
func TestSpecAppendJSON(t *testing.T) {
	bad := "x\xffy\xc3"
	specs := []JobSpec{
		{Argv: []string{"true"}},
		{Map: &MapSpec{Template: []string{"echo", "{}"}}},
		{Map: &MapSpec{Template: []string{"echo", "{}"}, Sources: [][]string{}}},
		{Map: &MapSpec{Template: []string{"echo"}, Sources: [][]string{{"a"}}}}, // the rest of the spec is {}
		{Map: &MapSpec{Template: []string{"echo", "{%.gz}"}, Plus: true, Sources: [][]string{{"a.gz"}}}},
		{Name: "n", Env: map[string]string{"A": bad}, Map: &MapSpec{Template: []string{"echo", "{}", bad}, Columns: true,
			Sources: [][]string{{"a", "caf\xe9", `<&>"\` + "\n\t\x01\u2028"}, nil, {}, {bad, "héllo"}}}},
	}
	for _, s := range specs {
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.AppendJSON([]byte("prefix"))
		if err != nil || !strings.HasPrefix(string(got), "prefix") {
			t.Fatalf("%s: %v", got, err)
		}
		got = got[len("prefix"):]
		var w, g any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &g); err != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("AppendJSON %s (%v)\njson.Marshal %s", got, err, want)
		}
		var back, wantBack JobSpec
		if err := json.Unmarshal(want, &wantBack); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(back, wantBack) {
			t.Errorf("read back %+v (%v), want %+v", back, err, wantBack)
		}
	}
}

// A map's sources are written once: through json.Marshal every enclosing
// MarshalJSON copied them again, and 60 MB of inputs took the CLI 557 MB.
func TestSpecAppendJSONCopiesOnce(t *testing.T) {
	in := make([]string, 100)
	for i := range in {
		in[i] = strings.Repeat("x", 50_000)
	}
	s := JobSpec{Map: &MapSpec{Template: []string{"echo", "{}"}, Sources: [][]string{in}}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := s.AppendJSON(nil)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// One buffer of the output's size, and the small rest of the spec.
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(b)+len(b)/10) {
		t.Errorf("AppendJSON of %d bytes allocated %d bytes; want about one copy", len(b), n)
	}
}

// A map given --plus says so in its spec (its bash-like strings are filled
// by the server as by --dry-run); a spec stored before there was one reads
// as without --plus, and one without writes no field.
func TestMapSpecPlusJSON(t *testing.T) {
	var old MapSpec
	if err := json.Unmarshal([]byte(`{"template":["echo","{%.gz}"],"shell":true}`), &old); err != nil || old.Plus {
		t.Fatalf("old spec: %+v, %v", old, err)
	}
	b, err := json.Marshal(MapSpec{Template: []string{"echo", "{%.gz}"}})
	if err != nil || strings.Contains(string(b), "plus") {
		t.Fatalf("without --plus: %s, %v", b, err)
	}
	b, err = json.Marshal(MapSpec{Template: []string{"echo", "{%.gz}"}, Plus: true})
	var back MapSpec
	if err != nil || json.Unmarshal(b, &back) != nil || !back.Plus {
		t.Fatalf("with --plus: %s -> %+v, %v", b, back, err)
	}
}
