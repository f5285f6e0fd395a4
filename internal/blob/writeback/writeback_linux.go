package writeback

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// syncFileRange is sync_file_range(2) (tests put in its place what the
// kernel reports of a disk that fails).
var syncFileRange = unix.SyncFileRange

// startWriteback asks the kernel to start writing the range to disk and
// returns at once. Starting reports no I/O error of the writeback itself
// (that is the wait's, below, or the fsync's), and a filesystem that
// refuses the call (EINVAL, ESPIPE) only loses the head start.
func startWriteback(f *os.File, off, n int64) {
	syncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// waitWritten waits until the range's writeback, started before, is done,
// and returns the I/O error it met. That error is this call's alone: the
// kernel reports a file's writeback error once to each open file, so the
// fsync after it would return nil. A filesystem that refuses the call
// reports nothing.
func waitWritten(f *os.File, off, n int64) error {
	err := syncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ESPIPE) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil
	}
	return err
}
