package agent

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/backoff"
	"github.com/burst-sh/burst/internal/blob/hashpipe"
	"github.com/burst-sh/burst/internal/blob/s3conn"
	"github.com/burst-sh/burst/internal/blob/writeback"
)

// s3:// inputs (docs/staging.md). The agent fetches them itself, with its
// own credentials (the AWS chain: environment, shared credentials file,
// instance role) from its own endpoint (AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL, else AWS), into the same cache as the store's blobs,
// keyed by the URL and the object's ETag and version: a changed object is
// fetched again, an unchanged one once per machine. Every transfer is
// checked: its size, the digest the job pinned (s3://B/K#sha256:HEX), else
// the object's MD5 where its ETag is one; a cut transfer resumes where it
// stopped, a wrong one is fetched again from the start, a bounded number
// of times, and never left in the cache.

// s3Tries bounds the transfers of one object for one fetch.
const s3Tries = 5

// s3Fetcher fetches the s3:// inputs of one agent: one client (whose
// credentials it caches and renews), one that asks anonymously (a machine
// without credentials reads public buckets), and the digest of each
// object it fetched, for the tasks that use it.
type s3Fetcher struct {
	once   sync.Once
	cl     *s3.Client
	anon   *s3.Client
	creds  aws.CredentialsProvider
	where  string // the endpoint, for messages
	err    error
	mu     sync.Mutex
	digest map[string]string // cache key → sha256 digest as fetched
	// noCreds is until when the chain is known to find no credentials
	// (asked again a minute later: IMDS may take a moment to answer).
	noCreds time.Time
	// regional are the clients of other regions than the agent's, made
	// for the buckets that S3 said were there.
	regional map[*s3.Client]map[string]*s3.Client
}

// s3s is the agent's fetcher: its configuration is the process's
// environment, read once.
var s3s = &s3Fetcher{}

// errS3 is an s3:// input that cannot be fetched for a reason of the
// job's or of its credentials (no such key, access denied, a digest that
// is not the object's): the task fails, saying the fix.
type errS3 struct{ error }

func (e errS3) Unwrap() error { return e.error }

// s3Source is where an s3:// input comes from: its cache key (the URL,
// ETag and version), the fetch, its size, and the check of what the cache
// holds (the pin), which gives the note the task's end carries.
func s3Source(ctx context.Context, in burst.Input, log *slog.Logger) (string, fetchFunc, int64, func() (string, error), error) {
	return s3s.source(ctx, in, log)
}

func (f *s3Fetcher) source(ctx context.Context, in burst.Input, log *slog.Logger) (string, fetchFunc, int64, func() (string, error), error) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(in.URL, "s3://"), "/")
	cl, err := f.client(ctx)
	if err != nil {
		return "", nil, 0, nil, errS3{fmt.Errorf("%s: %w", in.URL, err)}
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if r := s3conn.BucketRegion(err); r != "" && r != cl.Options().Region {
		// The bucket is in another region than the agent's (AWS_REGION):
		// asked there, as S3 says.
		cl = f.inRegion(cl, r)
		head, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	}
	if err != nil {
		return "", nil, 0, nil, f.explain(ctx, cl, bucket, in.URL, err)
	}
	info := objectOf(head)
	sum := sha256.Sum256([]byte(in.URL + "\x00" + info.ETag + "\x00" + info.VersionID))
	ckey := "s3:" + hex.EncodeToString(sum[:])
	fetch := func(ctx context.Context, dst string) error {
		start := time.Now()
		d, err := f.fetch(ctx, cl, in, bucket, key, info, dst)
		if err != nil {
			return err
		}
		log.Info("fetched an s3:// input", "url", in.URL, "etag", strings.Trim(info.ETag, `"`), "bytes", info.Size, "digest", d, "took", time.Since(start).Round(time.Millisecond))
		f.mu.Lock()
		if f.digest == nil {
			f.digest = map[string]string{}
		}
		f.digest[ckey] = d
		f.mu.Unlock()
		return nil
	}
	// Once it is in the cache (fetched now, by another task, or before):
	// the pin is checked against the digest it arrived with, and the
	// task's end says which it was.
	check := func() (string, error) {
		f.mu.Lock()
		d := f.digest[ckey]
		f.mu.Unlock()
		switch {
		case d == "":
			return "", fmt.Errorf("%s: the cache holds it but not its digest", in.URL) // every agent fetches its own s3 entries: not reached
		case in.Digest != "" && d != in.Digest:
			return "", errS3{fmt.Errorf("%s is %s, not the %s its --in pinned: the object changed since the job was submitted; pin its new digest or restore it", in.URL, d, in.Digest)}
		case in.Digest != "":
			return "", nil // the job says it already
		}
		return fmt.Sprintf("input %s from %s (ETag %s) was %s", in.Path, in.URL, strings.Trim(info.ETag, `"`), d), nil
	}
	return ckey, fetch, info.Size, check, nil
}

