package client

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/burst-sh/burst"
)

// What the server hands an agent (a task's command, environment, script and
// files) and what it answers with a task's inputs cross JSON byte for byte,
// as a job's spec does (burst.WireString): a string that is not UTF-8 goes
// as {"b64":"..."}. The Go fields stay strings.

func (c JobContext) MarshalJSON() ([]byte, error) {
	type plain JobContext
	return json.Marshal(struct {
		plain
		Env    burst.WireStrings `json:"env"`
		Dir    burst.WireString  `json:"dir"`
		Script burst.WireString  `json:"script,omitempty"`
	}{plain(c), c.Env, burst.WireString(c.Dir), burst.WireString(c.Script)})
}

func (c *JobContext) UnmarshalJSON(b []byte) error {
	type plain JobContext
	aux := struct {
		*plain
		Env    burst.WireStrings `json:"env"`
		Dir    burst.WireString  `json:"dir"`
		Script burst.WireString  `json:"script,omitempty"`
	}{(*plain)(c), c.Env, burst.WireString(c.Dir), burst.WireString(c.Script)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c.Env, c.Dir, c.Script = aux.Env, string(aux.Dir), string(aux.Script)
	return nil
}

func (a Assignment) MarshalJSON() ([]byte, error) {
	type plain Assignment
	if allUTF8([][]string{a.Argv, a.TaskEnv}, a.Stdout, a.Stderr, a.Stdin) {
		return json.Marshal(plain(a)) // the hot path: one task's lease, as plain JSON
	}
	return json.Marshal(struct {
		plain
		Argv    burst.WireStrings `json:"argv"`
		TaskEnv burst.WireStrings `json:"task_env"`
		Stdout  burst.WireString  `json:"stdout"`
		Stderr  burst.WireString  `json:"stderr"`
		Stdin   burst.WireString  `json:"stdin,omitempty"`
	}{plain(a), a.Argv, a.TaskEnv, burst.WireString(a.Stdout), burst.WireString(a.Stderr), burst.WireString(a.Stdin)})
}

func (a *Assignment) UnmarshalJSON(b []byte) error {
	type plain Assignment
	if noB64(b) {
		return json.Unmarshal(b, (*plain)(a))
	}
	aux := struct {
		*plain
		Argv    burst.WireStrings `json:"argv"`
		TaskEnv burst.WireStrings `json:"task_env"`
		Stdout  burst.WireString  `json:"stdout"`
		Stderr  burst.WireString  `json:"stderr"`
		Stdin   burst.WireString  `json:"stdin,omitempty"`
	}{(*plain)(a), a.Argv, a.TaskEnv, burst.WireString(a.Stdout), burst.WireString(a.Stderr), burst.WireString(a.Stdin)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.Argv, a.TaskEnv, a.Stdout, a.Stderr, a.Stdin = aux.Argv, aux.TaskEnv, string(aux.Stdout), string(aux.Stderr), string(aux.Stdin)
	return nil
}

func (e End) MarshalJSON() ([]byte, error) {
	type plain End
	if utf8.ValidString(e.File) {
		return json.Marshal(plain(e))
	}
	return json.Marshal(struct {
		plain
		File burst.WireString `json:"file,omitempty"`
	}{plain(e), burst.WireString(e.File)})
}

func (e *End) UnmarshalJSON(b []byte) error {
	type plain End
	if noB64(b) {
		return json.Unmarshal(b, (*plain)(e))
	}
	aux := struct {
		*plain
		File burst.WireString `json:"file,omitempty"`
	}{(*plain)(e), burst.WireString(e.File)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	e.File = string(aux.File)
	return nil
}

func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if allUTF8([][]string{r.Input}) {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		Input burst.WireStrings `json:"input"`
	}{plain(r), r.Input})
}

func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	if noB64(b) {
		return json.Unmarshal(b, (*plain)(r))
	}
	aux := struct {
		*plain
		Input burst.WireStrings `json:"input"`
	}{(*plain)(r), r.Input}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.Input = aux.Input
	return nil
}

// The types sent once per task (an assignment, an end, a result) take a
// fast path when nothing in them needs {"b64":...}, nearly always: plain
// JSON, encoded and decoded once, rather than through the wire types'
// nested encoders. Both paths read what either wrote.

// allUTF8 says that every string given is valid UTF-8.
func allUTF8(lists [][]string, strs ...string) bool {
	for _, l := range lists {
		for _, s := range l {
			if !utf8.ValidString(s) {
				return false
			}
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// noB64 says that b holds no {"b64":...} (a string that is exactly "b64"
// takes the slow path too, which reads it right).
func noB64(b []byte) bool { return !bytes.Contains(b, []byte(`"b64"`)) }
