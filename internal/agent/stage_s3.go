package agent

import (
	"context"
	"errors"

	"github.com/burst-sh/burst"
)

// s3Source is where an s3:// input comes from.
func s3Source(ctx context.Context, in burst.Input) (string, fetchFunc, int64, error) {
	return "", nil, 0, errors.New(in.URL + ": s3:// inputs are not fetched by this agent yet")
}
