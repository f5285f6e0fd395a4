package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Unpacked stacks are evicted least recently used once their trees pass
// the agent's --cache-size (docs/stacks.md, "Eviction of unpacked
// stacks"): an agent started by hand with room for two busybox trees runs
// tasks in s1, s2, s1, s3, in that order; each task sees its own stack,
// and afterwards the home's cache holds s1's and s3's trees and not s2's,
// the least recently used when s3 needed room.
func TestStackEvictedOnAHandStartedAgent(t *testing.T) {
	t.Parallel()
	bb := needStackTools(t)
	h := newHarness(t)
	digests := map[string]string{}
	var most int64 // the largest of the three trees: the cache gets room for two and a half
	for _, n := range []string{"s1", "s2", "s3"} {
		r := h.mustRun("stack", "create", n, "--from-dir", testRootfs(t, bb, n+"-mark"), "-o", "json")
		digests[n] = strings.TrimPrefix(between(r.stdout, `"digest": "`, `"`), "sha256:")
		size, err := strconv.ParseInt(strings.TrimSpace(between(r.stdout, `"size": `, ",")), 10, 64)
		if err != nil || size <= 0 {
			t.Fatalf("stack create -o json: no size (%v):\n%s", err, r.stdout)
		}
		most = max(most, size)
	}
	cacheSize := strconv.FormatInt((most*5/2+1023)>>10, 10) + "K"
	logPath := filepath.Join(h.root, "ev-1.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := h.command("agent", "--server", "unix://"+filepath.Join(h.home, "burst.sock"), "--token-file", filepath.Join(h.home, "token"),
		"--machine", "ev-1", "--cluster", "ev", "--cpus", "1", "--cache-size", cacheSize)
	c.Stdout, c.Stderr = f, f
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	waitFor(t, "agent ev-1 to register", 30*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "registered")
	})
	for _, n := range []string{"s1", "s2", "s1", "s3"} {
		r := h.mustRun("run", "--on", "ev", "--stack", n+":1", "--", "cat", "/etc/stackmark")
		if r.stdout != n+"-mark\n" {
			t.Fatalf("a task in stack %s saw %q, want %q", n, r.stdout, n+"-mark\n")
		}
	}
	stacks := filepath.Join(h.home, "cache", "stacks")
	held := func(n string) bool {
		_, err := os.Stat(filepath.Join(stacks, digests[n], "rootfs"))
		return err == nil
	}
	if !held("s1") || held("s2") || !held("s3") {
		ents, _ := os.ReadDir(stacks)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("after s1, s2, s1, s3 with room for two trees: s1 %v, s2 %v, s3 %v; want s1 and s3 kept, s2 evicted (digests %v; %s holds %v)",
			held("s1"), held("s2"), held("s3"), digests, stacks, names)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "evicted an unpacked stack") || !strings.Contains(string(b), digests["s2"]) {
		t.Errorf("the agent's log does not say it evicted s2's tree (%s):\n%s", digests["s2"], b)
	}
}
