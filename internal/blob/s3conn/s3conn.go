// Package s3conn makes the S3 clients of burst's blob store and of its
// agents' s3:// inputs, with the AWS SDK for Go v2 (the one S3 library
// burst links), and reads the SDK's errors for the messages that name
// their fix.
package s3conn

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/burst-sh/burst/internal/stallconn"
)

// DefaultRegion is the region a store or agent that names none signs for:
// what MinIO and AWS's global endpoint expect.
const DefaultRegion = "us-east-1"

// imdsWait bounds each request to the instance metadata service for the
// instance role's credentials, with no retry: on EC2 it answers at once;
// elsewhere its address may not answer at all, and a machine without
// credentials must learn it in seconds. The other sources (a
// credential_process, SSO, an assumed role) may take longer and are
// given it: credsWait bounds a whole look only against one that hangs.
const (
	imdsWait  = time.Second
	credsWait = time.Minute
)

// SendStall bounds how long what a request sends (an upload's body) may
// go without the endpoint taking a byte of it (stallconn): an endpoint
// that took the connection and then reads nothing fails the request in
// that time, which the SDK's retries then send again where they can,
// instead of holding it as long as TCP would (for ever). Read when a
// connection is made; a variable so that tests can make it short.
var SendStall = 2 * time.Minute

// httpClient is the SDK's HTTP client, its connections' writes bounded by
// SendStall (its reads it bounds itself).
func httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return stallconn.Wrap(c, SendStall), nil
		}
	})
}

// New is a client of endpoint (http(s)://host[:port], addressed by path,
// as MinIO wants, but for AWS's own; empty: AWS itself, whatever
// AWS_ENDPOINT_URL says) in region (empty: the one an AWS endpoint names,
// as s3.eu-west-2.amazonaws.com does, else DefaultRegion), with the AWS
// credential chain: the
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN variables,
// the shared files (~/.aws/credentials, AWS_PROFILE), then the instance
// role. It calls nothing. The SDK adds no checksums of its own to
// requests or checks of responses beyond what S3 requires: burst checks
// the SHA-256 of what it moves itself. Creds is the chain, to tell no
// credentials from refused ones.
func New(ctx context.Context, endpoint, region string, opts ...func(*s3.Options)) (*s3.Client, aws.CredentialsProvider, error) {
	onAWS := false
	if u, err := url.Parse(endpoint); err == nil && endpoint != "" {
		host := u.Hostname()
		onAWS = strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
		if region == "" {
			region = RegionOf(host)
		}
	}
	if region == "" {
		region = DefaultRegion
	}
	// The SDK passes over a shared file it cannot read as if there were
	// none: its credentials would silently be missing, and an agent
	// would ask anonymously. Such a file is named first.
	err := unreadableSharedFile()
	var cfg aws.Config
	hc := httpClient()
	if err == nil {
		cfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithHTTPClient(hc),
			config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) {
				o.Client = imds.New(imds.Options{HTTPClient: &http.Client{Timeout: imdsWait}, Retryer: aws.NopRetryer{}})
			}),
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	if err != nil {
		// A configuration that cannot be read (AWS_PROFILE naming no
		// profile, a broken ~/.aws/config) fails each request that needs
		// credentials, saying so, not the client's making: a server whose
		// store is S3 still starts and runs what needs no blob, and the
		// fix is read when a blob is asked for.
		cfg = aws.Config{Region: region, Credentials: brokenConfig{err}, HTTPClient: hc,
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired}
	}
	creds := boundedCreds{cfg.Credentials}
	cl := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.Credentials = creds
		o.BaseEndpoint = nil
		if endpoint != "" {
			o.BaseEndpoint = &endpoint
			o.UsePathStyle = !onAWS
		}
		for _, f := range opts {
			f(o)
		}
	})
	return cl, creds, nil
}

// RegionOf is the region an AWS S3 endpoint's host names
// (s3.eu-west-2.amazonaws.com, s3-eu-west-2.amazonaws.com,
// s3.dualstack.eu-west-2.amazonaws.com), else "".
func RegionOf(host string) string {
	h, ok := strings.CutSuffix(host, ".amazonaws.com")
	if !ok {
		h, ok = strings.CutSuffix(host, ".amazonaws.com.cn")
	}
	if !ok {
		return ""
	}
	labels := strings.Split(h, ".")
	last := labels[len(labels)-1]
	switch {
	case last == "s3-external-1":
		return "us-east-1"
	case len(labels) == 1 && strings.HasPrefix(last, "s3-"):
		last = last[len("s3-"):]
	}
	if !strings.Contains(last, "-") {
		return ""
	}
	return last
}

// Unsigned is the option of a call whose body is a stream (PutObject,
// UploadPart): its bytes are sent as they are read, not hashed first to
// sign them (which needs a body that can be read twice, over plain HTTP),
// as UNSIGNED-PAYLOAD. Burst checks what it sends by its SHA-256.
func Unsigned(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// Once is the option of a call sent once, without the SDK's retries: one
// whose body is a stream, which cannot be sent again.
func Once(o *s3.Options) { o.Retryer = aws.NopRetryer{} }

// boundedCreds is the SDK's chain, each look bounded by credsWait (the
// instance role's by imdsWait), its failure a *NoCredentialsError.
type boundedCreds struct{ p aws.CredentialsProvider }

func (b boundedCreds) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if b.p == nil {
		return aws.Credentials{}, &NoCredentialsError{errors.New("none configured")}
	}
	ctx, cancel := context.WithTimeout(ctx, credsWait)
	defer cancel()
	c, err := b.p.Retrieve(ctx)
	if _, broken := b.p.(brokenConfig); err != nil && !broken {
		return c, &NoCredentialsError{err}
	}
	if err != nil {
		return c, err // the configuration's own word, with its fix
	}
	return c, nil
}

