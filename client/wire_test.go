package client

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// An assignment, an end and a result cross JSON byte for byte on both of
// their paths: plain JSON when every string is UTF-8 (the per-task fast
// path), {"b64":...} for one that is not; either side reads what the other
// wrote.
func TestPerTaskWireBothPaths(t *testing.T) {
	for _, argv := range [][]string{{"echo", "plain"}, {"printf", "x\xffy"}, {"b64"}} {
		in := Assignment{TaskRef: TaskRef{Job: 1, Index: 3, Attempt: 2}, Argv: argv, TaskEnv: []string{"K=v\xe9"}, Stdout: "/o/\xfe", Stderr: "/e"}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out Assignment
		if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(in, out) {
			t.Errorf("%q: %s read back as %+v (%v)", argv, b, out, err)
		}
		plain := Assignment{TaskRef: TaskRef{Index: 1}, Argv: argv[:1]}
		if b, _ := json.Marshal(plain); strings.Contains(string(b), "b64") != strings.Contains(argv[0], "\xff") && argv[0] != "b64" {
			t.Errorf("%q: %s: {\"b64\":...} only for a string that is not UTF-8", argv[:1], b)
		}
	}
	for _, in := range []Result{{Index: 1, Input: []string{"a"}}, {Index: 2, Input: []string{"caf\xe9"}}} {
		b, _ := json.Marshal(in)
		var out Result
		if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(in, out) {
			t.Errorf("%s read back as %+v (%v)", b, out, err)
		}
	}
}
