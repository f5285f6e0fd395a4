// Package suggest finds what a person probably meant: the known names
// closest to a misspelt one, for "did you mean" hints in error messages.
package suggest

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Distance is the Levenshtein distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Nearest returns up to n of names close to name by edit distance
// (ignoring case), closest first; among equally close ones, those sharing
// a longer prefix with name, then in the order given. Names that merely
// start with name and a dot ("p3" → p3.2xlarge) count as close, two
// neighbouring letters swapped count as one edit ("mme" → mem), and,
// for a name of 3 letters or more, names that start with it ("det" →
// detach) or, of 4 or more, with it less its last letter ("retry" →
// retries). Otherwise a name with half of name's letters or more wrong
// ("nope" and "name") is too far to suggest. An equal name in another case is the
// one meant: it is returned alone.
func Nearest(name string, names []string, n int) []string {
	cs := ranked(name, names)
	if len(cs) > 0 && cs[0].dist == 0 {
		n = 1 // the same name in another case: that is the one
	}
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

// Closest returns the names Nearest returns first: those as close to
// name as the closest one (at most 3), for "did you mean" hints where a
// farther name would only add noise ("cpu": cpus, not gpus).
func Closest(name string, names []string) []string {
	cs := ranked(name, names)
	var out []string
	for _, c := range cs[:min(3, len(cs))] {
		if c.dist == cs[0].dist {
			out = append(out, c.name)
		}
	}
	return out
}

type candidate struct {
	name                string
	dist, prefix, index int
}

// ranked is names close to name, as Nearest takes them, closest first.
func ranked(name string, names []string) []candidate {
	low := strings.ToLower(name)
	length := utf8.RuneCountInString(low)
	limit := max(2, length/3)
	stem := ""
	if length >= 4 {
		stem = string([]rune(low)[:length-1])
	}
	var cs []candidate
	for i, cand := range names {
		l := strings.ToLower(cand)
		d := Distance(low, l)
		if d == 2 && swapped(low, l) {
			d = 1 // a typing slip ("mme"), as close as one letter wrong
		}
		switch {
		case low != "" && strings.HasPrefix(l, low+"."):
			d = min(d, 1)
		case length >= 3 && strings.HasPrefix(l, low), stem != "" && strings.HasPrefix(l, stem):
			d = min(d, 2)
		case 2*d >= length:
			continue // half of it or more is wrong: nope is not name
		}
		if d > limit {
			continue
		}
		p := 0
		for p < len(low) && p < len(l) && low[p] == l[p] {
			p++
		}
		cs = append(cs, candidate{cand, d, p, i})
	}
	slices.SortFunc(cs, func(a, b candidate) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		if a.prefix != b.prefix {
			return b.prefix - a.prefix
		}
		return a.index - b.index
	})
	return cs
}

// swapped says whether b is a with two neighbouring letters swapped.
func swapped(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
}
