package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 keeps blobs in a bucket of an S3-compatible service, as objects
// <prefix>sha256/<ab>/<hex>. Bytes sent through the server land first
// under <prefix>uploads/, are hashed on the way and copied into place only
// when they match; bytes sent by a presigned URL land there too and are
// checked by Commit. Credentials come from minio-go's chain: the
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN variables, the
// shared credentials file (~/.aws/credentials, AWS_PROFILE), then the
// instance's role.
type S3 struct {
	c                *minio.Client
	bucket, prefix   string
	endpoint, region string

	// checks is whether the store refuses a PUT whose bytes are not the
	// checksum it carries; learned once, by trying (probeChecksum).
	checks struct {
		sync.Mutex
		known, enforced bool
	}
}

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
	host, secure := "s3.amazonaws.com", true
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("endpoint %q: use http(s)://HOST[:PORT], e.g. --endpoint http://127.0.0.1:9000", cfg.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
	})
	c, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", cfg.URL, err)
	}
	return &S3{c: c, bucket: bucket, prefix: prefix, endpoint: cfg.Endpoint, region: cfg.Region}, nil
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

func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// Stat is the blob as held; ErrNotFound when it is not.
func (s *S3) Stat(ctx context.Context, digest string) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	oi, err := s.c.StatObject(ctx, s.bucket, s.key(digest), minio.StatObjectOptions{})
	if notFound(err) {
		return Info{}, ErrNotFound
	}
	if err != nil {
		return Info{}, s.explain(err)
	}
	return Info{Digest: digest, Size: oi.Size}, nil
}

// Put sends the bytes to a staging object, hashing them on the way, and
// copies it into place only when they match (see S3).
func (s *S3) Put(ctx context.Context, digest string, size int64, r io.Reader) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	tmp := s.prefix + "uploads/" + hexOf(digest) + "." + randHex()
	defer s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, tmp, minio.RemoveObjectOptions{})
	v := newVerifier(r, size)
	if _, err := s.c.PutObject(ctx, s.bucket, tmp, io.LimitReader(v, size), size, minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		if v.n < size {
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

// place copies a checked staging object to the blob's key.
func (s *S3) place(ctx context.Context, tmp, digest string, size int64) (Info, error) {
	_, err := s.c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: s.key(digest)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: tmp})
	if err != nil {
		return Info{}, s.explain(err)
	}
	return Info{Digest: digest, Size: size}, nil
}

// Open reads the blob from offset (the service checks what it stores).
func (s *S3) Open(ctx context.Context, digest string, offset int64) (io.ReadCloser, Info, error) {
	in, err := s.Stat(ctx, digest)
	if err != nil {
		return nil, Info{}, err
	}
	if offset < 0 || offset > in.Size {
		return nil, Info{}, fmt.Errorf("blob %s: offset %d is outside its %d bytes", digest, offset, in.Size)
	}
	opts := minio.GetObjectOptions{}
	if offset > 0 && offset < in.Size {
		opts.SetRange(offset, 0)
	}
	if offset == in.Size {
		return io.NopCloser(strings.NewReader("")), in, nil
	}
	o, err := s.c.GetObject(ctx, s.bucket, s.key(digest), opts)
	if err != nil {
		return nil, Info{}, s.explain(err)
	}
	return o, in, nil
}

// Delete removes the blob's object.
func (s *S3) Delete(ctx context.Context, digest string) error {
	if err := CheckDigest(digest); err != nil {
		return err
	}
	return s.explain(s.c.RemoveObject(ctx, s.bucket, s.key(digest), minio.RemoveObjectOptions{}))
}

// List lists the blob objects under the prefix.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	kp := s.prefix + "sha256/"
	if h, ok := strings.CutPrefix(prefix, "sha256:"); ok && len(h) >= 2 {
		kp += h[:2] + "/"
	}
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: kp, Recursive: true}) {
		if o.Err != nil {
			return s.explain(o.Err)
		}
		dg := "sha256:" + o.Key[strings.LastIndexByte(o.Key, '/')+1:]
		if CheckDigest(dg) != nil || !strings.HasPrefix(dg, prefix) {
			continue
		}
		if err := fn(Info{Digest: dg, Size: o.Size}); err != nil {
			return err
		}
	}
	return nil
}

// PresignGet is a URL that GETs the blob until ttl passes.
func (s *S3) PresignGet(ctx context.Context, digest string, ttl time.Duration) (string, error) {
	if err := CheckDigest(digest); err != nil {
		return "", err
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, s.key(digest), ttl, nil)
	if err != nil {
		return "", s.explain(err)
	}
	return u.String(), nil
}

