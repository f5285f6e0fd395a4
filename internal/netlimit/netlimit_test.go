package netlimit

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	lim := Limits{MaxConns: 10, MaxPending: 4, MaxPendingPerSource: 2}
	for _, c := range []struct {
		name    string
		c       Counts
		pending map[string]int
		src     string
		ok      bool
		evict   string
	}{
		{"empty", Counts{}, nil, "a", true, ""},
		{"below every cap", Counts{Open: 9, Pending: 3}, map[string]int{"a": 1, "b": 1, "c": 1}, "a", true, ""},
		{"its address at its cap: its oldest goes", Counts{Open: 3, Pending: 2}, map[string]int{"a": 2}, "a", true, "a"},
		{"pending cap: the busiest address's oldest goes", Counts{Open: 5, Pending: 4}, map[string]int{"a": 1, "b": 2, "c": 1}, "d", true, "b"},
		{"pending cap, a tie: the smallest address", Counts{Open: 5, Pending: 4}, map[string]int{"c": 2, "b": 2}, "d", true, "b"},
		{"all connections, some pending", Counts{Open: 10, Pending: 1}, map[string]int{"x": 1}, "a", true, "x"},
		{"all connections authenticated: refused", Counts{Open: 10}, nil, "a", false, ""},
	} {
		ok, evict := Admit(lim, c.c, c.pending, c.src)
		if ok != c.ok || evict != c.evict {
			t.Errorf("%s: Admit = %v, %q; want %v, %q", c.name, ok, evict, c.ok, c.evict)
		}
	}
}

func TestForFiles(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		want   Limits
	}{
		{512, Limits{MaxConns: 256, MaxPending: 64, MaxPendingPerSource: 16}},
		{20000, Limits{MaxConns: 10000, MaxPending: 1024, MaxPendingPerSource: 256}},
		{1 << 20, Limits{MaxConns: 16384, MaxPending: 1024, MaxPendingPerSource: 256}},
		{4, Limits{MaxConns: 8, MaxPending: 4, MaxPendingPerSource: 2}},
	} {
		if got := ForFiles(c.nofile); got != c.want {
			t.Errorf("ForFiles(%d) = %+v, want %+v", c.nofile, got, c.want)
		}
	}
}

// held accepts connections on l and keeps them open until the test ends.
func held(t *testing.T, l *Listener) <-chan net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1000)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		close(ch)
		for c := range ch {
			c.Close()
		}
	})
	return ch
}

func dial(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds, or fails the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refused checks that the listener closed a connection to addr from from
// at once: the dial or a read fails without waiting.
func refused(t *testing.T, addr, from string) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return // reset before connect returned
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("a refused connection delivered a byte")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection over the cap was kept open")
	}
}

// closedByPeer checks that the listener closed c (it reads EOF or a reset
// at once).
func closedByPeer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("an evicted connection delivered a byte")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection that should have been evicted was kept open")
	}
}

// open checks that c is still open: a short read times out.
func stillOpen(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("a connection within the caps was closed: %v", err)
	}
}

func TestCapsPerSourceAndPending(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 10, MaxPending: 4, MaxPendingPerSource: 2})
	if err != nil {
		t.Fatal(err)
	}
	acc := held(t, l)
	addr := l.Addr().String()
	a1 := dial(t, addr, "127.0.0.1")
	<-acc
	a2 := dial(t, addr, "127.0.0.1")
	<-acc
	// A third from the same address takes the place of its oldest.
	a3 := dial(t, addr, "127.0.0.1")
	<-acc
	closedByPeer(t, a1)
	stillOpen(t, a2)
	stillOpen(t, a3)
	// Another address gets in, up to the pending cap...
	b1 := dial(t, addr, "127.0.0.2")
	<-acc
	b2 := dial(t, addr, "127.0.0.2")
	<-acc
	if c := l.Counts(); c.Pending != 4 || c.Open != 4 || c.Refused != 1 {
		t.Fatalf("counts %+v, want 4 pending of 4 open, 1 refused", c)
	}
	// ...and past it a third address still does, in place of the oldest
	// of the busiest (127.0.0.1 and .2 hold 2 each: the smaller, .1).
	c1 := dial(t, addr, "127.0.0.3")
	<-acc
	closedByPeer(t, a2)
	for _, c := range []net.Conn{a3, b1, b2, c1} {
		stillOpen(t, c)
	}
}

// Authenticated connections are never evicted; with all of them
// authenticated and the cap on all connections reached, a newcomer is
// refused; a connection its user closed frees its place.
func TestAuthenticatedAndClosedFreeTheirPlace(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 2, MaxPending: 2, MaxPendingPerSource: 2})
	if err != nil {
		t.Fatal(err)
	}
	acc := held(t, l)
	addr := l.Addr().String()
	c1 := dial(t, addr, "")
	l.Authenticated(<-acc)
	c2 := dial(t, addr, "")
	s2 := <-acc
	l.Authenticated(s2)
	refused(t, addr, "127.0.0.2")
	stillOpen(t, c1)
	stillOpen(t, c2)
	// Closed by its user without Forget: the sweeper notices it.
	s2.Close()
	closedByPeer(t, c2)
	waitFor(t, "the closed connection to be forgotten", func() bool { return l.Counts().Open == 1 })
	c3 := dial(t, addr, "127.0.0.2")
	<-acc
	stillOpen(t, c3)
	if c := l.Counts(); c.Open != 2 || c.Pending != 1 || c.Refused != 1 {
		t.Fatalf("counts %+v, want 2 open, 1 pending, 1 refused", c)
	}
}

func TestSettle(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 5, MaxPending: 1, MaxPendingPerSource: 1, Settle: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acc := held(t, l)
	dial(t, l.Addr().String(), "")
	<-acc
	waitFor(t, "the open connection to settle", func() bool { return l.Counts().Pending == 0 })
	dial(t, l.Addr().String(), "")
	<-acc
	if c := l.Counts(); c.Open != 2 {
		t.Fatalf("counts %+v, want 2 open", c)
	}
}

// TestHTTPFloodKeepsTokenHolders floods an http.Server with connections
// that send nothing, and checks that a client with the token (on a
// connection it made before) and a new connection from another address
// are served throughout.
func TestHTTPFloodKeepsTokenHolders(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 64, MaxPending: 16, MaxPendingPerSource: 8})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	l.HTTP(srv, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer t" })
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	url := "http://" + l.Addr().String() + "/"
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	t.Cleanup(cl.CloseIdleConnections)
	get := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := cl.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the token holder's connection to be authenticated", func() bool { return l.Counts().Pending == 0 })
	// 200 silent connections from one address: 8 are held, the rest refused.
	for range 200 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			continue // reset before connect returned: refused too
		}
		defer c.Close()
	}
	waitFor(t, "192 refusals", func() bool { return l.Counts().Refused >= 192 })
	if c := l.Counts(); c.Pending > 8 || c.PerSource > 8 {
		t.Fatalf("counts %+v: the flood holds more than its address's cap", c)
	}
	for range 20 {
		if err := get(); err != nil {
			t.Fatalf("the token holder was refused during the flood: %v", err)
		}
	}
	resp, err := http.Get(url) // a new connection, another address than the flood's
	if err != nil {
		t.Fatalf("a new client was refused during the flood: %v", err)
	}
	resp.Body.Close()
}