// s3Object is what the fetch needs of an object's HEAD.
type s3Object struct {
	ETag, VersionID string // the ETag without its quotes
	Size            int64
	// SSE and SSECustomer are its server-side encryption ("AES256",
	// "aws:kms", ...) and customer key algorithm, which make its ETag
	// something other than its MD5.
	SSE, SSECustomer string
}

func objectOf(h *s3.HeadObjectOutput) s3Object {
	return s3Object{ETag: strings.Trim(aws.ToString(h.ETag), `"`), VersionID: aws.ToString(h.VersionId), Size: aws.ToInt64(h.ContentLength),
		SSE: string(h.ServerSideEncryption), SSECustomer: aws.ToString(h.SSECustomerAlgorithm)}
}

// s3Endpoint is the agent's S3 endpoint: AWS_ENDPOINT_URL_S3, else
// AWS_ENDPOINT_URL, else "" (AWS).
func s3Endpoint() (string, error) {
	raw := os.Getenv("AWS_ENDPOINT_URL_S3")
	if raw == "" {
		raw = os.Getenv("AWS_ENDPOINT_URL")
	}
	if raw != "" {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", fmt.Errorf("the agent's S3 endpoint %q is not a URL: set AWS_ENDPOINT_URL_S3 to one like https://s3.eu-west-2.amazonaws.com", raw)
		}
	}
	return raw, nil
}

// client is the agent's S3 client, made once from its environment: the
// one with its credentials when the chain finds some now (IMDS is waited
// for 3 s at most: a machine off EC2 learns it has none in seconds), else
// the anonymous one. An AWS configuration that cannot be read is an
// error, not a machine without credentials.
func (f *s3Fetcher) client(ctx context.Context) (*s3.Client, error) {
	f.once.Do(func() {
		endpoint, err := s3Endpoint()
		if err != nil {
			f.err = err
			return
		}
		region := os.Getenv("AWS_REGION")
		if region == "" {
			region = os.Getenv("AWS_DEFAULT_REGION")
		}
		f.where = endpoint
		if f.where == "" {
			f.where = "https://s3.amazonaws.com"
		}
		f.init(ctx, endpoint, region)
	})
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	none := time.Now().Before(f.noCreds)
	f.mu.Unlock()
	if !none {
		has, err := s3conn.HasCredentials(ctx, f.creds)
		if err != nil { // not none: unreadable, so never anonymous
			return nil, fmt.Errorf("the agent's AWS configuration: %w", err)
		}
		if !has {
			none = true
			f.mu.Lock()
			f.noCreds = time.Now().Add(time.Minute)
			f.mu.Unlock()
		}
	}
	if none {
		return f.anon, nil
	}
	return f.cl, nil
}

// inRegion is cl for region.
func (f *s3Fetcher) inRegion(cl *s3.Client, region string) *s3.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.regional == nil {
		f.regional = map[*s3.Client]map[string]*s3.Client{}
	}
	if f.regional[cl] == nil {
		f.regional[cl] = map[string]*s3.Client{}
	}
	if f.regional[cl][region] == nil {
		f.regional[cl][region] = s3.New(cl.Options(), func(o *s3.Options) { o.Region = region })
	}
	return f.regional[cl][region]
}

// init makes the fetcher's clients of endpoint in region.
func (f *s3Fetcher) init(ctx context.Context, endpoint, region string, opts ...func(*s3.Options)) {
	f.cl, f.creds, f.err = s3conn.New(ctx, endpoint, region, opts...)
	if f.err != nil {
		f.err = fmt.Errorf("the agent's AWS configuration: %w: fix ~/.aws/config or the AWS_* variables", f.err)
		return
	}
	f.anon = s3.New(f.cl.Options(), func(o *s3.Options) { o.Credentials = aws.AnonymousCredentials{} })
}

