package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst/internal/backoff"
	"github.com/burst-sh/burst/internal/stallconn"
)

// Transfers to and from the store's presigned URLs (an S3 store: the
// bytes do not pass through the server). The URL carries a signature, a
// credential for minutes: it is never printed (redactURL). A store that
// stops answering is given up on in bounded time: its connection within
// directDial, its answer within directAnswer of the request's end, a
// download that moves no byte for directIdle (idleBody), and an upload
// whose bytes it takes none of for directIdle (stallconn: it took the
// connection, then reads nothing), which is then sent again.

const (
	directDial   = 30 * time.Second
	directAnswer = 2 * time.Minute
	// directTries bounds the sends of one presigned PUT: a PUT of the
	// same bytes to the same key is idempotent, so a cut one is sent
	// again (the store kept nothing of it).
	directTries = 3
)

// directIdle: see above. A variable so that tests can make it short.
var directIdle = 2 * time.Minute

// directHTTP moves bytes to and from the store's presigned URLs: never
// through the server's connection (a unix socket), never with its token.
var directHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DisableCompression:    true,
	DialContext:           dialDirect,
	TLSHandshakeTimeout:   directDial,
	ResponseHeaderTimeout: directAnswer,
}}

// directDialer dials the store; a value and a function, not a method
// value, so that making directHTTP allocates nothing more at every
// command's start (cmd/burst's TestOwnInitIsSmall).
var directDialer = net.Dialer{Timeout: directDial, KeepAlive: 30 * time.Second}

func dialDirect(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := directDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return stallconn.Wrap(c, directIdle), nil
}

// redactURL is err with the URL of a request it names cut to its scheme,
// host and path: a presigned URL's query is its signature.
func redactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	cp := *ue
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		cp.URL = u.String()
	} else {
		cp.URL = "(the store's URL)"
	}
	return &cp
}

// idleBody is a download's body whose request is cancelled (cancel, its
// context's), failing its read, when no byte came for idle: a store that
// falls silent mid-answer does not hold its reader for good. (Closing the
// body would not do: net/http's Close waits for the Read it would end.)
type idleBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	idle   time.Duration
	timer  *time.Timer
	mu     sync.Mutex
	fired  bool
}

func newIdleBody(rc io.ReadCloser, cancel context.CancelFunc, idle time.Duration) *idleBody {
	b := &idleBody{rc: rc, cancel: cancel, idle: idle}
	b.timer = time.AfterFunc(idle, func() {
		b.mu.Lock()
		b.fired = true
		b.mu.Unlock()
		cancel()
	})
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		b.mu.Lock()
		fired := b.fired
		b.mu.Unlock()
		if fired {
			return n, fmt.Errorf("the blob store sent nothing for %s: it may be down; run it again", b.idle)
		}
		return n, redactURL(err)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}

// putDirect sends the file's bytes to the offer's presigned PUT, with its
// headers: again when the connection breaks (at most directTries sends, a
// moment apart), never printing the URL.
func putDirect(ctx context.Context, path string, ref BlobRef, offer BlobOffer) error {
	var last error
	wait := backoff.New(time.Second, 4*time.Second)
	for try := 1; try <= directTries; try++ {
		if try > 1 {
			if err := wait.Wait(ctx); err != nil {
				return err
			}
		}
		status, msg, err := putDirectOnce(ctx, path, ref, offer)
		switch {
		case err == nil && status < 300:
			return nil
		case err == nil:
			return fmt.Errorf("the blob store refused the upload: %s: %s", status0(status), msg)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		last = err
	}
	return fmt.Errorf("PUT to the blob store, %d times: %w: check that the store runs, then run it again (it kept nothing of these)", directTries, last)
}

func status0(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }

// putDirectOnce sends the file once: the answer's status and its first
// bytes, or the transport's error (its URL cut).
func putDirectOnce(ctx context.Context, path string, ref BlobRef, offer BlobOffer) (int, string, error) {
	body, err := os.Open(path) // the file itself: over plain TCP sent by sendfile(2)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", offer.URL, body)
	if err != nil {
		body.Close()
		return 0, "", redactURL(err)
	}
	req.ContentLength = ref.Size
	if ref.Size == 0 {
		// An empty file: with a body, 0 means "unknown" to net/http,
		// which would send it chunked, without the Content-Length
		// that S3 requires of a PUT (411 MissingContentLength).
		body.Close()
		req.Body = http.NoBody
	}
	for k, v := range offer.Header {
		req.Header.Set(k, v)
	}
	resp, err := directHTTP.Do(req)
	if err != nil {
		return 0, "", redactURL(err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
