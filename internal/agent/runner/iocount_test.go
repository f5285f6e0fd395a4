package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// A pipe stage's READ and WRITTEN are the bytes that went through its stdin
// and stdout, not everything it read: before, they were rchar and wchar of
// /proc/PID/io, which count the program's reads of its own files (here
// /etc/passwd, read by the stage besides its input) and its stderr writes.
func TestIOStatsCountStreamsOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	input := strings.Repeat("a line of the input\n", 500) // 10,000 bytes
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.WriteFile(out, []byte("already there\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inF, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	outF, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := spec(t, "sh", "-c", `cat /etc/passwd >/dev/null; cat /etc/passwd >&2; head -c 4000`)
	s.In, s.Out, s.IOStats = inF, outF, true
	r := run(t, s)
	if r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	// head may read more than it writes (it reads in blocks), never less,
	// and no more than the input.
	if r.ReadBytes < 4000 || r.ReadBytes > int64(len(input)) || r.WroteBytes != 4000 {
		t.Errorf("read %d, wrote %d bytes; want 4000 to %d read (the input) and 4000 written (stdout only)",
			r.ReadBytes, r.WroteBytes, len(input))
	}

	// Through an OS pipe burst sees no byte: nothing is counted, rather
	// than the process's reads of any file.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		pw.WriteString(input)
		pw.Close()
	}()
	s = spec(t, "sh", "-c", `cat /etc/passwd >/dev/null; cat /etc/passwd >&2; wc -c`)
	s.In, s.IOStats = pr, true
	r = run(t, s)
	// Its stdout (no Out) goes to its log through burst's copier: counted,
	// "10000\n", without the stderr.
	if r.State != burst.Succeeded || r.ReadBytes != 0 || r.WroteBytes != 6 {
		t.Errorf("stage on a pipe: got %+v, want read 0 (not counted) and written 6 (its stdout to its log)", r)
	}
}
