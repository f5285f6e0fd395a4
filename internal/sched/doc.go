// Package sched decides which queued tasks start now and on which machines, as pure logic over a snapshot.
// It must not do I/O or read the clock: the caller passes the snapshot and the current time in.
package sched
