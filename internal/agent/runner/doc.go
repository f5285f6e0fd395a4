// Package runner starts and supervises one task's process on an agent: process group, log files, time and memory limits, cancellation, cleanup, and how it ended.
// It knows nothing of servers, stores or scheduling and must not reach them: callers decide what a Result means and where it goes.
package runner