// machineFault says whether a 400's code says the machine's trouble (its
// clock, its credentials' age, a slow link), not the request's: the task
// runs again, elsewhere if need be. (A switch, not a map: nothing made at
// every command's start.)
func machineFault(code string) bool {
	switch code {
	case "RequestTimeout", "RequestTimeTooSkewed", "ExpiredToken":
		return true
	}
	return false
}

// explain turns an S3 error into one line that names the fix.
func (f *s3Fetcher) explain(ctx context.Context, cl *s3.Client, bucket, u string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	anon := cl.Options().Credentials == nil // s3.New keeps no AnonymousCredentials: it signs nothing
	code, status := s3conn.Code(err), s3conn.Status(err)
	if code == "NotFound" || code == "NoSuchKey" { // a HEAD's 404 says no more: which is missing?
		code = "NoSuchKey"
		if _, berr := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); s3conn.Status(berr) == http.StatusNotFound {
			code = "NoSuchBucket"
		}
	}
	switch {
	case code == "NoSuchKey" || status == http.StatusNotFound && code != "NoSuchBucket":
		return errS3{fmt.Errorf("%s: no such key at %s: check the URL (e.g. `aws s3 ls %s`)", u, f.where, u)}
	case code == "NoSuchBucket":
		return errS3{fmt.Errorf("%s: no such bucket at %s: check the URL, and AWS_ENDPOINT_URL_S3 / AWS_REGION on the machine", u, f.where)}
	case anon && (status == http.StatusForbidden || status == http.StatusUnauthorized):
		return errS3{fmt.Errorf("%s: access denied, and the machine has no S3 credentials: give its agent AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN too for temporary ones), a shared credentials file (~/.aws/credentials, AWS_PROFILE), or an instance role", u)}
	case s3conn.BucketRegion(err) != "" && (status == http.StatusMovedPermanently || status == http.StatusBadRequest):
		return errS3{fmt.Errorf("%s: the bucket is in region %s: set AWS_REGION=%s for the machine's agent", u, s3conn.BucketRegion(err), s3conn.BucketRegion(err))}
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return errS3{fmt.Errorf("%s: %s refuses the machine's S3 credentials (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its agent's environment", u, f.where, code)}
	case status == http.StatusForbidden:
		return errS3{fmt.Errorf("%s: access denied to the machine's S3 credentials: grant them s3:GetObject on it", u)}
	case status == 0 && s3conn.TLSProblem(err) != "":
		return errS3{fmt.Errorf("%s: S3 at %s: %s (%v)", u, f.where, s3conn.TLSProblem(err), err)}
	case status == 0:
		return errS3{fmt.Errorf("%s: cannot reach S3 at %s (%v): check the machine's network and AWS_ENDPOINT_URL_S3", u, f.where, err)}
	case status == http.StatusBadRequest && !machineFault(code):
		// The request itself is refused (a key with "..", a name the
		// store does not take): the job's, on any machine.
		return errS3{fmt.Errorf("%s: %s refuses the request for it (%s): check the URL; the key may hold what the store does not take (such as ..)", u, f.where, cmp.Or(code, "400 Bad Request"))}
	}
	return fmt.Errorf("%s: %w", u, err) // the server's trouble: the task runs again
}

