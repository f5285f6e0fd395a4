package mapspec

import (
	"strconv"
	"testing"
)

// The server compiles every user's --plus patterns: the cache of them
// stays bounded, and a pattern compiled again after a reset is the same.
func TestPlusRegexpsBounded(t *testing.T) {
	for i := range 3 * maxPlusRegexps {
		if _, err := plusRegexp("a" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	plusRegexps.Lock()
	n := len(plusRegexps.m)
	plusRegexps.Unlock()
	if n > maxPlusRegexps {
		t.Errorf("%d patterns cached, want at most %d", n, maxPlusRegexps)
	}
	if re, err := plusRegexp("a0"); err != nil || !re.MatchString("xa0") {
		t.Errorf("a0 after the resets: %v %v", re, err)
	}
	if _, err := plusRegexp(`(.)\1`); err == nil {
		t.Error(`(.)\1 compiled: RE2 takes no backreference`)
	}
}
