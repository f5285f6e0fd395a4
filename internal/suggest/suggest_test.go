package suggest

import (
	"slices"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"cpus", "cpus", 0}, {"cpu", "cpus", 1}, {"cups", "cpus", 2}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"é", "e", 1}, {"c5.xlarg", "c5.xlarge", 1}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	flags := []string{"cpus", "gpus", "mem", "detach", "state", "retries", "on", "time"}
	for _, c := range []struct {
		name string
		want []string
	}{
		{"cpu", []string{"cpus"}},
		{"mme", []string{"mem"}},
		{"detatch", []string{"detach"}},
		{"stat", []string{"state"}},
		{"retry", []string{"retries"}},
		{"CPUS", []string{"cpus"}}, // the same name in another case: that one alone
		{"pus", []string{"cpus", "gpus"}},
		{"det", []string{"detach"}}, // a name that starts with it
		{"nope", nil},               // half of it or more wrong
		{"x", nil},                  // as far from "on" as it is long
		{"zzzzzz", nil},
	} {
		got := Closest(c.name, flags)
		if !slices.Equal(got, c.want) {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := Nearest("cpuss", flags, 3); !slices.Equal(got, []string{"cpus", "gpus"}) {
		t.Errorf("Nearest(cpuss) = %q, want the close ones, closest first", got)
	}
	if got := Nearest("p3", []string{"m5.large", "p3.2xlarge", "p3.8xlarge"}, 3); !slices.Equal(got, []string{"p3.2xlarge", "p3.8xlarge"}) {
		t.Errorf("Nearest(p3) = %q: names that start with it and a dot are close", got)
	}
}
