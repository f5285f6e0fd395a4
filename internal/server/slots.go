package server

import (
	"container/heap"
	"slices"
)

// slots hands out a map's job slots, GNU parallel's {%}: each task that
// starts takes the lowest number no running task of the map holds, and
// gives it back when it ends, so that no two tasks running at once share
// one and a map of -j N uses 1 to N. The zero value is empty.
type slots struct {
	top  int     // every slot above top is free
	free intHeap // the free slots at or below top
}

// take returns the lowest free slot and holds it.
func (s *slots) take() int {
	if len(s.free) > 0 {
		return heap.Pop(&s.free).(int)
	}
	s.top++
	return s.top
}

// put gives slot n back.
func (s *slots) put(n int) {
	if n <= 0 || n > s.top || slices.Contains(s.free, n) {
		return // not held: a second put, or a slot of no task
	}
	if n == s.top {
		s.top--
		for len(s.free) > 0 && slices.Contains(s.free, s.top) { // give back the free run below it too
			heap.Remove(&s.free, slices.Index(s.free, s.top))
			s.top--
		}
		return
	}
	heap.Push(&s.free, n)
}

// hold marks slot n held, for a task found running when the server
// starts again.
func (s *slots) hold(n int) {
	if n <= 0 {
		return
	}
	if i := slices.Index(s.free, n); i >= 0 {
		heap.Remove(&s.free, i)
		return
	}
	for k := s.top + 1; k < n; k++ {
		heap.Push(&s.free, k)
	}
	s.top = max(s.top, n)
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