// fetch writes object key (as info describes it) to dst, checked, and
// returns its sha256 digest. A cut transfer resumes from where it stopped;
// a whole one that is wrong starts over; at most s3Tries transfers.
func (f *s3Fetcher) fetch(ctx context.Context, cl *s3.Client, in burst.Input, bucket, key string, info s3Object, dst string) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".s3-*")
	if err != nil {
		return "", fmt.Errorf("blob cache: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // gone once renamed
	}()
	wantMD5 := "" // a pin checks it all: MD5 (at about 650 MB/s a core) is only for the unpinned
	if in.Digest == "" {
		wantMD5 = etagMD5(info)
	}
	var (
		off        int64
		sh, md     hash.Hash = sha256.New(), md5.New()
		last       error
		lastDigest string // of the last whole transfer the MD5 refused
	)
	b := backoff.New(200*time.Millisecond, 3*time.Second)
	for try := 0; try < s3Tries; try++ {
		if try > 0 {
			if err := b.Wait(ctx); err != nil {
				return "", err
			}
		}
		// Hashed beside the writes (hashpipe), written back to disk as
		// they arrive (writeback): the fsync below waits for the last
		// few MiB, not the whole object.
		var h hash.Hash = sh
		if wantMD5 != "" {
			h = hashes{sh, md}
		}
		n, err := f.transfer(ctx, cl, bucket, key, info.ETag, off, writeback.New(tmp, off), h)
		off += n
		if err == nil && off < info.Size {
			err = io.ErrUnexpectedEOF // a body that ended early: resumed from off
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if we := new(writeback.Error); errors.As(err, &we) {
				// Bytes taken may not be on disk: going on from off
				// would keep a file with a hole the fsync cannot see.
				return "", fmt.Errorf("blob cache: %w", err)
			}
			if s3conn.Status(err) == http.StatusPreconditionFailed {
				return "", fmt.Errorf("%s changed while it was fetched: the task runs again with the new object", in.URL)
			}
			last = fmt.Errorf("%s: cut after %d of %d bytes: %w", in.URL, off, info.Size, err)
			continue // resumed from off
		}
		digest := "sha256:" + hex.EncodeToString(sh.Sum(nil))
		switch {
		case off != info.Size:
			last = fmt.Errorf("%s arrived with %d bytes, not %d", in.URL, off, info.Size)
		case in.Digest != "" && digest != in.Digest:
			if digest == lastDigest { // the same bytes twice: the object's, not the transfer's
				return "", errS3{fmt.Errorf("%s is %s, not the %s its --in pinned: the object changed since the job was submitted; pin its new digest or restore it", in.URL, digest, in.Digest)}
			}
			last = fmt.Errorf("%s arrived as %s, not the %s its --in pinned", in.URL, digest, in.Digest)
			lastDigest = digest // once more from the start
		case wantMD5 != "" && hex.EncodeToString(md.Sum(nil)) != wantMD5 && digest != lastDigest:
			// An ETag that looks like an MD5 may not be one (some
			// stores' encryption): the same bytes twice are accepted.
			last = fmt.Errorf("%s arrived with MD5 %x, not its ETag %s", in.URL, md.Sum(nil), wantMD5)
			lastDigest = digest
		default:
			if err := tmp.Sync(); err != nil {
				return "", fmt.Errorf("blob cache: %w", err)
			}
			if err := tmp.Close(); err != nil {
				return "", fmt.Errorf("blob cache: %w", err)
			}
			if err := os.Rename(tmp.Name(), dst); err != nil {
				return "", fmt.Errorf("blob cache: %w", err)
			}
			return digest, nil
		}
		// Whole but wrong: from the start.
		if err := tmp.Truncate(0); err != nil {
			return "", fmt.Errorf("blob cache: %w", err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return "", fmt.Errorf("blob cache: %w", err)
		}
		off = 0
		sh.Reset()
		md.Reset()
	}
	return "", errS3{fmt.Errorf("%w (after %d tries: not used; check the machine's network to S3)", last, s3Tries)}
}

// transfer copies the object from off to its end into w, as long as its
// ETag is still etag, hashing into h exactly what w took, and says how
// many bytes it copied. It reads the HTTP response's body itself.
func (f *s3Fetcher) transfer(ctx context.Context, cl *s3.Client, bucket, key, etag string, off int64, w io.Writer, h hash.Hash) (int64, error) {
	get := &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfMatch: aws.String(`"` + etag + `"`)}
	if off > 0 {
		get.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	obj, err := cl.GetObject(ctx, get)
	if err != nil {
		return 0, err
	}
	defer obj.Body.Close()
	return hashpipe.Copy(w, obj.Body, h)
}

// hashes is two hashes written together (the SHA-256 that names the
// object, the MD5 its ETag may be); Sum, Size and BlockSize are the
// first's. Only Write is used (hashpipe.Copy).
type hashes [2]hash.Hash

func (hs hashes) Write(p []byte) (int, error) {
	hs[0].Write(p)
	return hs[1].Write(p)
}
func (hs hashes) Sum(b []byte) []byte { return hs[0].Sum(b) }
func (hs hashes) Reset()              { hs[0].Reset(); hs[1].Reset() }
func (hs hashes) Size() int           { return hs[0].Size() }
func (hs hashes) BlockSize() int      { return hs[0].BlockSize() }

// etagMD5 is the object's MD5 where its ETag is one: a single-part
// upload (32 hex digits) stored without KMS or customer keys.
func etagMD5(info s3Object) string {
	e := strings.ToLower(strings.Trim(info.ETag, `"`))
	if len(e) != 32 || strings.Trim(e, "0123456789abcdef") != "" {
		return ""
	}
	if info.SSE != "" && info.SSE != "AES256" {
		return ""
	}
	if info.SSECustomer != "" {
		return ""
	}
	return e
}
