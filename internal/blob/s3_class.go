package blob

import (
	"context"

	"github.com/minio/minio-go/v7"
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
	_, err := s.c.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: key, ReplaceMetadata: true, UserMetadata: map[string]string{"X-Amz-Storage-Class": class}},
		minio.CopySrcOptions{Bucket: s.bucket, Object: key})
	return s.explain(err)
}

// Class is the blob object's storage class.
func (s *S3) Class(ctx context.Context, digest string) (string, error) {
	if err := CheckDigest(digest); err != nil {
		return "", err
	}
	in, err := s.c.StatObject(ctx, s.bucket, s.key(digest), minio.StatObjectOptions{})
	if err != nil {
		return "", s.explain(err)
	}
	return ObjectClass(in), nil
}

// ObjectClass is an object's storage class as a HEAD reports it: MinIO
// leaves the StorageClass field empty and sends the header, which is
// absent for STANDARD.
func ObjectClass(in minio.ObjectInfo) string {
	if c := in.Metadata.Get("X-Amz-Storage-Class"); c != "" {
		return c
	}
	if in.StorageClass != "" {
		return in.StorageClass
	}
	return "STANDARD"
}
