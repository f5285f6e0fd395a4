package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/mapspec"
)

const pin = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestS3Input(t *testing.T) {
	for _, c := range []struct {
		arg, url, digest, err string
	}{
		{"s3://lab/refs/hg38.fa", "s3://lab/refs/hg38.fa", "", ""},
		{"s3://lab/refs/hg38.fa#" + pin, "s3://lab/refs/hg38.fa", pin, ""},
		{"s3://lab/a#b.csv", "s3://lab/a#b.csv", "", ""}, // a # that is no pin is the key's
		{"s3://lab/x#sha256:abc", "", "", "is not sha256:<64 lowercase hex>"},
		{"s3://lab/refs/", "", "", "give an object as s3://BUCKET/KEY"},
		{"s3://lab", "", "", "give an object as s3://BUCKET/KEY"},
		{"s3:///k", "", "", "give an object as s3://BUCKET/KEY"},
	} {
		in, err := s3Input(c.arg)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil || in.URL != c.url || in.Digest != c.digest {
			t.Errorf("%s: %+v %v, want url %s digest %q", c.arg, in, err, c.url, c.digest)
		}
	}
}

// A map's s3:// {} values are each staged for their own tasks at
// BUCKET/KEY, and the values read as that path.
func TestAddMapInputsS3(t *testing.T) {
	sources := []mapspec.Source{{"s3://lab/d/a.csv", "s3://lab/d/b.csv#" + pin, "plain"}}
	st := &staging{}
	if err := st.addMapInputs(t.TempDir(), sources, 3, false); err != nil {
		t.Fatal(err)
	}
	want := []burst.Input{
		{Path: "lab/d/a.csv", URL: "s3://lab/d/a.csv"},
		{Path: "lab/d/b.csv", URL: "s3://lab/d/b.csv", Digest: pin},
	}
	if len(st.urls) != len(want) {
		t.Fatalf("staged %+v, want %+v", st.urls, want)
	}
	for i, w := range want {
		g := st.urls[i]
		if g.Path != w.Path || g.URL != w.URL || g.Digest != w.Digest || g.Task == nil || *g.Task != i {
			t.Errorf("input %d: %+v, want %+v for task %d", i, g, w, i)
		}
	}
	if got := strings.Join(sources[0], " "); got != "lab/d/a.csv lab/d/b.csv plain" {
		t.Errorf("the map's values are %q, want the staged paths", got)
	}
}

// An s3:// column of an input of columns (--colsep, :::+, -N) is staged
// and rewritten as a whole input is.
func TestAddMapInputsS3Columns(t *testing.T) {
	sources := []mapspec.Source{{"s3://lab/d/a.csv" + mapspec.ColumnSep + "3", "plain" + mapspec.ColumnSep + "s3://lab/d/b.csv"}}
	st := &staging{}
	if err := st.addMapInputs(t.TempDir(), sources, 2, true); err != nil {
		t.Fatal(err)
	}
	if len(st.urls) != 2 || st.urls[0].Path != "lab/d/a.csv" || st.urls[1].Path != "lab/d/b.csv" {
		t.Fatalf("staged %+v, want both objects", st.urls)
	}
	want := []string{"lab/d/a.csv", "3", "plain", "lab/d/b.csv"}
	if got := mapspec.Columns(sources[0]); !slices.Equal(got, want) {
		t.Errorf("the map's columns are %q, want %q", got, want)
	}
}
