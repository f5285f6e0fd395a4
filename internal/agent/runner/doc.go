// Package runner starts and supervises one task's process on the agent's machine: process group, log files, time and memory limits, cancellation and cleanup, and the exit facts (state, code, signal, rusage).
//
// It knows nothing of servers, stores or scheduling, and must not talk to them: callers turn a Result into whatever they record.
package runner
