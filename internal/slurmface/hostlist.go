package slurmface

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ExpandHostlist is the host names of a Slurm hostlist expression, in
// order (scontrol show hostnames): names separated by commas or white
// space, each with any number of bracketed lists of numbers and ranges,
// a range keeping the width of its first bound ("c[1-2],d[08-10]" is c1
// c2 d08 d09 d10; "r[1-2]-n[1-2]" is r1-n1 r1-n2 r2-n1 r2-n2).
func ExpandHostlist(expr string) ([]string, error) {
	var out []string
	for _, item := range SplitList(expr) {
		hosts, err := expandHost(item)
		if err != nil {
			return nil, fmt.Errorf("Invalid hostlist: %s (%v)", expr, err)
		}
		out = append(out, hosts...)
		if len(out) > 1<<20 {
			return nil, fmt.Errorf("Invalid hostlist: %s (more than %d hosts)", expr, 1<<20)
		}
	}
	return out, nil
}

// HostlistArg is the hosts a command-line hostlist names: an expression, or
// (holding a /, which no host name does) a file of them separated by commas,
// spaces or lines, as scontrol's HOSTLIST and srun's -w read it.
func HostlistArg(arg string) ([]string, error) {
	if strings.Contains(arg, "/") {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", arg, errors.Unwrap(err))
		}
		arg = string(b)
	}
	return ExpandHostlist(arg)
}

// SplitList splits at commas and white space outside brackets: the items
// of a hostlist (c[1-3],d4) or of a job list (12,13_[1,4]).
func SplitList(expr string) []string {
	var items []string
	depth, start := 0, 0
	for i, r := range expr {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0 && (r == ',' || r == ' ' || r == '\t' || r == '\n'):
			if i > start {
				items = append(items, expr[start:i])
			}
			start = i + 1
		}
	}
	if start < len(expr) {
		items = append(items, expr[start:])
	}
	return items
}

// expandHost expands one name's bracketed lists, left to right.
func expandHost(item string) ([]string, error) {
	open := strings.IndexByte(item, '[')
	if open < 0 {
		if strings.ContainsRune(item, ']') {
			return nil, fmt.Errorf("a ] with no [")
		}
		return []string{item}, nil
	}
	end := strings.IndexByte(item[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("a [ with no ]")
	}
	end += open
	prefix, list := item[:open], item[open+1:end]
	rest, err := expandHost(item[end+1:])
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b, err2 := strconv.ParseUint(hi, 10, 32)
		if err1 != nil || err2 != nil || b < a || b-a > 1<<20 {
			return nil, fmt.Errorf("invalid range %q", r)
		}
		if uint64(len(out))+(b-a+1)*uint64(max(len(rest), 1)) > 1<<20 {
			return nil, fmt.Errorf("more than %d hosts", 1<<20)
		}
		for n := a; n <= b; n++ {
			num := fmt.Sprintf("%0*d", len(lo), n)
			for _, s := range rest {
				out = append(out, prefix+num+s)
			}
		}
	}
	return out, nil
}

// CompressHostlist writes hosts as a hostlist expression (scontrol show
// hostlist): neighbours with the same prefix share a bracket, consecutive
// numbers of the same width a range, in the hosts' order; sorted (scontrol
// show hostlistsorted) orders them by prefix and number first, once each.
func CompressHostlist(hosts []string, sorted bool) string {
	type host struct {
		prefix, num string
		n           uint64
	}
	hs := make([]host, 0, len(hosts))
	for _, h := range hosts {
		i := len(h)
		for i > 0 && h[i-1] >= '0' && h[i-1] <= '9' {
			i--
		}
		n, err := strconv.ParseUint(h[i:], 10, 64)
		if i == len(h) || err != nil {
			hs = append(hs, host{prefix: h})
			continue
		}
		hs = append(hs, host{prefix: h[:i], num: h[i:], n: n})
	}
	if sorted {
		slices.SortStableFunc(hs, func(a, b host) int {
			if c := strings.Compare(a.prefix, b.prefix); c != 0 {
				return c
			}
			return cmp.Or(cmp.Compare(a.n, b.n), strings.Compare(a.num, b.num))
		})
		hs = slices.Compact(hs)
	}
	// Whether b's number follows a's in one range: the next number, the
	// same width (or neither padded with a zero).
	follows := func(a, b host) bool {
		padded := func(s string) bool { return len(s) > 1 && s[0] == '0' }
		return b.n == a.n+1 && (len(a.num) == len(b.num) || !padded(a.num) && !padded(b.num))
	}
	var out []string
	for i := 0; i < len(hs); {
		j := i + 1
		for j < len(hs) && hs[i].num != "" && hs[j].num != "" && hs[j].prefix == hs[i].prefix {
			j++
		}
		group := hs[i:j]
		i = j
		if len(group) == 1 {
			out = append(out, group[0].prefix+group[0].num)
			continue
		}
		var ranges []string
		for k := 0; k < len(group); {
			m := k
			for m+1 < len(group) && follows(group[m], group[m+1]) {
				m++
			}
			r := group[k].num
			if m > k {
				r += "-" + group[m].num
			}
			ranges = append(ranges, r)
			k = m + 1
		}
		if len(ranges) == 1 && !strings.Contains(ranges[0], "-") {
			out = append(out, group[0].prefix+ranges[0])
			continue
		}
		out = append(out, group[0].prefix+"["+strings.Join(ranges, ",")+"]")
	}
	return strings.Join(out, ",")
}
