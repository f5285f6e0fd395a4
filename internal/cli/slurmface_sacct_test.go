package cli

import (
	"slices"
	"testing"
)

// TestAcctUsers: sacct lists the caller's jobs unless -u, -a or -j say
// otherwise, or the caller is root (sacct(1)).
func TestAcctUsers(t *testing.T) {
	mine := func() []string { return []string{"ann"} }
	for _, tc := range []struct {
		name      string
		users     []string
		all, jobs bool
		uid       int
		want      []string
	}{
		{"default", nil, false, false, 1000, []string{"ann"}},
		{"-u", []string{"bob"}, false, false, 1000, []string{"bob"}},
		{"-a", nil, true, false, 1000, nil},
		{"-j", nil, false, true, 1000, nil},
		{"root", nil, false, false, 0, nil},
		{"root -u", []string{"bob"}, false, false, 0, []string{"bob"}},
	} {
		if got := acctUsers(tc.users, tc.all, tc.jobs, tc.uid, mine); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
