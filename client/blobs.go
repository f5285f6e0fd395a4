package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst/internal/blob/hashpipe"
	"github.com/burst-sh/burst/internal/blob/sample"
	"github.com/burst-sh/burst/internal/blob/writeback"
)

// Blobs are files the server's blob store holds by content (docs/storage.md):
// a digest "sha256:<hex>" names the bytes, so a file is sent once, however
// many jobs use it, and every copy is checked against its name.

// BlobRef names a blob and its size.
type BlobRef struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// Sample, only in BlobUploads for a file not yet hashed (no
	// Digest): its sample (internal/blob/sample), by which the server
	// tells whether a blob it holds could be this file.
	Sample string `json:"sample,omitempty"`
}

// BlobPut says who holds the blobs being uploaded: a project's inputs
// (Job 0 before the job exists), or a task's outputs or logs.
type BlobPut struct {
	Project, Kind string
	Job           int64
	Task, Attempt int
}

// Blob kinds: what a project holds a blob as.
const (
	BlobInput  = "input"
	BlobOutput = "output"
	BlobLog    = "log"
)

// BlobUploads is the body of POST /v1/blobs/uploads.
type BlobUploads struct {
	Project string    `json:"project"`
	Kind    string    `json:"kind"`
	Job     int64     `json:"job,omitempty"`
	Task    int       `json:"task,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Blobs   []BlobRef `json:"blobs"`
}

// BlobOffer is the server's answer for one blob of BlobUploads: Have, it
// holds it already (the reference is recorded; send nothing); else PUT the
// bytes to URL when set (then POST /v1/blobs/{digest}/done), or to the
// server's PUT /v1/blobs/{digest}.
type BlobOffer struct {
	Digest string `json:"digest"`
	Have   bool   `json:"have"`
	URL    string `json:"url,omitempty"`
	// Header is what the PUT to URL must carry (signed with it: the
	// blob's checksum, which the store checks as the bytes arrive).
	Header map[string]string `json:"header,omitempty"`
	// Stream answers a blob asked for by size alone (no digest yet): the
	// store holds none of that size, so send the bytes to POST /v1/blobs
	// as they are read, hashing them on the way, with the digest as the
	// trailer BlobDigestTrailer. False: hash the file and ask again.
	Stream bool `json:"stream,omitempty"`
}

// BlobDigestTrailer is the trailer of a streamed blob's POST: the digest
// the client computed of what it sent, which the server's must equal.
const BlobDigestTrailer = "Burst-Digest"

// BlobOffers is the answer of POST /v1/blobs/uploads.
type BlobOffers struct {
	Blobs []BlobOffer `json:"blobs"`
}

// Query is who as the query of PUT /v1/blobs/{digest} and its done.
func (who BlobPut) Query() url.Values {
	q := url.Values{"project": {who.Project}, "kind": {who.Kind}}
	if who.Job > 0 {
		q.Set("job", strconv.FormatInt(who.Job, 10))
		q.Set("task", strconv.Itoa(who.Task))
		q.Set("attempt", strconv.Itoa(who.Attempt))
	}
	return q
}

// HashFile is the digest and size of the file at path.
func HashFile(path string) (BlobRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return BlobRef{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return BlobRef{}, fmt.Errorf("read %s: %w", path, err)
	}
	return BlobRef{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// UploadFile hashes the file at path, asks the server whether it holds it,
// and sends it if not; the reference of who is recorded either way.
func (c *Client) UploadFile(ctx context.Context, path string, who BlobPut) (BlobRef, error) {
	refs, err := c.UploadFiles(ctx, []string{path}, who)
	if err != nil {
		return BlobRef{}, err
	}
	return refs[0], nil
}

// UploadFiles is UploadFile for many files with one question to the
// server; the refs are in the order of paths. A file is read once at
// most: one this user hashed before and that has not changed since is
// named from the digest cache ($BURST_HOME/digests) without reading it;
// a new one is sent as it is hashed when the server can take it so (its
// store names blobs by their bytes and holds none of the file's size and
// sample, its two ends, so cannot hold this one), else hashed and then
// asked about by its digest, so that a blob the store holds is never sent
// again. A new version of a file whose first or last 64 KiB changed is
// still sent in one pass.
func (c *Client) UploadFiles(ctx context.Context, paths []string, who BlobPut) ([]BlobRef, error) {
	cache := userDigests()
	refs := make([]BlobRef, len(paths))
	stamps := make([]string, len(paths))
	infos := make([]os.FileInfo, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("upload %s: not a regular file: name a file", p)
		}
		infos[i], stamps[i] = fi, fileStamp(p, fi)
		refs[i] = BlobRef{Digest: cache.get(stamps[i]), Size: fi.Size()}
		if refs[i].Digest == "" {
			if refs[i].Sample, err = sampleFile(p, fi.Size()); err != nil {
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
		}
	}
	// Two rounds at most: files named by the cache are asked about by
	// digest, new ones by size; those the server would not take streamed
	// are hashed and asked about again.
	pending := make([]int, len(paths))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		req := BlobUploads{Project: who.Project, Kind: who.Kind, Job: who.Job, Task: who.Task, Attempt: who.Attempt}
		for _, i := range pending {
			req.Blobs = append(req.Blobs, refs[i])
		}
		var offers BlobOffers
		if err := c.do(ctx, "POST", "/v1/blobs/uploads", req, &offers); err != nil {
			return nil, err
		}
		if len(offers.Blobs) != len(pending) {
			return nil, fmt.Errorf("upload: the server answered for %d blobs of %d", len(offers.Blobs), len(pending))
		}
		var again []int
		for j, i := range pending {
			o, err := offers.Blobs[j], error(nil)
			switch {
			case refs[i].Digest == "" && o.Stream:
				filesRead.Add(1)
				if refs[i], err = c.streamBlob(ctx, paths[i], refs[i].Size, who); err == nil {
					cache.put(stamps[i], infos[i], refs[i].Digest)
				}
			case refs[i].Digest == "":
				filesRead.Add(1)
				if refs[i], err = HashFile(paths[i]); err == nil {
					cache.put(stamps[i], infos[i], refs[i].Digest)
					again = append(again, i)
				}
			case o.Have:
			default:
				filesRead.Add(1)
				if err = c.sendBlob(ctx, paths[i], refs[i], o, who); err != nil {
					cache.forget(stamps[i]) // should the file have changed unseen, it is hashed anew next time
				}
			}
			if err != nil {
				return nil, fmt.Errorf("upload %s: %w", paths[i], err)
			}
		}
		pending = again
	}
	return refs, nil
}

// sampleFile is the sample of the file (its size and both ends).
func sampleFile(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return sample.Of(f, size)
}

// hashedBody is a streamed blob's body: the file, hashed as the transport
// takes it, the digest set in the trailer at its end. The transport copies
// a chunked body through WriteTo when it has one: chunks of
// hashpipe.ChunkSize, hashed beside the sending, instead of 32 KiB reads
// hashed in turn.
type hashedBody struct {
	r       io.Reader
	h       hash.Hash
	trailer http.Header

	mu   sync.Mutex
	n    int64
	err  error // reading the file
	done bool
}

func (b *hashedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.mu.Lock()
	b.n += int64(n)
	b.mu.Unlock()
	if err == io.EOF {
		b.end(nil)
	} else if err != nil {
		b.end(err)
	}
	return n, err
}

func (b *hashedBody) WriteTo(w io.Writer) (int64, error) {
	var rerr error
	n, err := hashpipe.Copy(w, readErr{b.r, &rerr}, b.h)
	b.mu.Lock()
	b.n += n
	b.mu.Unlock()
	b.end(rerr)
	return n, err
}

// end records the end of the body: its digest in the trailer (written by
// the transport after the body), or the file's read error.
func (b *hashedBody) end(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done, b.err = true, err
	if err == nil {
		b.trailer.Set(BlobDigestTrailer, "sha256:"+hex.EncodeToString(b.h.Sum(nil)))
	}
}

func (b *hashedBody) readErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// ref is what was sent, once all of it was.
func (b *hashedBody) ref() BlobRef {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BlobRef{Digest: b.trailer.Get(BlobDigestTrailer), Size: b.n}
}

// readErr keeps a reader's error other than EOF in *err (hashpipe.Copy
// tells a read error from a write error only by its value).
type readErr struct {
	r   io.Reader
	err *error
}

func (r readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		*r.err = err
	}
	return n, err
}

// filesRead counts the files UploadFiles read, hashed or sent (tests).
var filesRead atomic.Int64

// streamBlob sends the file to POST /v1/blobs as it is read, hashed on
// the way (beside the sending, hashpipe), with the digest as the trailer:
// the server names the blob by the hash it computes and refuses it unless
// the two agree. A cut send is sent again from the start (the server kept
// nothing of it).
func (c *Client) streamBlob(ctx context.Context, path string, size int64, who BlobPut) (BlobRef, error) {
	if ref, sent, err := c.putFD(ctx, path, size, "", who); sent {
		return ref, err // on the server's host: passed as a file (blobs_fd.go)
	}
	q := who.Query()
	q.Set("size", strconv.FormatInt(size, 10))
	blobPath := "/v1/blobs?" + q.Encode()
	var got BlobRef
	var body *hashedBody
	ctx = patiently(ctx) // the server syncs what it got before it answers
	err := c.retrying(ctx, "GET", blobPath, nil, func(ep *endpoint) error {
		f, err := os.Open(path)
		if err != nil {
			return &final{err}
		}
		defer f.Close()
		body = &hashedBody{r: io.LimitReader(f, size+1), h: sha256.New()}
		req, err := ep.newRequest(ctx, "POST", blobPath, body)
		if err != nil {
			return err
		}
		req.ContentLength = -1 // chunked: the trailer follows the bytes
		req.Trailer = http.Header{BlobDigestTrailer: nil}
		body.trailer = req.Trailer
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := ep.client(req.Context()).Do(req)
		if err != nil {
			return tlsFailure(err, ep.base)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			return ep.errorOf(resp)
		}
		if rerr := body.readErr(); rerr != nil {
			return &final{fmt.Errorf("read %s: %w", path, rerr)}
		}
		return json.NewDecoder(resp.Body).Decode(&got)
	})
	if err != nil {
		return BlobRef{}, err
	}
	sent := body.ref()
	if sent.Size != size {
		return BlobRef{}, fmt.Errorf("the file changed size while it was sent (%d bytes, then %d): send it again", size, sent.Size)
	}
	if got != sent {
		return BlobRef{}, fmt.Errorf("the server stored %s (%d bytes) for what hashed here to %s (%d bytes): %w", got.Digest, got.Size, sent.Digest, sent.Size, ErrBlobMismatch)
	}
	return got, nil
}

// sendBlob sends the file's bytes to the server, or to the offer's URL (a
// presigned PUT of the store, with its headers) and then tells the server
// it is done. A blob PUT is
// idempotent (the server keeps a blob only once it was checked whole), so
// a cut one is sent again as a read is asked again.
func (c *Client) sendBlob(ctx context.Context, path string, ref BlobRef, offer BlobOffer, who BlobPut) error {
	q := who.Query()
	if offer.URL != "" {
		if err := putDirect(ctx, path, ref, offer); err != nil {
			return err
		}
		q.Set("size", strconv.FormatInt(ref.Size, 10))
		err := c.do(ctx, "POST", "/v1/blobs/"+ref.Digest+"/done?"+q.Encode(), nil, nil)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusConflict {
			return err
		}
		// Another project's upload of the same bytes was recorded while
		// these were sent: the server takes them from us itself, as it
		// does when such a blob is offered (it checks them).
		q.Del("size")
	}
	if got, sent, err := c.putFD(ctx, path, ref.Size, ref.Digest, who); sent {
		if err == nil && got != ref {
			err = fmt.Errorf("the server stored %s (%d bytes) for %s (%d bytes): %w", got.Digest, got.Size, ref.Digest, ref.Size, ErrBlobMismatch)
		}
		return err // on the server's host: passed as a file (blobs_fd.go)
	}
	blobPath := "/v1/blobs/" + ref.Digest + "?" + q.Encode()
	return c.retrying(ctx, "GET", blobPath, nil, func(ep *endpoint) error {
		// The body is the file itself, opened afresh for each attempt (the
		// transport closes it): over plain TCP the transport sends it by
		// sendfile(2); over the unix socket and TLS it is copied.
		body, err := os.Open(path)
		if err != nil {
			return &final{err}
		}
		req, err := ep.newRequest(ctx, "PUT", blobPath, body)
		if err != nil {
			body.Close()
			return err
		}
		req.ContentLength = ref.Size
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := ep.client(req.Context()).Do(req)
		if err != nil {
			return tlsFailure(err, ep.base)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			return ep.errorOf(resp)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	})
}

// openAt asks for the blob's bytes from offset on: from the server, or,
// when it redirects (S3), from the store directly. A blob whose whole size
// is not ref's is refused at once (a wrong size is not worth asking again).
func (c *Client) openAt(ctx context.Context, ep *endpoint, ref BlobRef, offset int64) (io.ReadCloser, error) {
	if f, err := c.openFD(ctx, ep, ref, offset); f != nil || err != nil {
		return f, err // on the server's host: its file (blobs_fd.go)
	}
	digest := ref.Digest
	req, err := ep.newRequest(ctx, "GET", c.blobsPath()+digest, nil)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	hc := *ep.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, tlsFailure(err, ep.base)
	}
	if resp.StatusCode == http.StatusTemporaryRedirect {
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		dctx, cancel := context.WithCancel(ctx) // the idle bound's (idleBody)
		if req, err = http.NewRequestWithContext(dctx, "GET", loc, nil); err != nil {
			cancel()
			return nil, redactURL(err)
		}
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		}
		if resp, err = directHTTP.Do(req); err != nil {
			cancel()
			return nil, redactURL(err)
		}
		resp.Body = newIdleBody(resp.Body, cancel, directIdle)
		if resp.StatusCode >= 300 {
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return nil, &final{fmt.Errorf("the blob store answered %s: %s", resp.Status, strings.TrimSpace(string(b)))}
		}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, ep.errorOf(resp)
	}
	if total := wholeSize(resp); total >= 0 && total != ref.Size {
		resp.Body.Close()
		return nil, &final{fmt.Errorf("blob %s is %d bytes, not %d: %w", digest, total, ref.Size, ErrBlobMismatch)}
	}
	if offset > 0 && resp.StatusCode == http.StatusOK {
		// The range was not honoured: skip what we have.
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp.Body, nil
}

// wholeSize is the size of the whole blob an answer tells (its
// Content-Range's, or a whole answer's length); -1 when it tells none.
func wholeSize(resp *http.Response) int64 {
	if cr := resp.Header.Get("Content-Range"); resp.StatusCode == http.StatusPartialContent && cr != "" {
		if _, total, ok := strings.Cut(cr, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				return n
			}
		}
		return -1
	}
	if resp.StatusCode == http.StatusOK {
		return resp.ContentLength
	}
	return -1
}

// ErrBlobMismatch: the bytes received are not the blob asked for.
var ErrBlobMismatch = errors.New("the bytes received do not match the blob's digest")

// FetchBlob writes the blob to dst, atomically: a temporary file beside
// it, checked against ref, then renamed. A cut transfer goes on from where
// it was cut; a wrong one is fetched again from the start (three times at
// most); dst is never left holding wrong bytes.
func (c *Client) FetchBlob(ctx context.Context, ref BlobRef, dst string) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	var last error
	for range 3 {
		last = c.fetchOnce(ctx, ref, dst)
		var r *refetch
		if last == nil || !errors.As(last, &r) || ctx.Err() != nil {
			return last
		}
		last = r.err
	}
	return last
}

// refetch is a transfer that came whole but wrong: asked again from the start.
type refetch struct{ err error }

func (r *refetch) Error() string { return r.err.Error() }
func (r *refetch) Unwrap() error { return r.err }

func (c *Client) fetchOnce(ctx context.Context, ref BlobRef, dst string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // gone once renamed
	}()
	// The bytes are hashed beside the writes to tmp, not in turn with
	// them (hashpipe; the store's own file on the server's host: copied
	// by the kernel, hashed as read back from tmp); h holds exactly what
	// tmp took, so a cut transfer resumes from cw.n with h still right.
	// The disk writes tmp behind the transfer (writeback; CopyFile starts
	// its own), so the fsync before the rename waits for the last few
	// MiB, not for the whole blob.
	h := sha256.New()
	cw := &countWriter{w: writeback.New(tmp, 0)}
	err = c.retrying(ctx, "GET", c.blobsPath()+ref.Digest, cw, func(ep *endpoint) error {
		body, err := c.openAt(ctx, ep, ref, cw.n)
		if err != nil {
			return err
		}
		defer body.Close()
		err = copyBody(ctx, tmp, cw, body, ref.Size-cw.n+1, h)
		if we := new(writeback.Error); errors.As(err, &we) {
			// Bytes tmp took may not be on disk: asked again from cw.n,
			// tmp would keep a hole its fsync cannot see.
			return &final{err}
		}
		if err == nil && cw.n < ref.Size {
			err = io.ErrUnexpectedEOF // asked again from cw.n
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("fetch %s: %w", ref.Digest, err)
	}
	if err := verifyRef(ref, cw.n, h); err != nil {
		return &refetch{err}
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// blobsPath is where the client reads blobs: GET PATH/DIGEST.
func (c *Client) blobsPath() string {
	if c.blobs != "" {
		return c.blobs
	}
	return "/v1/blobs/"
}

func verifyRef(ref BlobRef, n int64, h hash.Hash) error {
	if n != ref.Size {
		return fmt.Errorf("blob %s: %d bytes received, %d expected: %w", ref.Digest, n, ref.Size, ErrBlobMismatch)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != ref.Digest {
		return fmt.Errorf("blob %s: received bytes hash to %s: %w", ref.Digest, got, ErrBlobMismatch)
	}
	return nil
}

func checkRef(ref BlobRef) error {
	h, ok := strings.CutPrefix(ref.Digest, "sha256:")
	if !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" || ref.Size < 0 {
		return fmt.Errorf("bad blob %q (size %d): a blob is named sha256:<64 lowercase hex digits>", ref.Digest, ref.Size)
	}
	return nil
}

// OpenBlob streams the blob. Its reader fails at the end, instead of
// ending, when what came is not the blob: read it to its end before
// trusting what it gave.
func (c *Client) OpenBlob(ctx context.Context, ref BlobRef) (io.ReadCloser, error) {
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	var body io.ReadCloser
	err := c.retrying(ctx, "GET", c.blobsPath()+ref.Digest, nil, func(ep *endpoint) error {
		var err error
		body, err = c.openAt(ctx, ep, ref, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &checkedBody{rc: body, ref: ref, h: sha256.New()}, nil
}

// checkedBody hashes what is read and turns its end into an error when
// the bytes are not the blob.
type checkedBody struct {
	rc  io.ReadCloser
	ref BlobRef
	h   hash.Hash
	n   int64
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	if err == io.EOF {
		if verr := verifyRef(b.ref, b.n, b.h); verr != nil {
			return n, verr
		}
	}
	return n, err
}

func (b *checkedBody) Close() error { return b.rc.Close() }

// StorageSet is the body of PUT /v1/storage: where new blobs go.
type StorageSet struct {
	URL      string `json:"url"` // "embedded" or "s3://bucket/prefix"
	Endpoint string `json:"endpoint,omitempty"`
	Region   string `json:"region,omitempty"`
}

// StorageUsage is what one project holds as one kind, in one place.
type StorageUsage struct {
	Project  string `json:"project"`
	Kind     string `json:"kind"`
	Location string `json:"location"`
	Count    int    `json:"count"`
	Bytes    int64  `json:"bytes"`
}

// StorageInfo is GET /v1/storage: where new blobs go and what is held.
type StorageInfo struct {
	URL      string         `json:"url"`
	Endpoint string         `json:"endpoint,omitempty"`
	Region   string         `json:"region,omitempty"`
	Describe string         `json:"describe"`
	SetBy    string         `json:"set_by,omitempty"`
	SetAt    *time.Time     `json:"set_at,omitempty"`
	Usage    []StorageUsage `json:"usage"`
	// Received is the blob bytes the server took in itself (PUT
	// /v1/blobs) since it started: what did not go to a presigned URL,
	// nor was skipped because the store held it.
	Received int64 `json:"received_bytes"`
}

// Storage says where blobs go and what each project holds (admin).
func (c *Client) Storage(ctx context.Context) (*StorageInfo, error) {
	var out StorageInfo
	return &out, c.do(ctx, "GET", "/v1/storage", nil, &out)
}

// SetStorage makes new blobs go where s says, once the server checked it
// can write, read and delete there (admin).
func (c *Client) SetStorage(ctx context.Context, s StorageSet) (*StorageInfo, error) {
	var out StorageInfo
	return &out, c.do(ctx, "PUT", "/v1/storage", s, &out)
}
