package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/burst-sh/burst/internal/blob/s3conn"
	"github.com/burst-sh/burst/internal/stallconn"
)

// S3 keeps blobs in a bucket of an S3-compatible service, as objects
// <prefix>sha256/<ab>/<hex>. Bytes sent through the server land first
// under <prefix>uploads/, are hashed on the way and copied into place only
// when they match; bytes sent by a presigned URL land there too and are
// checked by Commit. Credentials come from the AWS SDK's chain: the
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN variables, the
// shared credentials file (~/.aws/credentials, AWS_PROFILE), then the
// instance's role (s3conn).
type S3 struct {
	c                *s3.Client
	pre              *s3.PresignClient
	bucket, prefix   string
	endpoint, region string

	// checks is whether the store refuses a PUT whose bytes are not the
	// checksum it carries; learned once, by trying (probeChecksum).
	checks struct {
		sync.Mutex
		known, enforced bool
	}
	// bucketSeen is when the bucket was last seen there (bucketThere).
	bucketSeen struct {
		sync.Mutex
		at time.Time
	}
}

// bucketRecheck is how long the bucket, once seen there, is taken to be
// there when an object is missing: a missing blob costs a HEAD of the
// bucket at most this often.
const bucketRecheck = 10 * time.Second

// S3Config is where an S3 store is.
type S3Config struct {
	URL      string // s3://bucket/prefix
	Endpoint string // http(s)://host[:port]; empty: AWS's s3.amazonaws.com
	Region   string
}

// ParseS3 splits "s3://bucket/prefix" into its bucket and prefix (ending
// in "/" unless empty).
func ParseS3(raw string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return "", "", fmt.Errorf("storage %q: use s3://BUCKET/PREFIX or embedded", raw)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("storage %q: no bucket: use s3://BUCKET/PREFIX", raw)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// NewS3 makes the client of the store cfg names; it calls nothing yet
// (Probe does).
func NewS3(cfg S3Config) (*S3, error) {
	bucket, prefix, err := ParseS3(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("endpoint %q: use http(s)://HOST[:PORT], e.g. --endpoint http://127.0.0.1:9000", cfg.Endpoint)
		}
	}
	c, _, err := s3conn.New(context.Background(), cfg.Endpoint, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("storage %s: read the AWS configuration: %w: fix ~/.aws/config or the AWS_* variables", cfg.URL, err)
	}
	return &S3{c: c, pre: s3.NewPresignClient(c), bucket: bucket, prefix: prefix, endpoint: cfg.Endpoint, region: cfg.Region}, nil
}

