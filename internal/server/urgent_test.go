package server

import (
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// TestUrgent: an agent's waiting lease is answered at once for any one of
// a cancel, a signal, a new time limit (each also when sent and not yet
// acknowledged), a task to start now, or a queue it holds running low;
// not for nothing, nor for prefetched tasks while it holds enough.
func TestUrgent(t *testing.T) {
	ref := client.TaskRef{Job: 1, Index: 0, Attempt: 1}
	for _, c := range []struct {
		name string
		set  func(m *machineRT)
		want bool
	}{
		{"nothing", func(*machineRT) {}, false},
		{"a cancel", func(m *machineRT) { m.cancels = []client.TaskRef{ref} }, true},
		{"a cancel not acknowledged", func(m *machineRT) { m.unackedC = []client.TaskRef{ref} }, true},
		{"a signal", func(m *machineRT) { m.signals = []client.TaskSignal{{TaskRef: ref, Signal: 10}} }, true},
		{"a time limit", func(m *machineRT) { m.limits = []client.JobLimit{{Job: 1, TimeLimitS: 60}} }, true},
		{"a time limit not acknowledged", func(m *machineRT) { m.unackedL = []client.JobLimit{{Job: 1, TimeLimitS: 60}} }, true},
		{"a task to start now", func(m *machineRT) { m.outbox = []*taskRT{{}} }, true},
		{"a started task not acknowledged", func(m *machineRT) {
			m.unacked = []*taskRT{{row: store.TaskRow{Task: burst.Task{State: burst.Running}}}}
		}, true},
		{"prefetched tasks, the agent holding none", func(m *machineRT) { m.outbox = []*taskRT{{queued: true}} }, true},
		{"prefetched tasks, the agent holding enough", func(m *machineRT) {
			m.outbox = []*taskRT{{queued: true}}
			m.tasks = map[taskKey]*taskRT{}
			for i := range m.prefetch() {
				m.tasks[taskKey{1, i}] = &taskRT{queued: true}
			}
		}, false},
		{"prefetched tasks, the agent holding half its queue", func(m *machineRT) {
			m.outbox = []*taskRT{{queued: true}}
			m.tasks = map[taskKey]*taskRT{}
			for i := range m.prefetch()/2 + 1 { // the one in the outbox among them
				m.tasks[taskKey{1, i}] = &taskRT{queued: true}
			}
		}, false},
		{"prefetched tasks, the agent holding less than half its queue", func(m *machineRT) {
			m.outbox = []*taskRT{{queued: true}}
			m.tasks = map[taskKey]*taskRT{}
			for i := range m.prefetch() / 2 {
				m.tasks[taskKey{1, i}] = &taskRT{queued: true}
			}
		}, true},
	} {
		m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "a", CPUs: 2}})
		c.set(m)
		if got := m.urgent(); got != c.want {
			t.Errorf("%s: urgent %v, want %v", c.name, got, c.want)
		}
	}
}
