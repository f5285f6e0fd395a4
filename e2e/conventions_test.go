package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// listing is one listing command under the output conventions, and where
// the identifying value of each item is in its -o json form.
type listing struct {
	args  []string
	items string // "": the JSON is an array of items; else the field that holds them
	key   string // the field of an item that -q prints (fields joined by ":" for "name:version")
}

// listings are every listing of burst: TestOutputConventions fails on a
// command whose help offers -o wide that is not here.
var listings = []listing{
	{[]string{"jobs"}, "", "id"},
	{[]string{"machine", "list"}, "", "id"},
	{[]string{"cluster", "list"}, "", "name"},
	{[]string{"project", "list"}, "", "name"},
	{[]string{"user", "list"}, "", "name"},
	{[]string{"join-token", "list"}, "", "id"},
	{[]string{"storage", "ls"}, "blobs", "digest"},
	{[]string{"types"}, "", "name"},
	{[]string{"types", "--tiers"}, "", "name"},
	{[]string{"cost"}, "lines", "key"},
	{[]string{"cost", "--by", "project"}, "lines", "key"},
	{[]string{"events", "--project", "mars"}, "", "id"},
	{[]string{"stack", "list"}, "", "name:version"},
	{[]string{"cache", "ls"}, "", "key"},
	{[]string{"cache", "stats"}, "", "project"},
}

// TestOutputConventions runs every listing with -o json, -o yaml, -o wide,
// --no-headers and -q against a server with a job, projects, clusters, a
// machine, users, a join token, a blob and events, and checks each form:
// json and yaml parse to the same items, wide has the table's columns and
// more, --no-headers is one line per item and -q each item's key, one a
// line. Bad combinations are one line naming the fix. The command tree's
// help is walked: a listing with -o wide that is not in the table, or a
// list command without the conventions, fails.
func TestOutputConventions(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	h := l.h
	h.mustRun("wait", idArg(h.submit("--", "true")))
	if r := h.run("wait", idArg(h.submit("--project", "mars", "--", "sh", "-c", "exit 3"))); r.code != 3 {
		t.Fatalf("a job that exits 3: want wait to exit 3:\n%s", r)
	}
	h.mustRun("cluster", "create", "work", "--provider", "joined", "--project", "mars")
	h.mustRun("join-token", "create", "--cluster", "work")
	writeFile(t, filepath.Join(h.dir, "data.csv"), "a,b\n1,2\n", 0o644)
	h.mustRun("storage", "put", "data.csv", "--project", "mars")
	if err := os.MkdirAll(filepath.Join(h.dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.dir, "rootfs", "hello"), "hi\n", 0o644)
	h.mustRun("stack", "create", "tiny", "--from-dir", filepath.Join(h.dir, "rootfs"))
	out := filepath.Join(h.dir, "out")
	h.mustRun("run", "--cache", "--", "sh", "-c", "echo cached > "+out) // a cache entry (unstaged: --cache asked)

	for _, ls := range listings {
		name := strings.Join(ls.args, " ")
		run := func(more ...string) result {
			t.Helper()
			return h.mustRun(append(slices.Clone(ls.args), more...)...)
		}
		keys := jsonKeys(t, name, run("-o", "json").stdout, ls)
		var fromYAML any
		if err := yaml.Unmarshal([]byte(run("-o", "yaml").stdout), &fromYAML); err != nil {
			t.Errorf("%s -o yaml does not parse: %v", name, err)
			continue
		}
		b, err := json.Marshal(fromYAML)
		if err != nil {
			t.Errorf("%s -o yaml: %v", name, err)
			continue
		}
		if yk := jsonKeys(t, name+" (yaml)", string(b), ls); !slices.Equal(yk, keys) {
			t.Errorf("%s: -o yaml has the items %q, -o json %q", name, yk, keys)
		}

		table := lines(run().stdout)
		wide := lines(run("-o", "wide").stdout)
		if len(table) == 0 || len(wide) == 0 {
			t.Errorf("%s: no table (%q) or wide (%q)", name, table, wide)
			continue
		}
		th, wh := strings.Fields(table[0]), strings.Fields(wide[0])
		if len(wh) < len(th) || !slices.Equal(wh[:len(th)], th) {
			t.Errorf("%s: -o wide's header %q does not start with the table's %q", name, wh, th)
		}
		for _, form := range [][]string{{"--no-headers"}, {"--no-headers", "-o", "wide"}} {
			rows := lines(run(form...).stdout)
			if len(rows) != len(keys) {
				t.Errorf("%s %s: %d lines for %d items:\n%s", name, strings.Join(form, " "), len(rows), len(keys), strings.Join(rows, "\n"))
			}
			for _, r := range rows {
				if r == table[0] || r == wide[0] {
					t.Errorf("%s %s: the header is there: %q", name, strings.Join(form, " "), r)
				}
			}
		}
		if q := lines(run("-q").stdout); !slices.Equal(q, keys) {
			t.Errorf("%s -q: %q, want the items' %s: %q", name, q, ls.key, keys)
		}
		for _, bad := range [][]string{{"-q", "-o", "json"}, {"--no-headers", "-o", "yaml"}, {"-o", "xml"}} {
			r := h.run(append(slices.Clone(ls.args), bad...)...)
			if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "-o") {
				t.Errorf("%s %s: want exit 2 and one line naming the fix:\n%s", name, strings.Join(bad, " "), r)
			}
		}
	}
	// The listings must not all be empty, or the checks above prove little.
	for _, must := range [][]string{{"jobs"}, {"machine", "list"}, {"storage", "ls"}, {"join-token", "list"}, {"events", "--project", "mars"}} {
		if len(lines(h.mustRun(append(must, "-q")...).stdout)) == 0 {
			t.Errorf("burst %s -q lists nothing: the test's setup made none", strings.Join(must, " "))
		}
	}

	// The command tree: every listing offers all the conventions and is
	// in the table above; every -o offers json and yaml.
	inTable := map[string]bool{}
	for _, ls := range listings {
		inTable[ls.args[0]+" "+strings.Join(slices.DeleteFunc(slices.Clone(ls.args[1:]), func(a string) bool { return strings.HasPrefix(a, "-") || a == "mars" || a == "project" }), " ")] = true
	}
	n := 0
	for _, path := range commandTree(t, h, nil) {
		help := h.mustRun(append(path, "--help")...).stdout
		o := regexp.MustCompile(`(?m)^\s+-o, --output string\s+output format: (.*)$`).FindStringSubmatch(help)
		if o == nil {
			continue
		}
		n++
		name := strings.Join(path, " ")
		if !strings.Contains(o[1], "json") || !strings.Contains(o[1], "yaml") {
			t.Errorf("burst %s: -o offers %q: every -o has json and yaml", name, o[1])
		}
		isList := path[len(path)-1] == "list" || path[len(path)-1] == "ls"
		if strings.Contains(o[1], "wide") || isList {
			if !strings.Contains(o[1], "wide") || !strings.Contains(help, "--no-headers") || !strings.Contains(help, "-q, --quiet") {
				t.Errorf("burst %s is a listing without -o wide, --no-headers and -q:\n%s", name, help)
			}
			if !inTable[path[0]+" "+strings.Join(path[1:], " ")] {
				t.Errorf("burst %s is a listing that TestOutputConventions does not run: add it to listings", name)
			}
		}
	}
	if n < 20 {
		t.Errorf("the help walk found %d commands with -o: it misses commands", n)
	}
}

