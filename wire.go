package burst

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/burst-sh/burst/internal/jsonstr"
)

// WireString is a string that crosses JSON byte for byte. encoding/json
// replaces bytes that are not UTF-8 with U+FFFD when it writes and when it
// reads, so `burst run -- printf %s $'x\xffy'` once ran x EF BF BD y. A
// WireString is written as a JSON string when it is valid UTF-8, else as
// {"b64":"..."} (standard base64 of its bytes), and read back from either.
// The spec types keep their fields as Go strings: only their JSON uses it.
type WireString string

// WireStrings is a list of WireStrings: argv, a map's inputs.
type WireStrings []string

// WireEnv is an environment whose values are WireStrings. Its keys must be
// UTF-8 (checkEnv refuses others): a JSON object's keys cannot be base64.
type WireEnv map[string]string

type wireBytes struct {
	B64 []byte `json:"b64"`
}

// MarshalJSON writes s as a JSON string, or as {"b64":...} when s is not
// valid UTF-8.
func (s WireString) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(s)) {
		return json.Marshal(string(s))
	}
	return json.Marshal(wireBytes{B64: []byte(s)})
}

// UnmarshalJSON reads a JSON string or {"b64":...}.
func (s *WireString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '{' {
		var w wireBytes
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return err
		}
		if w.B64 == nil {
			return errors.New(`a string given as an object must be {"b64": "BASE64"}`)
		}
		*s = WireString(w.B64)
		return nil
	}
	if v, ok := plainJSONString(b); ok {
		*s = WireString(v)
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = WireString(v)
	return nil
}

// plainJSONString is the string a JSON string literal holds when it has
// nothing to decode: no escape, no control character, valid UTF-8 (which
// encoding/json would otherwise replace). Every value of a spec's
// environment and argv is read through WireString, and a second pass of
// encoding/json over each one cost the server a third of a submit's
// decoding; these need none.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	ascii := true
	for _, c := range in {
		switch {
		case c == '\\' || c == '"' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// MarshalJSON writes each string as WireString does.
func (l WireStrings) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("null"), nil
	}
	if allUTF8(l) { // the same bytes, without a Marshaler call per string
		return json.Marshal([]string(l))
	}
	w := make([]WireString, len(l))
	for i, v := range l {
		w[i] = WireString(v)
	}
	return json.Marshal(w)
}

// plainJSON says whether a list's or an object's JSON holds no object
// within it, so no {"b64":...}: its strings are read as encoding/json reads
// any (as WireString reads a JSON string), in one pass rather than with a
// call per value. A '{' inside a string value merely takes the longer way.
func plainJSON(b []byte) bool {
	return len(b) > 0 && bytes.IndexByte(b[1:], '{') < 0
}

