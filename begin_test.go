package burst

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBeginSpec: Defaults puts Begin in UTC whole seconds; CheckBegin
// takes up to a year (366 days) ahead and refuses more, naming the limit;
// the JSON leaves an unset Begin out.
func TestBeginSpec(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)
	s := JobSpec{Argv: []string{"true"}, Begin: time.Date(2026, 12, 4, 15, 0, 0, 700, time.FixedZone("X", 3600))}
	s.Defaults()
	if want := time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC); s.Begin != want {
		t.Fatalf("Begin after Defaults %v, want %v", s.Begin, want)
	}
	if err := s.CheckBegin(now); err != nil {
		t.Fatalf("a begin an hour ahead: %v", err)
	}
	s.Begin = now.Add(MaxBeginAhead)
	if err := s.CheckBegin(now); err != nil {
		t.Fatalf("a begin at the limit: %v", err)
	}
	s.Begin = now.Add(MaxBeginAhead + time.Second)
	if err := s.CheckBegin(now); err == nil || !strings.Contains(err.Error(), "more than a year (366 days)") {
		t.Fatalf("a begin past the limit: %v", err)
	}
	if err := (&JobSpec{}).CheckBegin(now); err != nil {
		t.Fatalf("no begin: %v", err)
	}
	b, err := json.Marshal(&JobSpec{Argv: []string{"true"}})
	if err != nil || strings.Contains(string(b), "begin") {
		t.Fatalf("an unset Begin is in the JSON: %s, %v", b, err)
	}
	b, err = json.Marshal(&JobSpec{Argv: []string{"true"}, Begin: now})
	var back JobSpec
	if err != nil || json.Unmarshal(b, &back) != nil || !back.Begin.Equal(now) {
		t.Fatalf("Begin through JSON: %s -> %v (%v)", b, back.Begin, err)
	}
}