// jsonKeys are the keys of the items of a listing's JSON form, as -q
// prints them.
func jsonKeys(t *testing.T, name, text string, ls listing) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s -o json does not parse: %v\n%s", name, err, text)
	}
	if ls.items != "" {
		obj, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s -o json: want an object with %q, got %s", name, ls.items, text)
		}
		v = obj[ls.items]
	}
	items, ok := v.([]any)
	if !ok {
		t.Fatalf("%s -o json: want an array of items, got %s", name, text)
	}
	keys := []string{}
	for _, it := range items {
		// A key of several fields ("name:version") is their values so joined.
		var parts []string
		for _, f := range strings.Split(ls.key, ":") {
			k, ok := it.(map[string]any)[f]
			if !ok {
				t.Fatalf("%s -o json: an item without %q: %v", name, f, it)
			}
			parts = append(parts, fmt.Sprint(k))
		}
		keys = append(keys, strings.Join(parts, ":"))
	}
	return keys
}

// lines are the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

var helpCommand = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\s{2,}\S`)

// commandTree is every command path under path, found in the help's
// command lists.
func commandTree(t *testing.T, h *harness, path []string) [][]string {
	t.Helper()
	help := h.mustRun(append(slices.Clone(path), "--help")...).stdout
	var out [][]string
	inList := false
	for _, l := range strings.Split(help, "\n") {
		switch {
		case l == "Available Commands:" || (strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") && l != "Usage:" && l != "Examples:" && l != "Flags:" && l != "Global Flags:" && l != "Aliases:"):
			inList = true
			continue
		case l == "" || !strings.HasPrefix(l, "  "):
			inList = inList && l == ""
			continue
		}
		if m := helpCommand.FindStringSubmatch(l); inList && m != nil && m[1] != "help" && m[1] != "completion" {
			sub := append(slices.Clone(path), m[1])
			out = append(out, sub)
			out = append(out, commandTree(t, h, sub)...)
		}
	}
	return out
}
