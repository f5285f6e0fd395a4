package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst/internal/blob/fdpass"
	"github.com/burst-sh/burst/internal/blob/hashpipe"
	"github.com/burst-sh/burst/internal/blob/writeback"
)

// On the server's own host (the unix socket) a blob moves file to file:
// an upload passes the open file to the server, which has the kernel copy
// it and hashes what it wrote, and a read gets the store's file and copies
// it the same way (hashpipe.CopyFile; fdpass; docs/storage.md, "On the
// same host"). Nothing
// crosses the socket but the request, the descriptor and the answer. A
// server that does not answer the upgrade gets the bytes as before.

// filesPassed and filesTaken count the uploads that passed their file and
// the reads that took the store's (tests).
var filesPassed, filesTaken atomic.Int64

// fdDial bounds connecting to the socket for an upgraded request.
const fdDial = 10 * time.Second

// upgradeFD sends method path upgraded to burst-fd on a connection of its
// own to the unix socket. It returns the connection and the answer's
// reader when the server switched (101), else the answer (its body read
// and the connection closed: the caller asks again without the upgrade,
// or takes the error). The connection is closed when ctx ends, or by
// the caller's call of done (which unties it from ctx: a long-lived ctx
// keeps nothing of a request that returned).
func (ep *endpoint) upgradeFD(ctx context.Context, method, path string) (uc *net.UnixConn, br *bufio.Reader, resp *http.Response, done func(), err error) {
	d := net.Dialer{Timeout: fdDial}
	c, err := d.DialContext(ctx, "unix", ep.unix)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	uc = c.(*net.UnixConn)
	stop := context.AfterFunc(ctx, func() { uc.Close() })
	done = func() {
		stop()
		uc.Close()
	}
	fail := func(err error) (*net.UnixConn, *bufio.Reader, *http.Response, func(), error) {
		done()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, nil, nil, nil, err
	}
	req, err := ep.newRequest(ctx, method, path, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", fdpass.Upgrade)
	if err := req.Write(uc); err != nil {
		return fail(err)
	}
	br = bufio.NewReader(uc)
	resp, err = http.ReadResponse(br, req)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		done()
		return nil, nil, resp, nil, nil
	}
	if br.Buffered() != 0 {
		return fail(fmt.Errorf("%s %s: the server sent bytes before it was asked", method, path))
	}
	return uc, br, resp, done, nil
}

// putFD uploads the file at path (size bytes) by passing it to the server
// (POST /v1/blobs upgraded), which names it by its own hash. sent is false
// when the file was not passed, or no answer came for it (the caller sends
// the bytes instead: a store of the same bytes twice keeps one blob).
//
// A digest given (the file was hashed before) is what the server's hash
// must be: another is refused and nothing kept.
func (c *Client) putFD(ctx context.Context, path string, size int64, digest string, who BlobPut) (ref BlobRef, sent bool, err error) {
	ep := c.conn.ep.Load()
	if ep.unix == "" {
		return BlobRef{}, false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return BlobRef{}, true, err
	}
	defer f.Close()
	q := who.Query()
	q.Set("size", strconv.FormatInt(size, 10))
	if digest != "" {
		q.Set("digest", digest)
	}
	uc, br, _, done, err := ep.upgradeFD(ctx, "POST", "/v1/blobs?"+q.Encode())
	if err != nil || uc == nil {
		// Not switched: a server of a version before the upgrade took the
		// request for an empty body (and kept nothing), or the query is
		// wrong. Either way the bytes go as before, and a refusal is
		// said by the answer to them.
		return BlobRef{}, false, nil
	}
	defer done()
	if err := fdpass.Send(uc, f); err != nil {
		return BlobRef{}, false, nil
	}
	ans, err := http.ReadResponse(br, nil)
	if err != nil {
		return BlobRef{}, false, nil
	}
	defer ans.Body.Close()
	if ans.StatusCode >= 300 {
		return BlobRef{}, true, ep.errorOf(ans)
	}
	if err := json.NewDecoder(ans.Body).Decode(&ref); err != nil {
		return BlobRef{}, false, nil
	}
	filesPassed.Add(1)
	if ref.Size != size {
		return BlobRef{}, true, fmt.Errorf("the server stored %d bytes of a file of %d: it changed while it was read: send it again", ref.Size, size)
	}
	return ref, true, nil
}

// openFD opens the blob from offset by taking the store's file from the
// server (GET /v1/blobs/{digest} upgraded). A nil reader and error: the
// server did not pass one (a blob elsewhere, an error answer): ask for
// the bytes.
func (c *Client) openFD(ctx context.Context, ep *endpoint, ref BlobRef, offset int64) (io.ReadCloser, error) {
	if ep.unix == "" || c.blobs != "" {
		return nil, nil
	}
	uc, _, resp, done, err := ep.upgradeFD(ctx, "GET", c.blobsPath()+ref.Digest)
	if err != nil || uc == nil {
		return nil, nil
	}
	defer done()
	if n, err := strconv.ParseInt(resp.Header.Get("Burst-Size"), 10, 64); err != nil || n != ref.Size {
		return nil, &final{fmt.Errorf("blob %s is %s bytes, not %d: %w", ref.Digest, resp.Header.Get("Burst-Size"), ref.Size, ErrBlobMismatch)}
	}
	if _, err := uc.Write([]byte{1}); err != nil {
		return nil, nil
	}
	f, err := fdpass.Recv(uc, ref.Digest, time.Now().Add(fdDial))
	if err != nil {
		return nil, nil
	}
	if _, err := fdpass.Regular(f, ref.Size); err != nil {
		f.Close()
		return nil, &final{fmt.Errorf("blob %s: %v: %w", ref.Digest, err, ErrBlobMismatch)}
	}
	filesTaken.Add(1)
	return sectionFile{io.NewSectionReader(f, offset, ref.Size-offset), f}, nil
}

// sectionFile reads part of a file and closes the file.
type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (s sectionFile) Close() error { return s.f.Close() }

// copyBody copies up to limit bytes of body to tmp (through cw, which
// counts what tmp took), hashing what tmp took into h: the store's file
// (openFD) file to file, by the kernel, hashed as read back from tmp;
// any other body through user space, hashed beside the writes.
func copyBody(ctx context.Context, tmp *os.File, cw *countWriter, body io.Reader, limit int64, h hash.Hash) error {
	sf, ok := body.(sectionFile)
	if !ok {
		_, err := hashpipe.Copy(cw, io.LimitReader(body, limit), h)
		return err
	}
	off, _ := sf.Seek(0, io.SeekCurrent)
	_, base, _ := sf.Outer()
	n, err := hashpipe.CopyFile(ctx, tmp, sf.f, base+off, limit, h)
	cw.n += n
	if wb, ok := cw.w.(*writeback.Writer); ok {
		wb.Wrote(n) // a later retry through cw writes (and writes back) after these bytes
	}
	return err
}