// brokenConfig is the credentials of an AWS configuration that could not
// be read: each look fails with why (a *ConfigError).
type brokenConfig struct{ err error }

func (b brokenConfig) Retrieve(context.Context) (aws.Credentials, error) {
	var ce *ConfigError
	if errors.As(b.err, &ce) {
		return aws.Credentials{}, ce
	}
	return aws.Credentials{}, &ConfigError{Err: b.err}
}

// ConfigError: the AWS configuration cannot be read (a shared file this
// user cannot read, a profile that is not there). It is not the absence
// of credentials: nothing goes on without them because of it.
type ConfigError struct {
	File, Env string // the file that cannot be read and the variable that moves it; "" when not a file's
	Err       error
}

func (e *ConfigError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("the AWS configuration cannot be read (%v): fix ~/.aws/config or the AWS_* variables (AWS_PROFILE)", e.Err)
	}
	return fmt.Sprintf("the AWS file %s cannot be read (%v): make it readable by the user this runs as (uid %d), or set %s to one that is",
		e.File, e.Err, os.Geteuid(), e.Env)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// BrokenConfig is whether err is the AWS configuration that cannot be
// read (*ConfigError).
func BrokenConfig(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// unreadableSharedFile is the first of the shared credentials and config
// files that is there but cannot be read, as a *ConfigError; nil when
// each is readable or absent.
func unreadableSharedFile() error {
	for _, f := range []struct{ env, path string }{
		{"AWS_SHARED_CREDENTIALS_FILE", config.DefaultSharedCredentialsFilename()},
		{"AWS_CONFIG_FILE", config.DefaultSharedConfigFilename()},
	} {
		path := cmp.Or(os.Getenv(f.env), f.path)
		fh, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			_, err = fh.Read(make([]byte, 1)) // a directory opens, and fails here
			fh.Close()
			if err == io.EOF {
				err = nil
			}
		}
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return &ConfigError{File: path, Env: f.env, Err: err}
		}
	}
	return nil
}

// NoCredentialsError: the chain found no credentials.
type NoCredentialsError struct{ Err error }

func (e *NoCredentialsError) Error() string { return "no AWS credentials: " + e.Err.Error() }
func (e *NoCredentialsError) Unwrap() error { return e.Err }

// HasCredentials is whether the chain finds credentials now; err is the
// configuration that cannot be read (a *ConfigError), which is no
// reason to go on without credentials.
func HasCredentials(ctx context.Context, p aws.CredentialsProvider) (bool, error) {
	c, err := p.Retrieve(ctx)
	if BrokenConfig(err) {
		return false, err
	}
	return err == nil && c.AccessKeyID != "", nil
}

// Code is the service's error code ("NoSuchKey", "AccessDenied", ...;
// "NotFound" for a HEAD's 404, whose response has no body), "" for an
// error that is not the service's.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Status is the HTTP status of the service's response; 0 when none came.
func Status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// BucketRegion is the region the service says the bucket is in, when it
// refused a request signed for another ("" when it did not say).
func BucketRegion(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

// NotFound is whether err says the object (or, to a HEAD, possibly its
// bucket) is not there.
func NotFound(err error) bool {
	switch Code(err) {
	case "NoSuchKey", "NotFound":
		return true
	}
	return false
}

// Unreachable is whether err is the endpoint not answering (no route, no
// such host, refused), not an answer of the service.
func Unreachable(err error) bool {
	if Status(err) != 0 {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de) || errors.As(err, &ne) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host")
}

// TLSProblem is what is wrong with the TLS of an endpoint err came from,
// in a few words with the fix ("" when it is not TLS): a certificate this
// machine does not trust, or a name it does not hold, or an endpoint that
// does not speak TLS at all (http:// given as https://).
func TLSProblem(err error) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua), errors.As(err, &cv) && !errors.As(err, &he) && !errors.As(err, &ci):
		return "its TLS certificate is signed by no authority this machine trusts: give the CA's certificate (SSL_CERT_FILE, or the system's store)"
	case errors.As(err, &he):
		return "its TLS certificate does not hold the name given: give the endpoint by a name its certificate holds"
	case errors.As(err, &ci):
		return "its TLS certificate is not valid (expired, or not yet): renew it, or check this machine's clock"
	case errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"): // net/http's own word for it
		return "it does not speak TLS: give it as http://"
	}
	return ""
}

// NotS3 is whether err says the endpoint answered what no S3 service
// answers: a body that does not parse as S3's, or a server error with no
// S3 code (a web server, a proxy's error page, another service).
func NotS3(err error) bool {
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		return true
	}
	s := Status(err)
	return s >= 500 && (Code(err) == "" || Code(err) == http.StatusText(s) || strings.ReplaceAll(http.StatusText(s), " ", "") == Code(err))
}

// NoCredentials is whether err is the chain finding none (no request was
// sent).
func NoCredentials(err error) bool {
	var ne *NoCredentialsError
	return errors.As(err, &ne)
}