// Location is the store's URL with its endpoint and region, so that a
// server can reach blobs stored here after new ones go elsewhere
// (OpenLocation).
func (s *S3) Location() string {
	q := url.Values{}
	if s.endpoint != "" {
		q.Set("endpoint", s.endpoint)
	}
	if s.region != "" {
		q.Set("region", s.region)
	}
	u := "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Describe says where blobs go.
func (s *S3) Describe() string {
	d := "s3://" + s.bucket + "/" + s.prefix
	if s.endpoint != "" {
		d += " at " + s.endpoint
	}
	if s.region != "" {
		d += " (" + s.region + ")"
	}
	return d
}

// OpenLocation is the store a Location names: FS's "embedded" is fs;
// an s3:// one is opened anew.
func OpenLocation(loc string, fs *FS) (Store, error) {
	if loc == "" || loc == "embedded" {
		return fs, nil
	}
	base, query, _ := strings.Cut(loc, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("blob location %q: %w", loc, err)
	}
	return NewS3(S3Config{URL: base, Endpoint: q.Get("endpoint"), Region: q.Get("region")})
}

func (s *S3) key(digest string) string {
	h := hexOf(digest)
	return s.prefix + "sha256/" + h[:2] + "/" + h
}

// staging is where a presigned PUT lands before Commit checks it.
func (s *S3) staging(digest string) string { return s.prefix + "uploads/" + hexOf(digest) }

// Multipart thresholds (variables so that tests can make them small).
var (
	// putPartsAbove is the size above which Put sends its bytes in parts
	// of partSize (a single PUT takes 5 GiB at most, and a part that
	// fails is sent again alone, from memory). Each upload in parts holds
	// one part in memory: 16 MiB, as minio-go did, so that ten uploads at
	// once through the server hold 160 MiB, not more (partsOf makes the
	// parts of a very large blob bigger, as 10,000 parts must hold it).
	putPartsAbove int64 = 64 << 20
	partSize      int64 = 16 << 20
	// copyPartsAbove is the size above which a copy inside the bucket
	// (place, SetClass) goes in parts of copyPartSize: CopyObject takes
	// 5 GiB at most.
	copyPartsAbove int64 = 5 << 30
	copyPartSize   int64 = 1 << 30
	// presignPutMax is the largest blob given a presigned PUT: AWS S3
	// refuses a single PUT over 5 GiB (EntityTooLarge), whatever the URL
	// says. A larger blob is sent through the server, whose Put sends it
	// in parts.
	presignPutMax int64 = 5 << 30
)

// callWait bounds one call to the store that moves no blob's bytes (a
// HEAD, a DELETE, a listing's page, the start or abort of an upload in
// parts), its retries included: an endpoint that takes the connection but
// never answers fails it in seconds, naming the endpoint, instead of
// holding the request that made it (an upload's offer, its done) until
// its client gives up and blames the burst server. A variable so that
// tests can make it short.
var callWait = 30 * time.Second

// bounded is ctx for one call that moves no blob's bytes (callWait).
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callWait)
}

// maxParts is the most parts one object may have.
const maxParts = 10000

// partsOf is the size of each part of an object of size bytes: at least
// least, and few enough for maxParts (a whole number of MiB).
func partsOf(size, least int64) int64 {
	if p := (size + maxParts - 1) / maxParts; p > least {
		return (p + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return least
}

// Stat is the blob as held; ErrNotFound when it is not.
func (s *S3) Stat(ctx context.Context, digest string) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	ctx, cancel := bounded(ctx)
	defer cancel()
	oi, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(digest))})
	if s3conn.NotFound(err) {
		if err := s.bucketThere(ctx); err != nil {
			return Info{}, err
		}
		return Info{}, ErrNotFound
	}
	if err != nil {
		return Info{}, s.explain(err)
	}
	return Info{Digest: digest, Size: aws.ToInt64(oi.ContentLength)}, nil
}

// bucketThere is nil unless the store's bucket is gone: a HEAD of an
// object in a bucket that is not there answers the same bare 404 as of a
// missing object, and a bucket deleted under a running server read as
// "no such blob". Asked at most every bucketRecheck while it is there;
// an answer other than 404 (no right to HEAD the bucket) says nothing.
func (s *S3) bucketThere(ctx context.Context) error {
	s.bucketSeen.Lock()
	fresh := time.Since(s.bucketSeen.at) < bucketRecheck
	s.bucketSeen.Unlock()
	if fresh {
		return nil
	}
	_, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if s3conn.Status(err) == http.StatusNotFound {
		return s.noBucket()
	}
	if err == nil {
		s.bucketSeen.Lock()
		s.bucketSeen.at = time.Now()
		s.bucketSeen.Unlock()
	}
	return nil
}

// noBucket is the error of a store whose bucket is not there.
func (s *S3) noBucket() error {
	return fmt.Errorf("no bucket %q at %s: it was deleted, or never made: create it (e.g. `mc mb`, `aws s3 mb s3://%s`) or name another", s.bucket, s.endpointName(), s.bucket)
}

