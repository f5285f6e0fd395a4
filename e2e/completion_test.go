package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// complete runs cobra's completion protocol as the shell script does,
// `burst __complete ARGS... WORD`, and returns the candidates (the text
// before each tab) and the directive line (":4" is "no file names").
func complete(t *testing.T, run func(...string) result, args ...string) (cands []string, directive string) {
	t.Helper()
	r := run(append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete should always exit 0:\n%s", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	directive = lines[len(lines)-1]
	if !strings.HasPrefix(directive, ":") {
		t.Fatalf("__complete %v: no directive line last:\n%s", args, r)
	}
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		cands = append(cands, v)
	}
	return cands, directive
}

// quietList is what a listing's -q prints: one id or name a line.
func quietList(t *testing.T, run func(...string) result, args ...string) []string {
	t.Helper()
	r := run(append(args, "-q")...)
	if r.code != 0 {
		t.Fatalf("expected success:\n%s", r)
	}
	return strings.Fields(r.stdout)
}

// TestCompletion: `burst completion bash` loads in bash, and TAB (cobra's
// __complete) offers what the server has: job ids, project, cluster,
// machine and user names, tiers, -o values: the same ids and names the
// listings' -q print, for the caller's own role. With no server it starts
// none and offers nothing; with a server that never answers it gives up
// within its 2 s, never hanging the shell.
func TestCompletion(t *testing.T) {
	// No server: nothing offered, and nothing started.
	{
		h := newHarness(t)
		start := time.Now()
		cands, dir := complete(t, h.run, "show", "")
		if len(cands) != 0 || dir != ":4" {
			t.Errorf("with no server: candidates %q directive %s, want none and :4", cands, dir)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("with no server the completion took %s", d)
		}
		if _, err := os.Stat(filepath.Join(h.home, "server.log")); err == nil || len(taggedPIDs(h.tag)) > 0 {
			t.Errorf("a completion started a server (server.log: %v, processes %v)", err, taggedPIDs(h.tag))
		}
	}

	// A server that accepts and never answers: the completion gives up.
	{
		h := newHarness(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() { // holds each connection open, saying nothing, until the listener closes
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		}()
		h.setEnv("BURST_SERVER", "http://"+ln.Addr().String())
		h.setEnv("BURST_TOKEN", "burst_u_nothing")
		start := time.Now()
		cands, dir := complete(t, h.run, "jobs", "--project", "")
		if d := time.Since(start); d > 6*time.Second || len(cands) != 0 || dir != ":4" {
			t.Errorf("against a silent server: %q %s after %s; want none, :4, within the 2 s timeout", cands, dir, d)
		}
	}

	l := newLab(t)
	h := l.h
	id := h.submit("--", "true")
	h.mustRun("wait", idArg(id))
	h.mustRun("cluster", "create", "work", "--provider", "joined", "--project", "mars")

	for _, tc := range []struct {
		args []string // the words before the one completed
		list []string // the listing whose -q must equal the candidates
		want []string // candidates that must be there
	}{
		{[]string{"show"}, []string{"jobs"}, []string{idArg(id)}},
		{[]string{"logs"}, []string{"jobs"}, []string{idArg(id)}},
		{[]string{"cancel", "999999"}, []string{"jobs"}, []string{idArg(id)}},
		{[]string{"jobs", "--project"}, []string{"project", "list"}, []string{"default", "mars"}},
		{[]string{"budget"}, []string{"project", "list"}, []string{"mars"}},
		{[]string{"run", "--on"}, []string{"cluster", "list"}, []string{"local", "work"}},
		{[]string{"machine", "list", "--cluster"}, []string{"cluster", "list"}, []string{"local", "work"}},
		{[]string{"machine", "stop"}, []string{"machine", "list"}, []string{"local-1"}},
		{[]string{"user", "rm"}, []string{"user", "list"}, []string{"alice", "nora"}},
		{[]string{"project", "grant", "mars"}, []string{"user", "list"}, []string{"alice"}},
		{[]string{"storage", "ls", "--tier"}, []string{"types", "--tiers"}, []string{"ssd", "cold_hdd"}},
		{[]string{"storage", "ls", "--job"}, []string{"jobs"}, []string{idArg(id)}},
		{[]string{"map", "--resume"}, []string{"jobs"}, []string{idArg(id)}},
		{[]string{"cluster", "create", "c", "--type"}, []string{"types"}, []string{"c5.large"}},
		{[]string{"jobs", "--state"}, nil, []string{"queued", "failed"}},
		{[]string{"jobs", "-o"}, nil, []string{"table", "wide", "json", "yaml"}},
		{[]string{"show", "-o"}, nil, []string{"table", "json", "yaml"}},
	} {
		cands, dir := complete(t, h.run, append(tc.args, "")...)
		if dir != ":4" {
			t.Errorf("%v: directive %s, want :4 (no file names)", tc.args, dir)
		}
		for _, w := range tc.want {
			if !slices.Contains(cands, w) {
				t.Errorf("%v <TAB>: %q lacks %s", tc.args, cands, w)
			}
		}
		if tc.list != nil {
			if q := quietList(t, h.run, tc.list...); !slices.Equal(sorted(cands), sorted(q)) {
				t.Errorf("%v <TAB>: %q, but burst %s -q lists %q", tc.args, cands, strings.Join(tc.list, " "), q)
			}
		}
	}
	// What was typed narrows the candidates.
	if cands, _ := complete(t, h.run, "jobs", "--project", "ma"); !slices.Equal(cands, []string{"mars"}) {
		t.Errorf("--project ma<TAB>: %q, want [mars]", cands)
	}
	if cands, _ := complete(t, h.run, "show", idArg(id), ""); len(cands) != 0 {
		t.Errorf("show takes one job: a second <TAB> offered %q", cands)
	}

	// A user sees what their role lets them: nora (no role) is offered the
	// projects her own `project list` shows, never mars.
	nora := func(args ...string) result { return l.as("nora", args...) }
	cands, _ := complete(t, nora, "jobs", "--project", "")
	if slices.Contains(cands, "mars") || !slices.Equal(sorted(cands), sorted(quietList(t, nora, "project", "list"))) {
		t.Errorf("nora's --project <TAB>: %q; her project list -q: %q", cands, quietList(t, nora, "project", "list"))
	}
	alice := func(args ...string) result { return l.as("alice", args...) }
	if cands, _ := complete(t, alice, "jobs", "--project", ""); !slices.Contains(cands, "mars") {
		t.Errorf("alice (member of mars) --project <TAB>: %q lacks mars", cands)
	}

	// The scripts load.
	bash := exec.Command("bash", "-c", `source <("$BURST" completion bash) && complete -p burst`)
	bash.Env = append(os.Environ(), "BURST="+burstBin)
	out, err := bash.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "__start_burst burst") {
		t.Errorf("bash: source <(burst completion bash) && complete -p burst: %v\n%s", err, out)
	}
	// zsh: the script loads and defines its function; fish: it loads and
	// a completion through it (fish's complete -C) asks this server.
	for _, sh := range []struct{ name, script, want string }{
		{"zsh", `autoload -U compinit && compinit -u && source <(burst completion zsh) && whence -w _burst`, "_burst: function"},
		{"fish", `burst completion fish | source; and complete -C "burst jobs --project "`, "\nmars\n"},
	} {
		t.Run(sh.name, func(t *testing.T) {
			if _, err := exec.LookPath(sh.name); err != nil {
				if os.Getenv("BURST_CI") == "1" {
					t.Fatalf("%s is not installed and BURST_CI=1 asks that its completion script be loaded", sh.name)
				}
				t.Skipf("SKIPPED: %s is not installed: its completion script is not loaded here", sh.name)
			}
			c := exec.Command(sh.name, "-c", sh.script)
			c.Env = append(slices.Clone(h.env), "PATH="+filepath.Dir(burstBin)+":"+os.Getenv("PATH"))
			out, err := c.CombinedOutput()
			if err != nil || !strings.Contains("\n"+string(out), sh.want) {
				t.Errorf("%s: the completion script does not load or complete: %v\n%s", sh.name, err, out)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
