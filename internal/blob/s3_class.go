package blob

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Classer is a Store whose blobs have a storage class (S3's STANDARD,
// STANDARD_IA, GLACIER_IR, ...): moving a project's blobs to a tier that
// names one sets it (docs/storage.md).
type Classer interface {
	// SetClass gives the blob's object the storage class, in place.
	SetClass(ctx context.Context, digest, class string) error
	// Class is the blob object's storage class ("STANDARD" when the
	// service reports none).
	Class(ctx context.Context, digest string) (string, error)
}

var _ Classer = (*S3)(nil)

// SetClass copies the blob's object onto itself with the storage class:
// S3's way to change it. A service that does not offer the class refuses
// (MinIO knows STANDARD and REDUCED_REDUNDANCY only).
func (s *S3) SetClass(ctx context.Context, digest, class string) error {
	if err := CheckDigest(digest); err != nil {
		return err
	}
	key := s.key(digest)
	oi, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return s.explain(err)
	}
	return s.explain(s.copyObject(ctx, key, key, aws.ToInt64(oi.ContentLength), class))
}

// Class is the blob object's storage class.
func (s *S3) Class(ctx context.Context, digest string) (string, error) {
	if err := CheckDigest(digest); err != nil {
		return "", err
	}
	oi, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(digest))})
	if err != nil {
		return "", s.explain(err)
	}
	return ObjectClass(oi), nil
}

// ObjectClass is an object's storage class as a HEAD reports it: S3 and
// MinIO send none for STANDARD.
func ObjectClass(oi *s3.HeadObjectOutput) string {
	if oi.StorageClass != "" {
		return string(oi.StorageClass)
	}
	return "STANDARD"
}