// Put sends the bytes to a staging object, hashing them on the way, and
// copies it into place only when they match (see S3).
func (s *S3) Put(ctx context.Context, digest string, size int64, r io.Reader) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	tmp := s.prefix + "uploads/" + hexOf(digest) + "." + randHex()
	defer s.remove(context.WithoutCancel(ctx), tmp)
	v := newVerifier(r, size)
	if err := s.upload(ctx, tmp, io.LimitReader(v, size), size); err != nil {
		// Short because the sender stopped: its body is refused. A store
		// that failed meanwhile (parts are read one at a time, so fewer
		// than size bytes were read) is the store's error, with its fix.
		if v.n < size && v.ended {
			return Info{}, fmt.Errorf("%w (%v)", &MismatchError{Digest: digest, Size: size, Got: v.n}, err)
		}
		return Info{}, s.explain(err)
	}
	io.Copy(io.Discard, io.LimitReader(v, 1)) // one byte more is a body too long
	if err := v.check(digest); err != nil {
		return Info{}, err
	}
	return s.place(ctx, tmp, digest, size)
}

// upload writes the size bytes of r to key: one PUT streamed as r yields
// them, or above putPartsAbove a multipart upload, aborted if it fails.
func (s *S3) upload(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if size <= putPartsAbove {
		// Sent once: a stream cannot be read again, so the SDK's retry
		// would only hide why the send failed ("failed to rewind").
		_, err := s.c.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: r,
			ContentLength: aws.Int64(size), ContentType: aws.String("application/octet-stream")}, s3conn.Unsigned, s3conn.Once)
		return err
	}
	mu, err := s.startParts(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key,
		ContentType: aws.String("application/octet-stream")})
	if err != nil {
		return err
	}
	defer s.abortUnless(ctx, &err, key, mu.UploadId)
	buf := make([]byte, partsOf(size, partSize))
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < size; n++ {
		b := buf[:min(int64(len(buf)), size-off)]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		// From memory: the SDK sends a part again when S3 asks it to.
		out, err := s.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: &key, UploadId: mu.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b)))}, s3conn.Unsigned)
		if err != nil {
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		off += int64(len(b))
	}
	return s.complete(ctx, key, mu.UploadId, parts)
}

// startParts starts an upload in parts (bounded: see callWait).
func (s *S3) startParts(ctx context.Context, in *s3.CreateMultipartUploadInput) (*s3.CreateMultipartUploadOutput, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	return s.c.CreateMultipartUpload(ctx, in)
}

func (s *S3) complete(ctx context.Context, key string, id *string, parts []types.CompletedPart) error {
	_, err := s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: &key,
		UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return err
}

// abortUnless aborts the multipart upload id when *err is set, so that its
// parts are not kept (and billed).
func (s *S3) abortUnless(ctx context.Context, err *error, key string, id *string) {
	if *err != nil {
		ctx, cancel := bounded(context.WithoutCancel(ctx))
		defer cancel()
		s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: id})
	}
}

// copyObject copies src (of size bytes) to dst inside the bucket, with
// the storage class when one is given: one CopyObject, or above
// copyPartsAbove a multipart copy (UploadPartCopy). The parts need not
// come from one version of src: a blob's objects all hold its bytes.
func (s *S3) copyObject(ctx context.Context, src, dst string, size int64, class string) (err error) {
	from := copySource(s.bucket, src)
	if size <= copyPartsAbove {
		in := &s3.CopyObjectInput{Bucket: &s.bucket, Key: &dst, CopySource: &from}
		if class != "" {
			in.StorageClass = types.StorageClass(class)
			in.MetadataDirective = types.MetadataDirectiveReplace
			in.ContentType = aws.String("application/octet-stream")
		}
		_, err := s.c.CopyObject(ctx, in)
		return err
	}
	in := &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &dst, ContentType: aws.String("application/octet-stream")}
	if class != "" {
		in.StorageClass = types.StorageClass(class)
	}
	mu, err := s.startParts(ctx, in)
	if err != nil {
		return err
	}
	defer s.abortUnless(ctx, &err, dst, mu.UploadId)
	ps := partsOf(size, copyPartSize)
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < size; n++ {
		end := min(off+ps, size) - 1
		out, err := s.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &s.bucket, Key: &dst, UploadId: mu.UploadId,
			PartNumber: aws.Int32(n), CopySource: &from,
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))})
		if err != nil {
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
		off = end + 1
	}
	return s.complete(ctx, dst, mu.UploadId, parts)
}

