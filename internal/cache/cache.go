// Package cache builds the keys of burst's result cache and says why two
// keys differ. A key is the SHA-256 of a canonical, versioned encoding of
// what decides a task's result (docs/cache.md): its command, environment,
// working directory (unstaged jobs), resources, software stack, project and
// inputs. Each of those is kept as a named part, so that a miss can say
// which part changed since the nearest earlier run.
//
// The package is pure: no I/O, no clock. The server builds parts under its
// lock, so everything here is a computation over its arguments.
package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
)

// Version is the encoding's version: a change to what goes into a key (or
// how) raises it, and no key of another version ever matches.
const Version = 1

// Part is one named piece of a key. Value is shown in a miss's reason
// when it is short and readable (a digest, a path, the resources); other
// values are hashed (Hashed) and their change is named without them.
type Part struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// Parts are a key's parts, sorted by name, names unique.
type Parts []Part

// Job is what the tasks of one job share. Built once per job.
type Job struct {
	Project string
	Name    string
	Kind    string
	// Command is what is run before a map's {} are filled: the argv of a
	// run, the template of a map, and a batch script's text.
	Command []string
	Script  string
	Shell   bool
	Env     map[string]string
	// Workdir is keyed only for jobs that are not staged: a staged task
	// runs in a private directory wherever it lands.
	Workdir   string
	Staged    bool
	Resources burst.Resources
	// Stack names the job's software stack (its digest), "" for none.
	Stack  string
	Inputs []burst.Input // every task's (--in)
}

// Uncacheable says why a job's (or task's) result cannot be keyed: an
// s3:// input without a pinned digest can change under the same URL.
type Uncacheable struct{ Why string }

func (u *Uncacheable) Error() string { return u.Why }

// JobParts builds the parts that every task of j shares.
func JobParts(j Job) (Parts, error) {
	p := Parts{
		{"project", j.Project},
		{"command", Hashed(append([]string{j.Kind, j.Script, strconv.FormatBool(j.Shell)}, j.Command...)...)},
		{"resources", resources(j.Resources)},
	}
	if j.Stack != "" {
		p = append(p, Part{"stack", j.Stack})
	}
	if !j.Staged {
		p = append(p, Part{"workdir", j.Workdir})
	}
	for k, v := range j.Env {
		if Excluded(k) {
			continue
		}
		p = append(p, Part{"env " + k, Hashed(v)})
	}
	in, err := inputParts(j.Inputs)
	if err != nil {
		return nil, err
	}
	p = append(p, in...)
	p.sort()
	return p, nil
}

// TaskParts builds one task's own parts: the argv it runs (a map's
// template filled with its {} values) and its own inputs.
func TaskParts(argv []string, inputs []burst.Input) (Parts, error) {
	p := Parts{{"args", Hashed(argv...)}}
	in, err := inputParts(inputs)
	if err != nil {
		return nil, err
	}
	p = append(p, in...)
	p.sort()
	return p, nil
}

func inputParts(inputs []burst.Input) (Parts, error) {
	var p Parts
	for _, in := range inputs {
		v := in.Digest
		if in.URL != "" {
			if in.Digest == "" {
				return nil, &Uncacheable{fmt.Sprintf("input %s is %s without a pinned digest (#sha256:...): its object may change under the same URL", in.Path, in.URL)}
			}
			v = in.URL + "#" + in.Digest
		}
		// The mode decides whether the task may execute it.
		if in.Mode&0o111 != 0 {
			v += " +x"
		}
		p = append(p, Part{"input " + in.Path, v})
	}
	return p, nil
}

// Digest is the SHA-256 of p's canonical encoding, hex: each part as its
// name's length (uvarint), the name, its value's length, the value, in
// name order.
func (p Parts) Digest() string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, x := range p {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(x.Name)))])
		h.Write([]byte(x.Name))
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(x.Value)))])
		h.Write([]byte(x.Value))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Key is a task's key: the SHA-256 of "burst-cache/<Version>", its job's
// parts' digest and its own parts' digest, as "v1:<64 hex>".
func Key(jobDigest string, own Parts) string {
	h := sha256.New()
	h.Write([]byte("burst-cache/" + strconv.Itoa(Version) + "\x00" + jobDigest + "\x00" + own.Digest()))
	return "v" + strconv.Itoa(Version) + ":" + hex.EncodeToString(h.Sum(nil))
}

// Hashed is a short digest of values (each length-prefixed), for parts
// whose value is long or private (an environment variable's value).
func Hashed(values ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, v := range values {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))])
		h.Write([]byte(v))
	}
	return "h:" + hex.EncodeToString(h.Sum(nil)[:12])
}

