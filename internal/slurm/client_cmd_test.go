package slurm

import (
	"os"
	"path/filepath"
	"testing"
)

// A Slurm command is never burst's own: with `burst slurm link DIR` first on
// the server's PATH, the server asked itself for its cluster's nodes.
func TestCommandSkipsSelf(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	links, real := t.TempDir(), t.TempDir()
	if err := os.Symlink(exe, filepath.Join(links, "sinfo")); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(real, "sinfo")
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", links+string(os.PathListSeparator)+real)
	if got := command("sinfo"); got != want {
		t.Errorf("command(sinfo) = %q, want %q (the real one after burst's own link)", got, want)
	}
	// Another build of burst (installed elsewhere, or this one's file
	// replaced since the server started) is burst too.
	copies := t.TempDir()
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(copies, "sinfo"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", copies+string(os.PathListSeparator)+real)
	if got := command("sinfo"); got != want {
		t.Errorf("command(sinfo) = %q, want %q (the real one after a copy of burst)", got, want)
	}
	t.Setenv("PATH", links)
	if got := command("no-such-slurm-command"); got != "no-such-slurm-command" {
		t.Errorf("a command found nowhere: %q, want its name (exec says not found)", got)
	}
}