// copySource is a CopySource: the bucket and key, URL-escaped.
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return bucket + "/" + strings.Join(segs, "/")
}

// place copies a checked staging object to the blob's key.
func (s *S3) place(ctx context.Context, tmp, digest string, size int64) (Info, error) {
	if err := s.copyObject(ctx, tmp, s.key(digest), size, ""); err != nil {
		return Info{}, s.explain(err)
	}
	return Info{Digest: digest, Size: size}, nil
}

// remove deletes key; deleting what is not there is no error.
func (s *S3) remove(ctx context.Context, key string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	return err
}

// Open reads the blob from offset (the service checks what it stores).
// The reader is the HTTP response's body itself.
func (s *S3) Open(ctx context.Context, digest string, offset int64) (io.ReadCloser, Info, error) {
	in, err := s.Stat(ctx, digest)
	if err != nil {
		return nil, Info{}, err
	}
	if offset < 0 || offset > in.Size {
		return nil, Info{}, fmt.Errorf("blob %s: offset %d is outside its %d bytes", digest, offset, in.Size)
	}
	if offset == in.Size {
		return io.NopCloser(strings.NewReader("")), in, nil
	}
	get := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(digest))}
	if offset > 0 {
		get.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	o, err := s.c.GetObject(ctx, get)
	if err != nil {
		return nil, Info{}, s.explain(err)
	}
	return o.Body, in, nil
}

// Delete removes the blob's object.
func (s *S3) Delete(ctx context.Context, digest string) error {
	if err := CheckDigest(digest); err != nil {
		return err
	}
	return s.explain(s.remove(ctx, s.key(digest)))
}

// List lists the blob objects under the prefix.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	kp := s.prefix + "sha256/"
	if h, ok := strings.CutPrefix(prefix, "sha256:"); ok && len(h) >= 2 {
		kp += h[:2] + "/"
	}
	pages := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &kp})
	for pages.HasMorePages() {
		pctx, cancel := bounded(ctx)
		page, err := pages.NextPage(pctx)
		cancel()
		if err != nil {
			return s.explain(err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			dg := "sha256:" + k[strings.LastIndexByte(k, '/')+1:]
			if CheckDigest(dg) != nil || !strings.HasPrefix(dg, prefix) {
				continue
			}
			if err := fn(Info{Digest: dg, Size: aws.ToInt64(o.Size)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// PresignGet is a URL that GETs the blob until ttl passes.
func (s *S3) PresignGet(ctx context.Context, digest string, ttl time.Duration) (string, error) {
	if err := CheckDigest(digest); err != nil {
		return "", err
	}
	r, err := s.pre.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(digest))}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", s.explain(err)
	}
	return r.URL, nil
}

// PresignPut is a URL that PUTs the blob until ttl passes, with the
// blob's SHA-256 as the x-amz-checksum-sha256 header the PUT must carry
// (it is signed): the store hashes the bytes as they arrive, refuses them
// when they are not the blob, and keeps the checksum with the object, so
// that Commit need not read them back. A store seen to refuse a wrong
// checksum (probeChecksum) is sent the bytes at the blob's own key: what
// it keeps there is checked. Any other gets them under staging, for
// Commit to check and copy into place. A blob over 5 GiB gets no URL:
// one PUT cannot carry it, so it goes through the server.
func (s *S3) PresignPut(ctx context.Context, digest string, size int64, ttl time.Duration) (string, http.Header, error) {
	if err := CheckDigest(digest); err != nil {
		return "", nil, err
	}
	if size > presignPutMax {
		return "", nil, nil
	}
	key := s.staging(digest)
	if s.enforcesChecksums(ctx) {
		key = s.key(digest)
	}
	u, h, err := s.presignPut(ctx, key, checksumOf(digest), ttl)
	if err != nil {
		return "", nil, s.explain(err)
	}
	return u, h, nil
}

// presignPut is a URL that PUTs key with the checksum, and the headers
// the PUT must carry: those signed with it, but Host.
func (s *S3) presignPut(ctx context.Context, key, checksum string, ttl time.Duration) (string, http.Header, error) {
	r, err := s.pre.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, ChecksumSHA256: &checksum}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", nil, err
	}
	h := r.SignedHeader.Clone()
	h.Del("Host")
	return r.URL, h, nil
}

