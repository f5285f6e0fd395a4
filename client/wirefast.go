package client

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/burst-sh/burst/internal/jsonstr"
)

// The two messages an agent and its server exchange for every few tasks
// of a map, a lease's answer (Leased) and a report (Report), are written
// by hand: encoding/json's reflection, and the check and compaction of
// what each MarshalJSON returns, cost 6-7% of the server's CPU and 2-3% of
// the agent's in a map of `true` (BenchmarkWire: 3-6x faster here). AppendJSON writes
// the same bytes as json.Marshal (TestAppendJSONMatchesMarshal,
// FuzzAppendJSON); a part that is not the common case (a task with a
// pipe, resources or inputs of its own, a string that is not UTF-8, an
// event with outputs or srun steps) is handed to json.Marshal, as are a lease's job
// contexts (once per job, not per task), each written once (Keep). The server reads a report by
// hand too (wireread.go); a lease's answer is still read with
// encoding/json.

// AppendJSON appends l as json.Marshal writes it.
func (l *Leased) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	if l.Seq != 0 {
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, l.Seq, 10)
		b = append(b, ',')
	}
	if len(l.Jobs) > 0 {
		var err error
		if b, err = appendJobs(append(b, `"jobs":`...), l.Jobs); err != nil {
			return b, err
		}
		b = append(b, ',')
	}
	b, err := appendArray(append(b, `"tasks":`...), l.Tasks, (*Assignment).appendJSON)
	if err != nil {
		return b, err
	}
	b, _ = appendArray(append(b, `,"cancel":`...), l.Cancel, func(r *TaskRef, b []byte) ([]byte, error) {
		return append(r.appendFields(append(b, '{')), '}'), nil
	})
	if len(l.Requeue) > 0 { // rare (scontrol requeue): json.Marshal's
		w, err := json.Marshal(l.Requeue)
		if err != nil {
			return b, err
		}
		b = append(append(b, `,"requeue":`...), w...)
	}
	if len(l.Signals) > 0 { // rare (scancel --signal): json.Marshal's
		w, err := json.Marshal(l.Signals)
		if err != nil {
			return b, err
		}
		b = append(append(b, `,"signals":`...), w...)
	}
	if len(l.Limits) > 0 { // rare (scontrol update of a running job)
		w, err := json.Marshal(l.Limits)
		if err != nil {
			return b, err
		}
		b = append(append(b, `,"limits":`...), w...)
	}
	if l.Exit {
		b = append(b, `,"exit":true`...)
	}
	return append(b, '}'), nil
}

// Keep has c's JSON written once, here, for every lease answer that
// carries it (a job's context, its environment included, goes with each
// lease of its tasks: a few tasks each). c must not change after.
func (c *JobContext) Keep() error {
	c.wire = nil
	w, err := json.Marshal(c)
	if err == nil {
		c.wire = w
	}
	return err
}

// appendJobs appends a lease's job contexts as json.Marshal writes the
// map: keys in the order of their text, each context as Keep wrote it (or
// as json.Marshal writes it, when not kept).
func appendJobs(b []byte, jobs map[int64]*JobContext) ([]byte, error) {
	if jobs == nil {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, len(jobs))
	for id := range jobs {
		keys = append(keys, strconv.FormatInt(id, 10))
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), k...), `":`...)
		id, _ := strconv.ParseInt(k, 10, 64)
		c := jobs[id]
		switch {
		case c == nil:
			b = append(b, "null"...)
		case c.wire != nil:
			b = append(b, c.wire...)
		default:
			w, err := json.Marshal(c)
			if err != nil {
				return b, err
			}
			b = append(b, w...)
		}
	}
	return append(b, '}'), nil
}

