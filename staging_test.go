package burst

import (
	"strings"
	"testing"
)

func TestValidateStaging(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	one := 1
	cases := []struct {
		name    string
		inputs  []Input
		outputs []string
		isMap   bool
		bad     string // a word of the error; "" = valid
	}{
		{"plain", []Input{{Path: "data.csv", Digest: d, Size: 3}}, []string{"results/*.csv"}, false, ""},
		{"s3", []Input{{Path: "ref.fa", URL: "s3://lab/ref.fa"}}, nil, false, ""},
		{"per task", []Input{{Path: "in/1.csv", Digest: d, Task: &one}}, nil, true, ""},
		{"absolute", []Input{{Path: "/etc/passwd", Digest: d}}, nil, false, "absolute"},
		{"dotdot", []Input{{Path: "../x", Digest: d}}, nil, false, "leaves"},
		{"unclean", []Input{{Path: "a//b", Digest: d}}, nil, false, "clean"},
		{"no digest", []Input{{Path: "a"}}, nil, false, "digest"},
		{"bad url", []Input{{Path: "a", URL: "s3://bucket"}}, nil, false, "s3://BUCKET/KEY"},
		{"twice", []Input{{Path: "a", Digest: d}, {Path: "a", Digest: d}}, nil, false, "twice"},
		{"task of a run", []Input{{Path: "a", Digest: d, Task: &one}}, nil, false, "map"},
		{"shared and own", []Input{{Path: "a", Digest: d}, {Path: "a", Digest: d, Task: &one}}, nil, true, "both"},
		{"out absolute", nil, []string{"/tmp/*.csv"}, false, "absolute"},
		{"out dotdot", nil, []string{"../*.csv"}, false, "leaves"},
		{"out bad glob", nil, []string{"res/[.csv"}, false, "glob"},
	}
	for _, tc := range cases {
		s := &JobSpec{Argv: []string{"true"}, Inputs: tc.inputs, Outputs: tc.outputs}
		if tc.isMap {
			s.Argv, s.Map = nil, &MapSpec{Template: []string{"cat", "{}"}, Sources: [][]string{{"in/0.csv", "in/1.csv"}}}
		}
		s.Defaults()
		err := s.Validate()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.bad)
		}
	}
}
