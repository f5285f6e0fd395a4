package cli

import "testing"

// scontrol reads `write batch_script` from 5 letters of its word on
// (Slurm 22.05: `write batch` is it, `write bat` "invalid write argument").
func TestIsWriteBatchScript(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"write", "batch_script", "12"}, true},
		{[]string{"write", "batch", "12"}, true},
		{[]string{"write", "BATCH_SCRIPT"}, true},
		{[]string{"write", "bat", "12"}, false},
		{[]string{"write", "batch_scripts", "12"}, false},
		{[]string{"write"}, false},
		{[]string{"show", "batch_script"}, false},
	} {
		if got := isWriteBatchScript(tt.args); got != tt.want {
			t.Errorf("isWriteBatchScript(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