// enforcesChecksums says whether the store refuses a PUT whose bytes are
// not the checksum it carries, probing it the first time (and again after
// a probe that failed, when it says no).
func (s *S3) enforcesChecksums(ctx context.Context) bool {
	s.checks.Lock()
	defer s.checks.Unlock()
	if !s.checks.known {
		enforced, err := s.probeChecksum(ctx)
		if err != nil {
			return false
		}
		s.checks.known, s.checks.enforced = true, enforced
	}
	return s.checks.enforced
}

// probeHTTP sends the checksum probe, as a client would send its PUT.
var probeHTTP = &http.Client{Timeout: 30 * time.Second}

// probeChecksum PUTs a small object through a presigned URL whose signed
// checksum is another body's, as a client with wrong bytes would: true
// when the store refuses it for its checksum. The object is removed.
func (s *S3) probeChecksum(ctx context.Context) (bool, error) {
	key := s.prefix + "probe/" + randHex()
	defer s.remove(context.WithoutCancel(ctx), key)
	other := sha256.Sum256([]byte("not the probe's body"))
	u, h, err := s.presignPut(ctx, key, base64.StdEncoding.EncodeToString(other[:]), time.Minute)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", u, strings.NewReader("burst checksum probe"))
	if err != nil {
		return false, err
	}
	req.Header = h
	resp, err := probeHTTP.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode < 300:
		return false, nil // kept: this store does not check checksums
	case resp.StatusCode == http.StatusBadRequest && (strings.Contains(string(b), "Checksum") || strings.Contains(string(b), "Digest")):
		return true, nil
	}
	return false, fmt.Errorf("checksum probe: %s: %s", resp.Status, b)
}

// checksumOf is a digest as S3 gives a SHA-256 checksum: base64 of the sum.
func checksumOf(digest string) string {
	b, _ := hex.DecodeString(hexOf(digest))
	return base64.StdEncoding.EncodeToString(b)
}

// checked is whether key holds size bytes whose SHA-256 checksum, kept by
// the store, is the digest's.
func (s *S3) checked(ctx context.Context, key, digest string, size int64) bool {
	ctx, cancel := bounded(ctx)
	defer cancel()
	oi, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	return err == nil && aws.ToInt64(oi.ContentLength) == size && aws.ToString(oi.ChecksumSHA256) == checksumOf(digest)
}

// Commit hashes the staging object a presigned PUT wrote and places it
// when it is the blob; it is removed either way.
func (s *S3) Commit(ctx context.Context, digest string, size int64) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	// Sent to the blob's own key (a store that checks checksums): the
	// store kept the bytes only if they were the blob, and says so.
	if s.checked(ctx, s.key(digest), digest, size) {
		return Info{Digest: digest, Size: size}, nil
	}
	tmp := s.staging(digest)
	defer s.remove(context.WithoutCancel(ctx), tmp)
	// A store seen to refuse a wrong checksum checked the one PresignPut's
	// URL made the PUT carry, and keeps it: when it is there and the
	// blob's, nothing is read back. Any other store is read back and
	// hashed here: one may keep the checksum a PUT carried without
	// checking it, and give it back as if it had.
	if s.enforcesChecksums(ctx) && s.checked(ctx, tmp, digest, size) {
		return s.place(ctx, tmp, digest, size)
	}
	o, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &tmp})
	if s3conn.NotFound(err) {
		if in, serr := s.Stat(ctx, digest); serr == nil && in.Size == size {
			return in, nil // committed by another upload of the same bytes
		}
		return Info{}, fmt.Errorf("blob %s: nothing was uploaded to the store's URL: PUT the bytes there first", digest)
	}
	if err != nil {
		return Info{}, s.explain(err)
	}
	defer o.Body.Close()
	v := newVerifier(o.Body, size)
	if _, err := io.Copy(io.Discard, v); err != nil {
		return Info{}, s.explain(err)
	}
	if err := v.check(digest); err != nil {
		return Info{}, err
	}
	return s.place(ctx, tmp, digest, size)
}

