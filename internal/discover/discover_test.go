package discover

import (
	"strings"
	"testing"
)

// TestCheckToken: a credential that cannot go in a header is refused with
// where it went wrong; a good one, and none, pass.
func TestCheckToken(t *testing.T) {
	for tok, ok := range map[string]bool{
		"": true, "burst_u_NY4wDalgZHvmfI7HaesTIJvuRiz1bQa1gUhGItbmcwo": true,
		"ab\ncd": false, "ab cd": false, "abc\r": false, "\x01": false, "a\x7f": false,
	} {
		if err := CheckToken(tok); (err == nil) != ok {
			t.Errorf("CheckToken(%q) = %v; want ok=%v", tok, err, ok)
		}
	}
	if err := CheckToken("ab\ncd"); err == nil || !strings.Contains(err.Error(), "byte 3 of 5, 0x0a") {
		t.Errorf("CheckToken did not say where: %v", err)
	}
}
