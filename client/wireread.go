package client

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/burst-sh/burst"
)

// An agent's report is read by hand as well: decoding it with
// encoding/json (reflection, a scan of every byte twice) was about a tenth
// of the server's CPU in a map of `sh -c 'echo x'`. DecodeJSON reads only
// the shape AppendJSON writes for the common case, and says when a
// message is anything else (an escaped or non-UTF-8 string, a null, a
// number that is not a plain integer, an event with outputs, a key
// encoding/json would match only case-insensitively, a key twice, an
// unknown key, anything after the value): the caller then reads it with
// encoding/json, which gives the same result or the error it always gave.
// Whatever DecodeJSON accepts, encoding/json reads the same way
// (FuzzDecodeReport).

// DecodeJSON sets r from data, a report in the shape AppendJSON writes for
// the common case, and returns true; otherwise it leaves r alone and
// returns false, and the caller reads data with encoding/json.
func (r *Report) DecodeJSON(data []byte) bool {
	s := reader{b: data}
	var out Report
	ok := s.fields(func(key []byte) (uint, bool) {
		switch string(key) {
		case "machine":
			return 1, s.str(&out.Machine)
		case "boot_id":
			return 2, s.str(&out.BootID)
		case "sent_at":
			return 4, s.time(&out.SentAt)
		case "events":
			return 8, s.events(&out.Events)
		}
		return 0, false
	})
	if !ok || !s.end() {
		return false
	}
	*r = out
	return true
}

// reader reads the subset of JSON that DecodeJSON accepts.
type reader struct {
	b []byte
	i int
}

func (s *reader) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte_ skips space and then c, or says it is not there.
func (s *reader) byte_(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end: nothing but space is left.
func (s *reader) end() bool {
	s.space()
	return s.i == len(s.b)
}

// fields reads an object, each value by field, which returns the key's
// own bit (0: unknown) and whether its value was read; a key met twice,
// or unknown, ends it with false.
func (s *reader) fields(field func(key []byte) (uint, bool)) bool {
	if !s.byte_('{') {
		return false
	}
	if s.byte_('}') {
		return true
	}
	var seen uint
	for {
		key, ok := s.raw()
		if !ok || !s.byte_(':') {
			return false
		}
		bit, ok := field(key)
		if !ok || bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if s.byte_('}') {
			return true
		}
		if !s.byte_(',') {
			return false
		}
	}
}

// raw reads a string with no escape, no control character and valid
// UTF-8 (encoding/json reads such a string as its bytes), without its
// quotes.
func (s *reader) raw() ([]byte, bool) {
	if !s.byte_('"') {
		return nil, false
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, ascii || utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return nil, false
}

func (s *reader) str(v *string) bool {
	b, ok := s.raw()
	if ok {
		*v = string(b)
	}
	return ok
}

// common are the strings every report repeats (kinds and states), kept
// once rather than allocated for each event.
var common = []string{EventExited, EventStarted, EventProgress, string(burst.Succeeded), string(burst.Failed)}

// word reads a string, one of common without an allocation.
func (s *reader) word(v *string) bool {
	b, ok := s.raw()
	if !ok {
		return false
	}
	if i := slices.Index(common, string(b)); i >= 0 {
		*v = common[i]
	} else {
		*v = string(b)
	}
	return true
}

// digits reads an integer as JSON writes one: -?(0|[1-9][0-9]*), followed
// by no fraction or exponent (encoding/json refuses those for an integer
// field; the caller's fallback says so).
func (s *reader) digits(signed bool) ([]byte, bool) {
	s.space()
	start := s.i
	if signed && s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	d := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == d || s.b[d] == '0' && s.i-d > 1 {
		return nil, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *reader) int64(v *int64) bool {
	b, ok := s.digits(true)
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	*v = n
	return err == nil
}

func (s *reader) int(v *int) bool {
	var n int64
	if !s.int64(&n) || int64(int(n)) != n {
		return false
	}
	*v = int(n)
	return true
}

func (s *reader) uint64(v *uint64) bool {
	b, ok := s.digits(false)
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	*v = n
	return err == nil
}

// time reads a time as encoding/json does (time.Time's UnmarshalJSON of
// the quoted string) into a new *v.
func (s *reader) time(v **time.Time) bool {
	b, ok := s.raw()
	if !ok {
		return false
	}
	t := new(time.Time)
	if t.UnmarshalJSON(s.b[s.i-len(b)-2:s.i]) != nil {
		return false
	}
	*v = t
	return true
}

// events reads a report's events: null, or an array of events without
// outputs.
func (s *reader) events(v *[]TaskEvent) bool {
	s.space()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true // as encoding/json: nil
	}
	if !s.byte_('[') {
		return false
	}
	list := make([]TaskEvent, 0, 16)
	if s.byte_(']') {
		*v = list
		return true
	}
	for {
		list = append(list, TaskEvent{})
		if !s.event(&list[len(list)-1]) {
			return false
		}
		if s.byte_(']') {
			*v = list
			return true
		}
		if !s.byte_(',') {
			return false
		}
	}
}

func (s *reader) event(e *TaskEvent) bool {
	return s.fields(func(key []byte) (uint, bool) {
		switch string(key) {
		case "job":
			return 1 << 0, s.int64(&e.Job)
		case "index":
			return 1 << 1, s.int(&e.Index)
		case "attempt":
			return 1 << 2, s.int(&e.Attempt)
		case "kind":
			return 1 << 3, s.word(&e.Kind)
		case "pid":
			return 1 << 4, s.int(&e.PID)
		case "pid_start":
			return 1 << 5, s.uint64(&e.PIDStart)
		case "state":
			var st string
			ok := s.word(&st)
			e.State = burst.State(st)
			return 1 << 6, ok
		case "exit_code":
			c := new(int)
			e.ExitCode = c
			return 1 << 7, s.int(c)
		case "signal":
			return 1 << 8, s.int(&e.Signal)
		case "reason":
			return 1 << 9, s.str(&e.Reason)
		case "started_at":
			return 1 << 10, s.time(&e.StartedAt)
		case "ended_at":
			return 1 << 11, s.time(&e.EndedAt)
		case "user_us":
			return 1 << 12, s.int64(&e.UserUS)
		case "sys_us":
			return 1 << 13, s.int64(&e.SysUS)
		case "max_rss":
			return 1 << 14, s.int64(&e.MaxRSS)
		case "out_bytes":
			return 1 << 15, s.int64(&e.OutBytes)
		case "out_from":
			return 1 << 16, s.int64(&e.OutFrom)
		case "err_from":
			return 1 << 17, s.int64(&e.ErrFrom)
		case "out_to":
			return 1 << 18, s.int64(&e.OutTo)
		case "err_to":
			return 1 << 19, s.int64(&e.ErrTo)
		case "out_pack":
			return 1 << 20, s.str(&e.OutPack)
		case "err_pack":
			return 1 << 21, s.str(&e.ErrPack)
		case "read_bytes":
			return 1 << 22, s.int64(&e.ReadBytes)
		case "wrote_bytes":
			return 1 << 23, s.int64(&e.WroteBytes)
		}
		return 0, false // outputs, stack_changes, steps, or a key only encoding/json knows what to do with
	})
}