// allUTF8 says whether every string of l is valid UTF-8: then each is
// written as a plain JSON string.
func allUTF8(l []string) bool {
	for _, v := range l {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// UnmarshalJSON reads a list of JSON strings or {"b64":...}.
func (l *WireStrings) UnmarshalJSON(b []byte) error {
	if plainJSON(b) {
		var v []string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = v
		return nil
	}
	var w []WireString
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w == nil {
		*l = nil
		return nil
	}
	out := make([]string, len(w))
	for i, v := range w {
		out[i] = string(v)
	}
	*l = out
	return nil
}

// MarshalJSON writes each value as WireString does.
func (e WireEnv) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	utf := true
	for _, v := range e {
		if !utf8.ValidString(v) {
			utf = false
			break
		}
	}
	if utf { // the same bytes, without a Marshaler call per value
		return json.Marshal(map[string]string(e))
	}
	w := make(map[string]WireString, len(e))
	for k, v := range e {
		w[k] = WireString(v)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads an object of JSON strings or {"b64":...}.
func (e *WireEnv) UnmarshalJSON(b []byte) error {
	if plainJSON(b) {
		var v map[string]string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*e = v
		return nil
	}
	var w map[string]WireString
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w == nil {
		*e = nil
		return nil
	}
	out := make(map[string]string, len(w))
	for k, v := range w {
		out[k] = string(v)
	}
	*e = out
	return nil
}

// wireLists is WireStrings for a map's groups of inputs.
type wireLists [][]string

func (g wireLists) MarshalJSON() ([]byte, error) {
	return g.appendJSON(make([]byte, 0, g.size())), nil
}

// appendJSON appends g as its MarshalJSON writes it, each string written
// straight into b: a map's inputs may be 64 MiB, and a Marshaler per list
// had encoding/json copy each list's JSON once more.
func (g wireLists) appendJSON(b []byte) []byte {
	if g == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, l := range g {
		if i > 0 {
			b = append(b, ',')
		}
		if l == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, v := range l {
			if j > 0 {
				b = append(b, ',')
			}
			if utf8.ValidString(v) {
				b = jsonstr.Append(b, v)
			} else {
				b = base64.StdEncoding.AppendEncode(append(b, `{"b64":"`...), []byte(v))
				b = append(b, '"', '}')
			}
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

// size is about the length of g's JSON: its bytes and their quotes and
// commas (escapes and base64 take more, and the buffer grows then).
func (g wireLists) size() int {
	n := 2
	for _, l := range g {
		n += 3
		for _, v := range l {
			n += len(v) + 3
		}
	}
	return n
}

func (g *wireLists) UnmarshalJSON(b []byte) error {
	var w []WireStrings
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w == nil {
		*g = nil
		return nil
	}
	out := make([][]string, len(w))
	for i, v := range w {
		out[i] = v
	}
	*g = out
	return nil
}

// decodeStrict decodes b into v refusing fields v does not have, as the
// API refuses them in a request (a misspelt option must not be dropped).
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// The spec types' JSON: each names its fields that carry bytes (commands,
// inputs, environment values, the script, paths) as Wire types, over the
// same names; the rest is the type's own.

func (s JobSpec) MarshalJSON() ([]byte, error) {
	type plain JobSpec
	return json.Marshal(struct {
		plain
		Argv      WireStrings `json:"argv,omitempty"`
		Script    WireString  `json:"script,omitempty"`
		ScriptRef WireString  `json:"script_path,omitempty"`
		Env       WireEnv     `json:"env,omitempty"`
		Workdir   WireString  `json:"workdir,omitempty"`
		Stdout    WireString  `json:"stdout,omitempty"`
		Stderr    WireString  `json:"stderr,omitempty"`
	}{plain(s), s.Argv, WireString(s.Script), WireString(s.ScriptRef), s.Env, WireString(s.Workdir),
		WireString(s.Stdout), WireString(s.Stderr)})
}

func (s *JobSpec) UnmarshalJSON(b []byte) error {
	type plain JobSpec
	aux := struct {
		*plain
		Argv      WireStrings `json:"argv,omitempty"`
		Script    WireString  `json:"script,omitempty"`
		ScriptRef WireString  `json:"script_path,omitempty"`
		Env       WireEnv     `json:"env,omitempty"`
		Workdir   WireString  `json:"workdir,omitempty"`
		Stdout    WireString  `json:"stdout,omitempty"`
		Stderr    WireString  `json:"stderr,omitempty"`
	}{(*plain)(s), s.Argv, WireString(s.Script), WireString(s.ScriptRef), s.Env, WireString(s.Workdir),
		WireString(s.Stdout), WireString(s.Stderr)}
	if err := decodeStrict(b, &aux); err != nil {
		return err
	}
	s.Argv, s.Script, s.ScriptRef, s.Env = aux.Argv, string(aux.Script), string(aux.ScriptRef), aux.Env
	s.Workdir, s.Stdout, s.Stderr = string(aux.Workdir), string(aux.Stdout), string(aux.Stderr)
	return nil
}

func (m MapSpec) MarshalJSON() ([]byte, error) {
	type plain MapSpec
	return json.Marshal(struct {
		plain
		Template WireStrings `json:"template"`
		Sources  wireLists   `json:"sources,omitempty"`
	}{plain(m), m.Template, m.Sources})
}

// AppendJSON appends s as json.Marshal writes it, but for the order of
// its keys: a map's sources (up to MaxSubmitBytes) are written once,
// straight into b, and last. Through json.Marshal each enclosing
// MarshalJSON (the lists, the map, the spec, the request) copied them
// again: a map of 60 MB of inputs took the CLI 557 MB.
func (s *JobSpec) AppendJSON(b []byte) ([]byte, error) {
	if s.Map == nil || len(s.Map.Sources) == 0 {
		w, err := json.Marshal(s)
		return append(b, w...), err
	}
	rest, m := *s, *s.Map
	rest.Map, m.Sources = nil, nil
	outer, err := json.Marshal(rest)
	if err != nil {
		return b, err
	}
	inner, err := json.Marshal(m)
	if err != nil {
		return b, err
	}
	sources := wireLists(s.Map.Sources)
	if need := len(outer) + len(inner) + sources.size() + 32; cap(b)-len(b) < need {
		// Not slices.Grow: built with -race, it allocates twice.
		b = append(make([]byte, 0, len(b)+need), b...)
	}
	b = append(openObject(b, outer), `"map":`...)
	b = append(openObject(b, inner), `"sources":`...)
	b = sources.appendJSON(b)
	return append(b, '}', '}'), nil
}

// openObject appends the JSON object obj without its closing brace, and
// a comma after its last field if it has one, so that another can follow.
func openObject(b, obj []byte) []byte {
	b = append(b, obj[:len(obj)-1]...)
	if len(bytes.TrimSpace(obj[1:len(obj)-1])) > 0 {
		b = append(b, ',')
	}
	return b
}

func (m *MapSpec) UnmarshalJSON(b []byte) error {
	type plain MapSpec
	aux := struct {
		*plain
		Template WireStrings `json:"template"`
		Sources  wireLists   `json:"sources,omitempty"`
	}{(*plain)(m), m.Template, m.Sources}
	if err := decodeStrict(b, &aux); err != nil {
		return err
	}
	m.Template, m.Sources = aux.Template, aux.Sources
	return nil
}

func (p PipeSpec) MarshalJSON() ([]byte, error) {
	type plain PipeSpec
	return json.Marshal(struct {
		plain
		Stdin  WireString `json:"stdin,omitempty"`
		Stdout WireString `json:"stdout,omitempty"`
	}{plain(p), WireString(p.Stdin), WireString(p.Stdout)})
}

func (p *PipeSpec) UnmarshalJSON(b []byte) error {
	type plain PipeSpec
	aux := struct {
		*plain
		Stdin  WireString `json:"stdin,omitempty"`
		Stdout WireString `json:"stdout,omitempty"`
	}{(*plain)(p), WireString(p.Stdin), WireString(p.Stdout)}
	if err := decodeStrict(b, &aux); err != nil {
		return err
	}
	p.Stdin, p.Stdout = string(aux.Stdin), string(aux.Stdout)
	return nil
}

func (s PipeStage) MarshalJSON() ([]byte, error) {
	type plain PipeStage
	return json.Marshal(struct {
		plain
		Argv WireStrings `json:"argv"`
	}{plain(s), s.Argv})
}

func (s *PipeStage) UnmarshalJSON(b []byte) error {
	type plain PipeStage
	aux := struct {
		*plain
		Argv WireStrings `json:"argv"`
	}{(*plain)(s), s.Argv}
	if err := decodeStrict(b, &aux); err != nil {
		return err
	}
	s.Argv = aux.Argv
	return nil
}

func (o BatchOptions) MarshalJSON() ([]byte, error) {
	type plain BatchOptions
	return json.Marshal(struct {
		plain
		SubmitDir WireString `json:"submit_dir,omitempty"`
	}{plain(o), WireString(o.SubmitDir)})
}

func (o *BatchOptions) UnmarshalJSON(b []byte) error {
	type plain BatchOptions
	aux := struct {
		*plain
		SubmitDir WireString `json:"submit_dir,omitempty"`
	}{(*plain)(o), WireString(o.SubmitDir)}
	if err := decodeStrict(b, &aux); err != nil {
		return err
	}
	o.SubmitDir = string(aux.SubmitDir)
	return nil
}
