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
		name string
		c    Counts
		src  int
		want bool
	}{
		{"empty", Counts{}, 0, true},
		{"below every cap", Counts{Open: 9, Pending: 3}, 1, true},
		{"all connections", Counts{Open: 10, Pending: 0}, 0, false},
		{"pending cap", Counts{Open: 5, Pending: 4}, 0, false},
		{"per source", Counts{Open: 5, Pending: 2}, 2, false},
	} {
		if got := Admit(lim, c.c, c.src); got != c.want {
			t.Errorf("%s: Admit(%+v, %d) = %v, want %v", c.name, c.c, c.src, got, c.want)
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

func TestCapsPerSourceAndPending(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 10, MaxPending: 4, MaxPendingPerSource: 2})
	if err != nil {
		t.Fatal(err)
	}
	acc := held(t, l)
	addr := l.Addr().String()
	a1, a2 := dial(t, addr, "127.0.0.1"), dial(t, addr, "127.0.0.1")
	<-acc
	<-acc
	refused(t, addr, "127.0.0.1") // a third from the same address
	waitFor(t, "one refusal", func() bool { return l.Counts().Refused == 1 })
	// Another address still gets in, up to the pending cap.
	dial(t, addr, "127.0.0.2")
	dial(t, addr, "127.0.0.2")
	<-acc
	<-acc
	if c := l.Counts(); c.Pending != 4 || c.Open != 4 {
		t.Fatalf("counts %+v, want 4 pending of 4 open", c)
	}
	refused(t, addr, "127.0.0.3") // the pending cap
	_, _ = a1, a2
}

func TestAuthenticatedAndClosedFreeTheirPlace(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 3, MaxPending: 1, MaxPendingPerSource: 1})
	if err != nil {
		t.Fatal(err)
	}
	acc := held(t, l)
	addr := l.Addr().String()
	dial(t, addr, "")
	s1 := <-acc
	refused(t, addr, "") // one pending already
	l.Authenticated(s1)
	dial(t, addr, "")
	s2 := <-acc
	if c := l.Counts(); c.Open != 2 || c.Pending != 1 {
		t.Fatalf("counts %+v, want 2 open, 1 pending", c)
	}
	// Closed by its user without Forget: the sweeper notices it.
	s2.Close()
	waitFor(t, "the closed connection to be forgotten", func() bool { return l.Counts().Open == 1 })
	dial(t, addr, "")
	s3 := <-acc
	l.Authenticated(s3)
	dial(t, addr, "")
	<-acc
	// Three open: the cap on all connections refuses a fourth, though
	// only one is pending... and its place is taken.
	if c := l.Counts(); c.Open != 3 {
		t.Fatalf("counts %+v, want 3 open", c)
	}
	refused(t, addr, "127.0.0.2")
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
