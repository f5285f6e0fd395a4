package slurm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The readers of Slurm's answers, as Slurm 22.05 writes them (see
// parse_test.go for real output). They never fail on a line they cannot
// read: they skip it, since squeue lists other users' jobs too.

// parseSqueue reads `squeue -h -o squeueFormat`; lines it cannot read
// (array elements "12_3", odd lines) are skipped.
func parseSqueue(out string) []Job {
	var js []Job
	for line := range strings.Lines(out) {
		f := strings.SplitN(strings.TrimRight(line, "\r\n"), "|", 6)
		if len(f) != 6 {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64)
		if err != nil {
			continue
		}
		js = append(js, Job{ID: id, State: baseState(f[1]), Reason: strings.TrimSpace(f[2]), Start: parseTime(f[3]),
			Name: f[4], Comment: f[5]})
	}
	return js
}

// parseSbatchID reads sbatch --parsable: "ID" or "ID;CLUSTER", after any
// warnings.
func parseSbatchID(out string) (int64, error) {
	s := strings.TrimSpace(out)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	s, _, _ = strings.Cut(s, ";")
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("answered %q, not a job id", strings.TrimSpace(out))
	}
	return id, nil
}

// parseScontrol reads one line of `scontrol show job -o`: Key=Value fields
// separated by blanks (a value with blanks, such as JobName or WorkDir,
// goes on until the next Key=; a free text holding "word=" would be cut
// there, which is why the comment is read from squeue).
func parseScontrol(line string) (*Job, error) {
	kv := scontrolFields(line)
	id, err := strconv.ParseInt(kv["JobId"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("scontrol: no JobId in %q", truncate(line, 200))
	}
	j := &Job{ID: id, Name: kv["JobName"], State: baseState(kv["JobState"]), Reason: kv["Reason"],
		Start: parseTime(kv["StartTime"]), End: parseTime(kv["EndTime"]), NodeList: kv["NodeList"]}
	j.ExitStatus, j.Signal = parseExitCode(kv["ExitCode"])
	return j, nil
}

func scontrolFields(line string) map[string]string {
	kv := map[string]string{}
	key := ""
	for tok := range strings.FieldsSeq(line) {
		k, v, ok := strings.Cut(tok, "=")
		if ok && isKey(k) {
			key = k
			if _, dup := kv[k]; !dup {
				kv[k] = v
			} else {
				key = "" // the first one counts
			}
			continue
		}
		if key != "" {
			kv[key] += " " + tok
		}
	}
	return kv
}

// isKey: scontrol's keys are words such as JobId, CPUs/Task, ReqB:S:C:T.
func isKey(k string) bool {
	if k == "" || !(k[0] >= 'A' && k[0] <= 'Z' || k[0] >= 'a' && k[0] <= 'z') {
		return false
	}
	return !strings.ContainsFunc(k, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_/:", r))
	})
}

// parseExitCode reads Slurm's "X:Y" (exit status X, signal Y).
func parseExitCode(s string) (exit, sig int) {
	x, y, _ := strings.Cut(strings.TrimSpace(s), ":")
	exit, _ = strconv.Atoi(x)
	sig, _ = strconv.Atoi(y)
	return exit, sig
}

// parseTime reads Slurm's local timestamps (2024-05-01T10:00:00); "Unknown",
// "None", "N/A" and the like are the zero time.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(s), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseSacct reads `sacct -n -P -X -o JobIDRaw,JobName,State,ExitCode,Start,End,NodeList`
// (-P: fields split by '|'; its exit codes are right, where sacct --json's
// are not in 22.05).
func parseSacct(out string, id int64) *Job {
	for line := range strings.Lines(out) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "|")
		if len(f) < 7 || f[0] != strconv.FormatInt(id, 10) {
			continue
		}
		j := &Job{ID: id, Name: f[1], State: baseState(f[2]), Start: parseTime(f[4]), End: parseTime(f[5]), NodeList: f[6]}
		j.ExitStatus, j.Signal = parseExitCode(f[3])
		return j
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// parseNodes reads sinfo -h -N -o "%N %c %m %G %P". With partition "",
// only the default partition's nodes (marked '*') count, or every node when
// there is no default. A node listed twice counts once.
func parseNodes(out, partition string) []Node {
	type line struct {
		Node
		part       string
		defaultPar bool
	}
	var lines []line
	hasDefault := false
	for l := range strings.Lines(out) {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		n := line{Node: Node{Name: f[0]}}
		n.CPUs, _ = strconv.Atoi(strings.TrimRight(f[1], "+"))
		mb, _ := strconv.ParseInt(strings.TrimRight(f[2], "+"), 10, 64)
		n.MemBytes = mb << 20
		n.GPUs = gresGPUs(f[3])
		if len(f) >= 5 {
			n.part = f[4]
			if strings.HasSuffix(n.part, "*") {
				n.defaultPar, hasDefault = true, true
				n.part = strings.TrimSuffix(n.part, "*")
			}
		}
		lines = append(lines, n)
	}
	var out2 []Node
	seen := map[string]bool{}
	for _, n := range lines {
		switch {
		case partition != "" && n.part != "" && n.part != partition:
			continue
		case partition == "" && hasDefault && !n.defaultPar:
			continue
		case seen[n.Name]:
			continue
		}
		seen[n.Name] = true
		out2 = append(out2, n.Node)
	}
	return out2
}

// gresGPUs counts the GPUs of a node's gres ("gpu:2", "gpu:a100:4(S:0-1)",
// "gpu:a100:2,gpu:v100:1", "(null)").
func gresGPUs(s string) int {
	// Drop the socket lists in parentheses, which may hold commas.
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth = max(depth-1, 0)
		case depth == 0:
			b.WriteRune(r)
		}
	}
	n := 0
	for item := range strings.SplitSeq(b.String(), ",") {
		f := strings.Split(item, ":")
		if len(f) < 2 || f[0] != "gpu" {
			continue
		}
		if c, err := strconv.Atoi(f[len(f)-1]); err == nil {
			n += c
		}
	}
	return n
}
