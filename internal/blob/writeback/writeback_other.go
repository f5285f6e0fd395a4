//go:build !linux

package writeback

import "os"

// Elsewhere the fsync at the end does all the work.
func startWriteback(*os.File, int64, int64)    {}
func waitWritten(*os.File, int64, int64) error { return nil }
