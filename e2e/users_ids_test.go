package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// GET /v1/ids/{ref} in an array's form (12_3) tells a caller who holds no
// role in the job's project nothing: not that 12 is a task of array 9, nor
// that 12 is no array, nor the array's indices. Each is answered as an
// unknown id is (docs/security-users.md); a viewer of the project still
// gets the message that helps (sbatch's ARRAYID_TASKID form: `man sbatch`,
// "JOB ARRAY", %A_%a).
func TestIDsArrayFormUnseen(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	h := l.h
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "array.sh"), "#!/bin/sh\n#SBATCH --array=0-2\necho $SLURM_ARRAY_TASK_ID\n", 0o755)
	c := h.command("run", "--project", "mars", "-d", "array.sh")
	c.Dir = dir
	c.Env = append(c.Env, "BURST_SERVER="+l.addr, "BURST_TOKEN="+l.tokens["bob"])
	arr := detachedID(t, h.exec(c))
	plain := detachedID(t, l.as("bob", "run", "--project", "mars", "-d", "--", "true"))
	// The array's first task has an id of its own: arr+1.
	task := idArg(arr + 1)
	if code, msg := l.call(t, l.admin, "GET", "/v1/ids/"+task, ""); code != 200 || !strings.Contains(msg, `"job_id":`+idArg(arr)) {
		t.Fatalf("id %s: %d %s, want a task of array %d", task, code, msg, arr)
	}
	unknownCode, unknown := l.call(t, l.tokens["nora"], "GET", "/v1/ids/987654_1", "")
	if unknownCode != 404 {
		t.Fatalf("an unknown array id: %d %q, want 404", unknownCode, unknown)
	}
	for _, c := range []struct{ ref, id, viewerSays string }{
		{task + "_1", task, "is a task of job array"},
		{idArg(plain) + "_0", idArg(plain), "is not a job array"},
		{idArg(arr) + "_99", idArg(arr), "has no index 99"},
	} {
		code, msg := l.call(t, l.tokens["nora"], "GET", "/v1/ids/"+c.ref, "")
		if code != unknownCode || strings.ReplaceAll(msg, c.id, "X") != strings.ReplaceAll(unknown, "987654", "X") {
			t.Errorf("nora's /v1/ids/%s: %d %q; an unknown id's: %d %q: want the same answer", c.ref, code, msg, unknownCode, unknown)
		}
		if code, msg := l.call(t, l.tokens["vic"], "GET", "/v1/ids/"+c.ref, ""); code != 400 || !strings.Contains(msg, c.viewerSays) {
			t.Errorf("vic's (a viewer's) /v1/ids/%s: %d %q, want 400 saying %q", c.ref, code, msg, c.viewerSays)
		}
	}
	if code, msg := l.call(t, l.tokens["nora"], "GET", "/v1/ids/"+idArg(arr)+"_1", ""); code != unknownCode {
		t.Errorf("nora's /v1/ids/%d_1 (a real task): %d %q, want %d", arr, code, msg, unknownCode)
	}
}
