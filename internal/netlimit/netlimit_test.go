package netlimit

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	lim := Limits{MaxConns: 10, MaxPending: 4, MaxPendingPerSource: 2}
	for _, c := range []struct {
		name       string
		c          Counts
		fromSource int
		want       Verdict
	}{
		{"empty", Counts{}, 0, Take},
		{"below every cap", Counts{Open: 9, Pending: 3}, 1, Take},
		{"its source at its cap: its oldest goes", Counts{Open: 3, Pending: 2}, 2, TakeOwn},
		{"pending cap: the busiest source's oldest goes", Counts{Open: 5, Pending: 4}, 0, TakeBusiest},
		{"all connections, some pending", Counts{Open: 10, Pending: 1}, 0, TakeBusiest},
		{"all connections authenticated: refused", Counts{Open: 10}, 0, Refuse},
	} {
		if got := Admit(lim, c.c, c.fromSource); got != c.want {
			t.Errorf("%s: Admit = %v, want %v", c.name, got, c.want)
		}
	}
}

// Among the busiest sources, the one whose oldest pending connection came
// first makes room: never the one whose address sorts first.
func TestBusiest(t *testing.T) {
	for _, c := range []struct {
		name string
		held []Held
		want string
	}{
		{"none", nil, ""},
		{"the most", []Held{{"a", 1, 1}, {"b", 3, 5}, {"c", 2, 2}}, "b"},
		{"a tie: the oldest", []Held{{"127.0.0.1", 1, 9}, {"127.0.0.9", 1, 3}, {"10.0.0.1", 1, 4}}, "127.0.0.9"},
	} {
		if got := Busiest(slices.Values(c.held)); got != c.want {
			t.Errorf("%s: Busiest = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSource(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"127.0.0.1:80", "127.0.0.1"},
		{"127.4.5.6:80", "127.4.5.6"},
		{"[::1]:80", "::/64"},
		{"[::ffff:127.0.0.2]:80", "127.0.0.2"},
		{"10.1.2.3:80", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:80", "10.1.2.3"},
		{"[2001:db8:1:2:aaaa::1]:80", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::7]:80", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:80", "2001:db8:1:3::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Source(a); got != c.want {
			t.Errorf("Source(%s) = %q, want %q", c.addr, got, c.want)
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
	// Generous: a flood of 1,100 dialling goroutines under -race on a busy
	// 2-core machine took over 5 s to be turned away once (CI).
	deadline := time.Now().Add(30 * time.Second)
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
	// of the busiest (127.0.0.1 and .2 hold 2 each: .1's a2 came first).
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
	srv.Handler = tokenCheck(srv.Handler)
	l.HTTP(srv)
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

// tokenCheck marks the connection of each request that holds the token
// "t" as authenticated, as the API's auth does.
func tokenCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer t" {
			Authenticate(r.Context())
		}
		next.ServeHTTP(w, r)
	})
}

// serveHTTP serves "ok" on l, with the token check, until the test ends.
func serveHTTP(t *testing.T, l *Listener) string {
	t.Helper()
	srv := &http.Server{Handler: tokenCheck(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})), ReadHeaderTimeout: 5 * time.Second}
	l.HTTP(srv)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return "http://" + l.Addr().String() + "/"
}

// TestManyAddressesKeepTokenHolderAt127001: a flood of one connection per
// address from 1,100 loopback addresses, each dialling again 20 ms after its
// connection is closed, while a client with the token makes 20 requests
// from 127.0.0.1, each on a new connection. Ties among the busiest sources
// used to go to the address that sorts first, 127.0.0.1: the client's
// connection was evicted by the flood's next one, before it could show its
// token (17 of 19 requests failed). Every request must succeed.
func TestManyAddressesKeepTokenHolderAt127001(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", ForFiles(8192)) // 1,024 pending, 256 from one source
	if err != nil {
		t.Fatal(err)
	}
	url := serveHTTP(t, l)
	ctx, stop := context.WithCancel(context.Background())
	var flood sync.WaitGroup
	var dials atomic.Int64
	for i := range 1100 {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1+byte(i/250), 1+byte(i%250))}}
		flood.Go(func() {
			buf := make([]byte, 1)
			for ctx.Err() == nil && dials.Load() < 100000 {
				c, err := d.DialContext(ctx, "tcp", l.Addr().String())
				if err == nil {
					dials.Add(1)
					stopRead := context.AfterFunc(ctx, func() { c.Close() })
					c.Read(buf) // until the listener closes it
					stopRead()
					c.Close()
				}
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	t.Cleanup(func() { stop(); flood.Wait() })
	waitFor(t, "the flood to fill the pending places and be turned away", func() bool {
		return l.Counts().Refused >= 1100
	})
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}).DialContext}}
	failed := 0
	for range 20 {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := cl.Do(req)
		if err != nil {
			failed++
			t.Logf("a request of the token holder failed: %v", err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	before := l.Counts().Refused
	waitFor(t, "the flood to go on", func() bool { return l.Counts().Refused > before })
	if failed > 0 {
		t.Fatalf("%d of 20 requests of the token holder at 127.0.0.1 failed during the flood (%+v)", failed, l.Counts())
	}
}

// A connection its user closes for failing its check is counted; the
// owner hears of refusals and failures at once, then at most once a
// period, with the counts since the last report: a flood is a line a
// period in its log, not a line a connection.
func TestReport(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", Limits{MaxConns: 100, MaxPending: 2, MaxPendingPerSource: 2})
	if err != nil {
		t.Fatal(err)
	}
	type report struct {
		at              time.Time
		refused, failed int64
	}
	reports := make(chan report, 100)
	const every = 300 * time.Millisecond
	l.Report(every, func(refused, failed int64) { reports <- report{time.Now(), refused, failed} })
	acc := held(t, l)
	addr := l.Addr().String()
	// Two held, then 30 more: each takes the place of the oldest.
	for range 32 {
		dial(t, addr, "")
		l.Failed(<-acc)
	}
	first := <-reports
	if first.refused+first.failed == 0 {
		t.Fatalf("first report %+v: nothing in it", first)
	}
	var total report
	total.refused, total.failed = first.refused, first.failed
	deadline := time.After(5 * time.Second)
	for total.failed < 32 {
		select {
		case r := <-reports:
			if gap := r.at.Sub(first.at); gap < every {
				t.Fatalf("two reports %v apart, want at least %v", gap, every)
			}
			first = r
			total.refused += r.refused
			total.failed += r.failed
		case <-deadline:
			t.Fatalf("reports add up to %+v, want 32 failed (%+v)", total, l.Counts())
		}
	}
	if c := l.Counts(); total.failed != c.Failed || total.refused != c.Refused || c.Failed != 32 {
		t.Fatalf("reports add up to %d refused, %d failed; counts %+v, want 32 failed", total.refused, total.failed, c)
	}
}
