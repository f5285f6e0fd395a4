package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A followed log is checked by the policy when it opens; the follower
// asks again on every poll (internal/api: stillReads), so that a user
// whose role is taken away (`burst project revoke`), who is removed
// (`burst user rm`), or whose credential is revoked (`burst user token
// revoke`) stops receiving lines within a poll, on the API's stream and
// on the dashboard's, instead of until the job ends (docs/security-users.md).
func TestFollowEndsWhenAccessEnds(t *testing.T) {
	l := newLab(t)
	h := l.h
	job := detachedID(t, l.as("alice", "run", "--project", "mars", "-d", "--",
		"sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done"))
	jid := idArg(job)

	cases := []struct {
		name, who, dashboard string
		take                 []string // the admin's command that takes the access away
	}{
		{"role taken away", "vic", "", []string{"project", "revoke", "mars", "vic"}},
		{"user removed", "bob", "", []string{"user", "rm", "bob"}},
		{"credential revoked, dashboard", "alice", "dashboard", []string{"user", "token", "revoke", "alice"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f *follower
			if c.dashboard != "" {
				f = followUI(t, l.signIn(t, c.who), l.addr+"/ui/jobs/"+jid+"/log?task=0")
			} else {
				f = followAPI(t, l.addr+"/v1/jobs/"+jid+"/logs?follow=1", l.tokens[c.who])
			}
			// The stream delivers while the access holds.
			for n := 0; n < 2; n++ {
				select {
				case line := <-f.lines:
					if !strings.HasPrefix(line, "tick ") {
						t.Fatalf("%s's stream: %q, want tick lines", c.who, line)
					}
				case <-f.done:
					t.Fatalf("%s's stream ended before the access was taken away: %q", c.who, f.err)
				case <-time.After(30 * time.Second):
					t.Fatalf("%s's stream delivered nothing in 30 s", c.who)
				}
			}
			h.mustRun(c.take...)
			took := time.Now()
			after := 0
			for open := true; open; {
				select {
				case <-f.lines:
					after++
				case <-f.done:
					open = false
				case <-time.After(20 * time.Second):
					t.Fatalf("%s's stream still open 20 s after `burst %s` (%d lines since): it must end within a poll",
						c.who, strings.Join(c.take, " "), after)
				}
			}
			took2 := time.Since(took)
			t.Logf("%s: the stream ended %s after `burst %s`, %d lines later", c.name, took2.Round(time.Millisecond), strings.Join(c.take, " "), after)
			if !strings.Contains(f.err, "your access ended") {
				t.Errorf("%s's stream ended without saying why: %q", c.who, f.err)
			}
			// A second of lines at most (a poll is 100 ms; the CPUs are shared).
			if after > 10 {
				t.Errorf("%s received %d lines after the access was taken away, want at most a poll's", c.who, after)
			}
		})
	}
	// The dashboard's stream of changes (/ui/events) ends too when the
	// credential its session was made with is revoked.
	events := openUIEvents(t, l.signIn(t, "nora"), l.addr+"/ui/events")
	h.mustRun("user", "token", "revoke", "nora")
	select {
	case <-events:
	case <-time.After(20 * time.Second):
		t.Errorf("nora's /ui/events stream still open 20 s after her credential was revoked")
	}
	// The job itself runs on: only the followers lost their access.
	if st := h.show(job).State; terminal(st) {
		t.Errorf("alice's job is %s, want it still running", st)
	}
	recordFault(t, faultRow{Fault: "a follower's access taken away mid-stream (role, user, credential)", Tasks: 1})
	h.mustRun("cancel", jid)
}

// follower reads a followed log in the background: its lines as they
// come, and why it ended (the X-Burst-Error trailer, or the dashboard's
// end event's error).
type follower struct {
	lines chan string
	done  chan struct{}
	err   string
}

// followAPI follows url with a bearer secret.
func followAPI(t *testing.T, url, secret string) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	f := &follower{lines: make(chan string, 1<<16), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		f.err = resp.Trailer.Get("X-Burst-Error")
	}()
	return f
}

// followUI follows a dashboard log stream (server-sent events) with a
// signed-in browser's client.
func followUI(t *testing.T, c *http.Client, url string) *follower {
	t.Helper()
	resp := openSSE(t, c, url)
	f := &follower{lines: make(chan string, 1<<16), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		event, part := "", ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "log":
				var s string
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &s)
				part += s
				for {
					i := strings.IndexByte(part, '\n')
					if i < 0 {
						break
					}
					f.lines <- part[:i]
					part = part[i+1:]
				}
			case strings.HasPrefix(line, "data: ") && event == "end":
				var e struct{ Error string }
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e)
				f.err = e.Error
				return
			}
		}
	}()
	return f
}

// openSSE opens a dashboard stream (server-sent events) at url with a
// signed-in browser's client; it is closed when the test ends.
func openSSE(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return resp
}

// openUIEvents opens the dashboard's stream of changes with a signed-in
// browser's client; the channel is closed when the server ends it.
func openUIEvents(t *testing.T, c *http.Client, url string) <-chan struct{} {
	t.Helper()
	resp := openSSE(t, c, url)
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "retry:") {
		t.Fatalf("GET %s: %q, want the stream's retry line", url, sc.Text())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		for sc.Scan() {
		}
	}()
	return done
}