// PresignPut is a URL that PUTs the blob until ttl passes, with the
// blob's SHA-256 as the x-amz-checksum-sha256 header the PUT must carry
// (it is signed): the store hashes the bytes as they arrive, refuses them
// when they are not the blob, and keeps the checksum with the object, so
// that Commit need not read them back. A store seen to refuse a wrong
// checksum (probeChecksum) is sent the bytes at the blob's own key: what
// it keeps there is checked. Any other gets them under staging, for
// Commit to check and copy into place.
func (s *S3) PresignPut(ctx context.Context, digest string, ttl time.Duration) (string, http.Header, error) {
	if err := CheckDigest(digest); err != nil {
		return "", nil, err
	}
	key := s.staging(digest)
	if s.enforcesChecksums(ctx) {
		key = s.key(digest)
	}
	h := http.Header{"X-Amz-Checksum-Sha256": {checksumOf(digest)}}
	u, err := s.c.PresignHeader(ctx, "PUT", s.bucket, key, ttl, nil, h)
	if err != nil {
		return "", nil, s.explain(err)
	}
	return u.String(), h, nil
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
	defer s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
	other := sha256.Sum256([]byte("not the probe's body"))
	h := http.Header{"X-Amz-Checksum-Sha256": {base64.StdEncoding.EncodeToString(other[:])}}
	u, err := s.c.PresignHeader(ctx, "PUT", s.bucket, key, time.Minute, nil, h)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", u.String(), strings.NewReader("burst checksum probe"))
	if err != nil {
		return false, err
	}
	req.Header = h.Clone()
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

// Commit hashes the staging object a presigned PUT wrote and places it
// when it is the blob; it is removed either way.
func (s *S3) Commit(ctx context.Context, digest string, size int64) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	// Sent to the blob's own key (a store that checks checksums): the
	// store kept the bytes only if they were the blob, and says so.
	if oi, err := s.c.StatObject(ctx, s.bucket, s.key(digest), minio.StatObjectOptions{Checksum: true}); err == nil &&
		oi.Size == size && oi.ChecksumSHA256 == checksumOf(digest) {
		return Info{Digest: digest, Size: size}, nil
	}
	tmp := s.staging(digest)
	defer s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, tmp, minio.RemoveObjectOptions{})
	// The store checked the checksum PresignPut's URL made the PUT carry,
	// and keeps it: when it is there and the blob's, nothing is read back.
	// A store that keeps none (or another) is read back and hashed here.
	if oi, err := s.c.StatObject(ctx, s.bucket, tmp, minio.StatObjectOptions{Checksum: true}); err == nil &&
		oi.Size == size && oi.ChecksumSHA256 == checksumOf(digest) {
		return s.place(ctx, tmp, digest, size)
	}
	o, err := s.c.GetObject(ctx, s.bucket, tmp, minio.GetObjectOptions{})
	if err != nil {
		return Info{}, s.explain(err)
	}
	defer o.Close()
	v := newVerifier(o, size)
	if _, err := io.Copy(io.Discard, v); err != nil {
		if notFound(err) {
			if in, serr := s.Stat(ctx, digest); serr == nil && in.Size == size {
				return in, nil // committed by another upload of the same bytes
			}
			return Info{}, fmt.Errorf("blob %s: nothing was uploaded to the store's URL: PUT the bytes there first", digest)
		}
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
	if _, err := s.c.PutObject(ctx, s.bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("writing a probe object to %s: %w", s.Describe(), s.explain(err))
	}
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err == nil {
		var b []byte
		b, err = io.ReadAll(o)
		o.Close()
		if err == nil && string(b) != body {
			err = fmt.Errorf("read back %d bytes that differ from the %d written", len(b), len(body))
		}
	}
	if err != nil {
		s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
		return fmt.Errorf("reading back a probe object from %s: %w", s.Describe(), s.explain(err))
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("deleting a probe object from %s: %w", s.Describe(), s.explain(err))
	}
	return nil
}

// explain turns the service's errors into what to do about them.
func (s *S3) explain(err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return fmt.Errorf("cannot reach the endpoint %s (%v): check --endpoint and that the service runs", s.endpointName(), err)
	}
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchBucket":
		return fmt.Errorf("no bucket %q at %s: create it (e.g. `mc mb`, `aws s3 mb s3://%s`) or name another", s.bucket, s.endpointName(), s.bucket)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%s refused the server's credentials (%s): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) for the server, with rights to put, get and delete objects in %s",
			s.endpointName(), minio.ToErrorResponse(err).Code, s.bucket)
	}
	if strings.Contains(err.Error(), "Access Key Id") || strings.Contains(err.Error(), "anonymous") {
		return fmt.Errorf("no credentials for %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) where the server runs", s.endpointName())
	}
	return err
}

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
