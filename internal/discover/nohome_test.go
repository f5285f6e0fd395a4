package discover

import "testing"

// A command run with no HOME and no XDG_CONFIG_HOME (slurmctld runs its
// ResumeProgram so) has no login, and that is not an error.
func TestReadLoginsWithoutHome(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	l, err := ReadLogins()
	if err != nil || len(l.Servers) != 0 {
		t.Fatalf("no home: %v, %+v; want no login and no error", err, l)
	}
	if err := l.Save(); err == nil {
		t.Fatal("keeping a login with no home to keep it in succeeded")
	}
}
