package client

import "time"

// SetSettleTime makes files that changed less than d ago rememberable in
// the digest cache (tests make files and upload them at once).
func SetSettleTime(d time.Duration) (undo func()) {
	was := settleTime
	settleTime = d
	return func() { settleTime = was }
}

// FilesRead is how many files uploads read (hashed or sent) so far.
func FilesRead() int64 { return filesRead.Load() }

// SetAnswerTimeout makes calls give up on a silent server after d.
func SetAnswerTimeout(d time.Duration) (undo func()) {
	was := answerTimeout
	answerTimeout = d
	return func() { answerTimeout = was }
}

// FilesPassed and FilesTaken count uploads that passed their file to the
// server, and reads that took the store's file (blobs_fd.go).
func FilesPassed() int64 { return filesPassed.Load() }
func FilesTaken() int64  { return filesTaken.Load() }
