package blob

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Sweeper is a Store that can be left with what a failed upload did not
// get to remove: the store, or the server, gone in the middle of it.
type Sweeper interface {
	// SweepStaging removes what uploads left under their staging names
	// before before (objects; open multipart uploads, aborted), and says
	// how many of each.
	SweepStaging(ctx context.Context, before time.Time) (objects, uploads int, err error)
}

var _ Sweeper = (*S3)(nil)

// SweepStaging removes the objects under <prefix>uploads/ and
// <prefix>probe/ last written before before, and aborts the multipart
// uploads under <prefix>uploads/ begun before it (their parts are billed
// until then; AWS keeps them for good without a lifecycle rule, MinIO
// drops them itself after a day and lists them only by their whole key).
// A failed upload removes its own at once; these are what one could not
// (the store down, the server killed in the middle).
func (s *S3) SweepStaging(ctx context.Context, before time.Time) (objects, uploads int, err error) {
	for _, p := range []string{s.prefix + "uploads/", s.prefix + "probe/"} {
		pages := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(p)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return objects, uploads, s.explain(err)
			}
			for _, o := range page.Contents {
				if o.LastModified == nil || !o.LastModified.Before(before) {
					continue
				}
				if err := s.remove(ctx, aws.ToString(o.Key)); err != nil {
					return objects, uploads, s.explain(err)
				}
				objects++
			}
		}
	}
	up := s.prefix + "uploads/"
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &up}
	for {
		out, err := s.c.ListMultipartUploads(ctx, in)
		if err != nil {
			return objects, uploads, s.explain(err)
		}
		for _, u := range out.Uploads {
			if !strings.HasPrefix(aws.ToString(u.Key), up) || u.Initiated == nil || !u.Initiated.Before(before) {
				continue
			}
			if _, err := s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
				return objects, uploads, s.explain(err)
			}
			uploads++
		}
		if !aws.ToBool(out.IsTruncated) {
			return objects, uploads, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
