package session

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/burst-sh/burst/client"
)

// An answer of the server is contact (an idle agent does not give it up
// for answering 507 during a full-disk hold); no answer, a gateway's, or
// a refusal of this agent's token is not.
func TestServerAnswered(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&client.Error{Status: http.StatusInsufficientStorage, Message: "full"}, true},
		{fmt.Errorf("lease: %w", &client.Error{Status: http.StatusInternalServerError}), true},
		{&client.Error{Status: http.StatusServiceUnavailable}, true},
		{&client.Error{Status: http.StatusBadGateway}, false},
		{&client.Error{Status: http.StatusGatewayTimeout}, false},
		{&client.Error{Status: http.StatusUnauthorized}, false},
		{errors.New("dial unix burst.sock: connect: connection refused"), false},
	} {
		if got := serverAnswered(c.err); got != c.want {
			t.Errorf("serverAnswered(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
