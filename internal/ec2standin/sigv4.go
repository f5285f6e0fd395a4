package ec2standin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// verifySigV4 checks r's SigV4 signature (Authorization header) against the
// key pair by signing the same request again with the SDK's signer, and
// returns the region of its credential scope.
func verifySigV4(r *http.Request, body []byte, keyID, secret string) (string, *apiError) {
	const scheme = "AWS4-HMAC-SHA256 "
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, scheme) {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials (the request is not signed with SigV4)")
	}
	var cred, signed string
	for _, part := range strings.Split(strings.TrimPrefix(auth, scheme), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		}
	}
	scope := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials (malformed credential scope %q)", cred)
	}
	if scope[0] != keyID {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials")
	}
	region, service := scope[2], scope[3]
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials (no valid X-Amz-Date)")
	}
	if d := time.Since(at); d > 15*time.Minute || d < -15*time.Minute {
		return "", errf("RequestExpired", "Request has expired (signed at %s).", at.Format(time.RFC3339))
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hash {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials (the body does not match its hash)")
	}
	// The same request with only the headers it signed, signed again.
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	again.Host = r.Host
	for _, h := range strings.Split(signed, ";") {
		switch h {
		case "host", "x-amz-date":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hash, service, region, at); err != nil {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials (%v)", err)
	}
	if subtle.ConstantTimeCompare([]byte(again.Header.Get("Authorization")), []byte(auth)) != 1 {
		return "", errf("AuthFailure", "AWS was not able to validate the provided access credentials")
	}
	return region, nil
}
