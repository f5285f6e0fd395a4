package server

import "container/heap"

// slots hands out a map's job slots, GNU parallel's {%}: each task handed
// out takes the lowest number, from 1, that no running task of the map
// holds, and gives it back when it ends, so that no two tasks running at
// once share one and a map of -j N uses 1 to N. Every call is O(log k) for
// k slots (amortised: a free slot above the highest held one stays in free
// until a take meets it). The zero value is empty.
type slots struct {
	top  int     // the highest slot that may be held; every one above is free
	held []bool  // held[n]: slot n is held (index 0 unused)
	free intHeap // free slots at or below top, and stale entries (held again, or above top) that take skips
}

// take returns the lowest free slot and holds it.
func (s *slots) take() int {
	for len(s.free) > 0 {
		n := heap.Pop(&s.free).(int)
		if n <= s.top && !s.held[n] {
			s.held[n] = true
			return n
		}
	}
	s.top++
	s.grow(s.top)
	s.held[s.top] = true
	return s.top
}

// put gives slot n back; a slot not held (a second put, or 0) changes
// nothing.
func (s *slots) put(n int) {
	if n <= 0 || n > s.top || !s.held[n] {
		return
	}
	s.held[n] = false
	if n < s.top {
		heap.Push(&s.free, n)
		return
	}
	for s.top > 0 && !s.held[s.top] { // the free run below the top goes with it
		s.top--
	}
}

// hold marks slot n held, for a task found running when the server
// starts again.
func (s *slots) hold(n int) {
	if n <= 0 {
		return
	}
	s.grow(n)
	for k := s.top + 1; k < n; k++ {
		heap.Push(&s.free, k)
	}
	s.top = max(s.top, n)
	s.held[n] = true
}

func (s *slots) grow(n int) {
	for len(s.held) <= n {
		s.held = append(s.held, false)
	}
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