func resources(r burst.Resources) string {
	return fmt.Sprintf("cpus=%d mem=%d gpus=%d time=%ds", r.CPUs, r.MemBytes, r.GPUs, r.TimeLimit)
}

func (p Parts) sort() { sort.Slice(p, func(i, k int) bool { return p[i].Name < p[k].Name }) }

// Excluded reports whether environment variable k stays out of keys: what
// burst sets per job or task (BURST_*, CUDA_VISIBLE_DEVICES, SLURM_*), and
// what a shell or a login changes from one terminal to the next without
// changing what a program computes.
func Excluded(k string) bool {
	if strings.HasPrefix(k, "BURST_") || strings.HasPrefix(k, "SLURM_") || strings.HasPrefix(k, "SSH_") ||
		strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "TMUX") || strings.HasPrefix(k, "KITTY_") ||
		strings.HasPrefix(k, "VSCODE_") || strings.HasPrefix(k, "TERM_") || strings.HasPrefix(k, "ITERM_") {
		return true
	}
	return excluded[k]
}

// ExcludedNames lists the variables Excluded names one by one (for docs
// and help), sorted.
func ExcludedNames() []string {
	out := make([]string, 0, len(excluded))
	for k := range excluded {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var excluded = map[string]bool{
	"_": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "TERM": true, "COLORTERM": true,
	"COLUMNS": true, "LINES": true, "DISPLAY": true, "WINDOWID": true, "STY": true, "WINDOW": true,
	"DBUS_SESSION_BUS_ADDRESS": true, "GPG_TTY": true, "PS1": true, "PS2": true, "PROMPT_COMMAND": true,
	"HISTFILE": true, "HISTSIZE": true, "HISTCONTROL": true, "LS_COLORS": true, "LESSOPEN": true, "LESSCLOSE": true,
	"MAIL": true, "MOTD_SHOWN": true, "CUDA_VISIBLE_DEVICES": true, "INVOCATION_ID": true, "JOURNAL_STREAM": true,
}

// Why says, for people, how cur differs from prev, the parts of the
// nearest earlier result (nil: none). It names at most three parts, most
// telling first (inputs, then command and arguments, then the rest).
func Why(prev, cur Parts) string {
	if prev == nil {
		return "no earlier run of this command"
	}
	old := make(map[string]string, len(prev))
	for _, x := range prev {
		old[x.Name] = x.Value
	}
	var diffs []string
	seen := map[string]bool{}
	for _, x := range cur {
		seen[x.Name] = true
		o, had := old[x.Name]
		switch {
		case !had:
			diffs = append(diffs, added(x))
		case o != x.Value:
			diffs = append(diffs, changed(x.Name, o, x.Value))
		}
	}
	for _, x := range prev {
		if !seen[x.Name] {
			diffs = append(diffs, removed(x))
		}
	}
	if len(diffs) == 0 {
		return "the same key as an earlier run, whose result is gone"
	}
	sort.SliceStable(diffs, func(i, k int) bool { return rank(diffs[i]) < rank(diffs[k]) })
	more := ""
	if len(diffs) > 3 {
		more = fmt.Sprintf(" (and %d more)", len(diffs)-3)
		diffs = diffs[:3]
	}
	return strings.Join(diffs, "; ") + more
}

func rank(d string) int {
	for i, p := range []string{"input ", "command ", "arguments ", "stack ", "resources ", "workdir ", "env ", "project "} {
		if strings.HasPrefix(d, p) {
			return i
		}
	}
	return 99
}

// added and removed say a part that one side lacks: a variable is set
// or unset, anything else added or removed.
func added(x Part) string { return x.Name + word(x, " set", " added") }

func removed(x Part) string { return x.Name + word(x, " unset", " removed") }

func word(x Part, env, other string) string {
	if strings.HasPrefix(x.Name, "env ") {
		return env
	}
	return other
}

func changed(name, from, to string) string {
	switch {
	case name == "args":
		return "arguments changed"
	case strings.HasPrefix(from, "h:") || strings.HasPrefix(to, "h:"):
		return name + " changed"
	}
	return fmt.Sprintf("%s changed (%s -> %s)", name, short(from), short(to))
}

// short abbreviates a digest to its first 12 hex digits.
func short(v string) string {
	if i := strings.Index(v, "sha256:"); i >= 0 && len(v) >= i+7+12 {
		return v[:i+7+12] + "…"
	}
	if len(v) > 80 {
		return v[:77] + "…"
	}
	return v
}