// AppendJSON appends r as json.Marshal writes it.
func (r *Report) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"machine":`...)
	b = jsonstr.Append(b, r.Machine)
	b = append(b, `,"boot_id":`...)
	b = jsonstr.Append(b, r.BootID)
	b, err := appendArray(append(b, `,"events":`...), r.Events, (*TaskEvent).appendJSON)
	if err != nil {
		return b, err
	}
	if r.SentAt != nil {
		if b, err = appendTime(append(b, `,"sent_at":`...), *r.SentAt); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendArray appends list as a JSON array (null when nil), each element
// by each.
func appendArray[T any](b []byte, list []T, each func(*T, []byte) ([]byte, error)) ([]byte, error) {
	if list == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = each(&list[i], b); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendFields appends the fields of r, with no braces (it is embedded).
func (r *TaskRef) appendFields(b []byte) []byte {
	b = append(b, `"job":`...)
	b = strconv.AppendInt(b, r.Job, 10)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(r.Index), 10)
	b = append(b, `,"attempt":`...)
	return strconv.AppendInt(b, int64(r.Attempt), 10)
}

// appendJSON appends a as its MarshalJSON writes it.
func (a *Assignment) appendJSON(b []byte) ([]byte, error) {
	if a.Res != nil || a.Pipe != nil || len(a.Inputs) > 0 || a.Stdin != "" || !allUTF8([][]string{a.Argv, a.TaskEnv}, a.Stdout, a.Stderr) {
		m, err := json.Marshal(a)
		return append(b, m...), err
	}
	b = append(b, '{')
	b = a.TaskRef.appendFields(b)
	b = jsonstr.AppendList(append(b, `,"argv":`...), a.Argv)
	b = jsonstr.AppendList(append(b, `,"task_env":`...), a.TaskEnv)
	b = jsonstr.Append(append(b, `,"stdout":`...), a.Stdout)
	b = jsonstr.Append(append(b, `,"stderr":`...), a.Stderr)
	if len(a.GPUIDs) > 0 {
		b = append(b, `,"gpu_ids":[`...)
		for i, id := range a.GPUIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(id), 10)
		}
		b = append(b, ']')
	}
	b = appendTrue(b, `,"queued":true`, a.Queued)
	b = appendTrue(b, `,"truncate":true`, a.Truncate)
	b = appendTrue(b, `,"pack":true`, a.Pack)
	b = appendTrue(b, `,"direct":true`, a.Direct)
	return append(b, '}'), nil
}

// appendJSON appends e as json.Marshal writes it.
func (e *TaskEvent) appendJSON(b []byte) ([]byte, error) {
	if len(e.Outputs) > 0 || e.StackChanges != nil || len(e.Steps) > 0 {
		m, err := json.Marshal(e)
		return append(b, m...), err
	}
	b = append(b, '{')
	b = e.TaskRef.appendFields(b)
	b = jsonstr.Append(append(b, `,"kind":`...), e.Kind)
	b = appendInt(b, `,"pid":`, int64(e.PID))
	if e.PIDStart != 0 {
		b = strconv.AppendUint(append(b, `,"pid_start":`...), e.PIDStart, 10)
	}
	if e.State != "" {
		b = jsonstr.Append(append(b, `,"state":`...), string(e.State))
	}
	if e.ExitCode != nil {
		b = strconv.AppendInt(append(b, `,"exit_code":`...), int64(*e.ExitCode), 10)
	}
	b = appendInt(b, `,"signal":`, int64(e.Signal))
	if e.Reason != "" {
		b = jsonstr.Append(append(b, `,"reason":`...), e.Reason)
	}
	var err error
	if e.StartedAt != nil {
		if b, err = appendTime(append(b, `,"started_at":`...), *e.StartedAt); err != nil {
			return b, err
		}
	}
	if e.EndedAt != nil {
		if b, err = appendTime(append(b, `,"ended_at":`...), *e.EndedAt); err != nil {
			return b, err
		}
	}
	b = appendInt(b, `,"user_us":`, e.UserUS)
	b = appendInt(b, `,"sys_us":`, e.SysUS)
	b = appendInt(b, `,"max_rss":`, e.MaxRSS)
	b = appendInt(b, `,"out_bytes":`, e.OutBytes)
	b = appendInt(b, `,"out_from":`, e.OutFrom)
	b = appendInt(b, `,"err_from":`, e.ErrFrom)
	b = appendInt(b, `,"out_to":`, e.OutTo)
	b = appendInt(b, `,"err_to":`, e.ErrTo)
	if e.OutPack != "" {
		b = jsonstr.Append(append(b, `,"out_pack":`...), e.OutPack)
	}
	if e.ErrPack != "" {
		b = jsonstr.Append(append(b, `,"err_pack":`...), e.ErrPack)
	}
	b = appendInt(b, `,"read_bytes":`, e.ReadBytes)
	b = appendInt(b, `,"wrote_bytes":`, e.WroteBytes)
	return append(b, '}'), nil
}

// appendInt appends key and v unless v is 0 (omitempty).
func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), v, 10)
}

func appendTrue(b []byte, field string, v bool) []byte {
	if v {
		b = append(b, field...)
	}
	return b
}

// appendTime appends t as its MarshalJSON writes it (RFC 3339, in quotes).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b, err := t.AppendText(append(b, '"'))
	return append(b, '"'), err
}