// Probe writes, reads back and deletes a small object under the prefix:
// nil when the store works, else one line naming the fix.
func (s *S3) Probe(ctx context.Context) error {
	key := s.prefix + "probe/" + randHex()
	body := "burst probe " + key
	if err := s.upload(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
		return fmt.Errorf("writing a probe object to %s: %w", s.Describe(), s.explain(err))
	}
	o, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil {
		var b []byte
		b, err = io.ReadAll(o.Body)
		o.Body.Close()
		if err == nil && string(b) != body {
			err = fmt.Errorf("read back %d bytes that differ from the %d written: the endpoint does not keep what it is sent, as an S3 service does; check that --endpoint names one", len(b), len(body))
		}
	}
	if err != nil {
		s.remove(ctx, key)
		return fmt.Errorf("reading back a probe object from %s: %w", s.Describe(), s.explain(err))
	}
	if err := s.remove(ctx, key); err != nil {
		return fmt.Errorf("deleting a probe object from %s: %w", s.Describe(), s.explain(err))
	}
	return nil
}

// explain turns the service's errors into what to do about them.
func (s *S3) explain(err error) error {
	if err == nil {
		return nil
	}
	var ce *s3conn.ConfigError
	if errors.As(err, &ce) {
		return fmt.Errorf("the server's AWS configuration: %w", ce)
	}
	if s3conn.NoCredentials(err) {
		return fmt.Errorf("no credentials for %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) where the server runs", s.endpointName())
	}
	if s3conn.NotS3(err) {
		return fmt.Errorf("the endpoint %s answered what no S3 service answers (%v): check that --endpoint names an S3 service (MinIO, AWS S3, ...) and that it is well", s.endpointName(), err)
	}
	if why := s3conn.TLSProblem(err); why != "" {
		return fmt.Errorf("the endpoint %s: %s (%v)", s.endpointName(), why, err)
	}
	var se *stallconn.StallError
	if errors.As(err, &se) {
		return fmt.Errorf("the endpoint %s: %v: check that the service is well, then send it again", s.endpointName(), se)
	}
	if s3conn.Unreachable(err) {
		return fmt.Errorf("cannot reach the endpoint %s (%v): check --endpoint and that the service runs", s.endpointName(), err)
	}
	if r := s3conn.BucketRegion(err); r != "" && r != s.regionName() {
		return fmt.Errorf("bucket %q is in region %s, not %s: give --region %s", s.bucket, r, s.regionName(), r)
	}
	switch code := s3conn.Code(err); code {
	case "NoSuchBucket":
		return s.noBucket()
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken",
		"Forbidden": // a HEAD's 403, whose response has no body to name why
		return fmt.Errorf("%s refused the server's credentials (%s): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) for the server, with rights to put, get and delete objects in %s",
			s.endpointName(), code, s.bucket)
	}
	return err
}

// regionName is the region requests are signed for.
func (s *S3) regionName() string { return s.c.Options().Region }

func (s *S3) endpointName() string {
	if s.endpoint == "" {
		return "s3.amazonaws.com"
	}
	return s.endpoint
}

func randHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
