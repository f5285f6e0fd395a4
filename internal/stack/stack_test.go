package stack

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(full, time.Unix(1e9, 0), time.Unix(1e9, 0))
	}
}

// The same tree gives the same bytes and digest, whoever owns it and
// whatever order the directory lists it in; a changed byte changes it.
func TestPackDeterministic(t *testing.T) {
	files := map[string]string{"bin/tool": "#!/bin/sh\n", "etc/a": "a", "etc/b": "bb", "z": ""}
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, files)
	writeTree(t, b, files)
	os.Symlink("tool", filepath.Join(a, "bin", "t2"))
	os.Symlink("tool", filepath.Join(b, "bin", "t2"))
	old := []unix.Timespec{unix.NsecToTimespec(1e18), unix.NsecToTimespec(1e18)}
	for _, d := range []string{a, b} {
		filepath.Walk(d, func(p string, fi os.FileInfo, _ error) error {
			if fi.IsDir() {
				os.Chtimes(p, time.Unix(1e9, 0), time.Unix(1e9, 0))
			}
			if fi.Mode()&os.ModeSymlink != 0 { // a link's own time is the tree's too (and Unpack must keep it)
				if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, old, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		})
	}
	os.Lchown(filepath.Join(b, "etc", "a"), 1234, 1234) // owners are mapped to 0
	var wa, wb bytes.Buffer
	pa, err := Pack(a, &wa)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Pack(b, &wb)
	if err != nil {
		t.Fatal(err)
	}
	if pa.Digest != pb.Digest || !bytes.Equal(wa.Bytes(), wb.Bytes()) || pa.Size != int64(wa.Len()) {
		t.Fatalf("two packings of one tree differ: %s (%d) vs %s (%d)", pa.Digest, pa.Size, pb.Digest, pb.Size)
	}
	if len(pa.Manifest) != 7 { // bin, bin/t2, bin/tool, etc, etc/a, etc/b, z
		t.Errorf("manifest has %d entries, want 7: %+v", len(pa.Manifest), pa.Manifest)
	}
	writeTree(t, b, map[string]string{"etc/b": "bc"})
	os.Chtimes(filepath.Join(b, "etc"), time.Unix(1e9, 0), time.Unix(1e9, 0))
	wb.Reset()
	pc, err := Pack(b, &wb)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Digest == pa.Digest {
		t.Errorf("a changed file kept the digest %s", pc.Digest)
	}
	ch := Diff(pa.Manifest, pc.Manifest)
	if len(ch) != 1 || ch[0].Path != "etc/b" || ch[0].Op != "changed" || ch[0].Size != 2 {
		t.Errorf("diff: %+v, want etc/b changed", ch)
	}
	// Unpacked, it packs to the same digest again.
	dir := filepath.Join(t.TempDir(), "root")
	if err := Unpack(bytes.NewReader(wa.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	var wd bytes.Buffer
	if pd, err := Pack(dir, &wd); err != nil || pd.Digest != pa.Digest {
		t.Errorf("unpacked and packed again: %v %v, want %s", pd, err, pa.Digest)
	}
}

func TestDiff(t *testing.T) {
	a := []File{{Path: "a", Size: 1, SHA256: "x"}, {Path: "b", Size: 2, SHA256: "y"}, {Path: "c", Size: 3, SHA256: "z"}}
	b := []File{{Path: "a", Size: 1, SHA256: "x"}, {Path: "b", Size: 5, SHA256: "w"}, {Path: "d", Size: 4, SHA256: "v"}}
	got := Diff(a, b)
	want := []Change{{Op: "changed", Path: "b", Size: 5, Was: 2}, {Op: "removed", Path: "c", Size: 3}, {Op: "added", Path: "d", Size: 4}}
	if len(got) != len(want) {
		t.Fatalf("diff %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// An entry that leaves the root is refused.
func TestUnpackRefusesEscape(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	dir := t.TempDir()
	if err := Unpack(&buf, filepath.Join(dir, "root")); err == nil {
		t.Fatal("an entry ../evil was unpacked")
	}
	if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
		t.Fatal("../evil was written outside the root")
	}
}

// A stack's tar is anyone's (a member makes one from any tar they
// upload), and it is unpacked by agents on others' machines and by the
// server itself (burst stack commit): no entry reaches out of the root
// through a symbolic link an earlier entry made, nor through a hard link
// to a file outside, and no file, directory or time outside changes.
func TestUnpackRefusesLinkEscape(t *testing.T) {
	type ent struct {
		name, link string
		kind       byte
		body       string
	}
	out := t.TempDir()
	target := filepath.Join(out, "target")
	for _, c := range []struct {
		name string
		ents []ent
	}{
		{"a file below a link", []ent{{"esc", out, tar.TypeSymlink, ""}, {"esc/target", "", tar.TypeReg, "pwned"}}},
		{"a file below a link below a directory", []ent{{"d/", "", tar.TypeDir, ""}, {"d/esc", "../..", tar.TypeSymlink, ""}, {"d/esc/" + filepath.Base(out) + "/target", "", tar.TypeReg, "pwned"}}},
		{"a file at a link's own name", []ent{{"f", target, tar.TypeSymlink, ""}, {"f", "", tar.TypeReg, "pwned"}}},
		{"a hard link through a link, then written", []ent{{"esc", out, tar.TypeSymlink, ""}, {"h", "esc/target", tar.TypeLink, ""}, {"h", "", tar.TypeReg, "pwned"}}},
		{"a directory at a link's own name", []ent{{"d", out, tar.TypeSymlink, ""}, {"d/", "", tar.TypeDir, ""}}},
		{"a directory below a link", []ent{{"esc", out, tar.TypeSymlink, ""}, {"esc/made/", "", tar.TypeDir, ""}}},
	} {
		if err := os.WriteFile(target, []byte("orig"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Unix(1e9, 0)
		os.Chmod(out, 0o700)
		os.Chtimes(out, old, old)
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range c.ents {
			hdr := &tar.Header{Name: e.name, Typeflag: e.kind, Linkname: e.link, Mode: 0o777, Size: int64(len(e.body)), ModTime: time.Unix(2e9, 0)}
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			tw.Write([]byte(e.body))
		}
		tw.Close()
		root := filepath.Join(t.TempDir(), "root")
		err := Unpack(&buf, root)
		if b, _ := os.ReadFile(target); string(b) != "orig" {
			t.Errorf("%s: the file outside the root now reads %q (Unpack: %v)", c.name, b, err)
		}
		if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o700 || !fi.ModTime().Equal(old) {
			t.Errorf("%s: the directory outside the root changed: %v %v", c.name, fi.Mode(), fi.ModTime())
		}
		if ents, _ := os.ReadDir(out); len(ents) != 1 {
			t.Errorf("%s: entries were made outside the root: %v", c.name, ents)
		}
	}
}

// An overlay's upper directory, packed and applied: new and changed
// files land, a whiteout deletes, an opaque directory replaces the
// parent's whole, and a name that would leave the root is refused.
func TestChanges(t *testing.T) {
	root, upper := t.TempDir(), t.TempDir()
	writeTree(t, root, map[string]string{"keep": "k", "gone": "g", "dir/old": "o", "opq/a": "a", "opq/b": "b"})
	writeTree(t, upper, map[string]string{"new": "n", "keep": "changed", "opq/c": "c"})
	if err := syscall.Mknod(filepath.Join(upper, "gone"), syscall.S_IFCHR, 0); err != nil {
		if os.Getenv("BURST_CI") == "1" {
			t.Fatalf("cannot make a whiteout (a 0:0 character device) here: %v", err)
		}
		t.Skipf("!!! SKIPPED: cannot make a whiteout (a 0:0 character device) here (root can): %v", err)
	}
	if err := syscall.Setxattr(filepath.Join(upper, "opq"), "user.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatalf("cannot mark a directory opaque here: %v", err)
	}
	var buf bytes.Buffer
	p, err := PackChanges(upper, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if q, err := PackChanges(upper, &again); err != nil || q.Digest != p.Digest {
		t.Fatalf("packing the same changes twice: %v, digests %s and %s", err, p.Digest, q.Digest)
	}
	if err := ApplyChanges(root, &buf); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"keep": "changed", "new": "n", "dir/old": "o", "opq/c": "c"} {
		if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", p, b, err, want)
		}
	}
	for _, p := range []string{"gone", "opq/a", "opq/b"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	// A link in the tree, then a file below it: refused, nothing written outside.
	out := t.TempDir()
	if err := os.Symlink(out, filepath.Join(root, "esc")); err != nil {
		t.Fatal(err)
	}
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "esc/x", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	if err := ApplyChanges(root, &evil); !errors.Is(err, ErrNotStack) {
		t.Errorf("a file below a link: %v, want ErrNotStack", err)
	}
	if _, err := os.Lstat(filepath.Join(out, "x")); err == nil {
		t.Error("a file was written through a link out of the root")
	}
}

// A docker-archive of two layers, the second deleting a file of the first
// (a .wh. whiteout), flattens to the tree of the image.
func TestFromImageWhiteouts(t *testing.T) {
	layer := func(entries map[string]string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for n, body := range entries {
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644, ModTime: time.Unix(1e9, 0)})
			tw.Write([]byte(body))
		}
		tw.Close()
		return buf.Bytes()
	}
	l1, err := tarball.LayerFromReader(bytes.NewReader(layer(map[string]string{"etc/a": "a", "etc/b": "b"})))
	if err != nil {
		t.Fatal(err)
	}
	l2, err := tarball.LayerFromReader(bytes.NewReader(layer(map[string]string{"etc/.wh.a": "", "etc/c": "c"})))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l1, l2)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "img.tar")
	tag, _ := name.NewTag("test/img:1")
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err := FromImage(file, t.TempDir(), &out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range p.Manifest {
		got[f.Path] = true
	}
	if got["etc/a"] || !got["etc/b"] || !got["etc/c"] {
		t.Errorf("flattened image holds %v; want etc/b and etc/c, not etc/a (deleted by a whiteout)", got)
	}
	// Not an image: says what was expected.
	bad := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(bad, []byte("plain text"), 0o644)
	if _, err := FromImage(bad, t.TempDir(), &out); err == nil || !bytes.Contains([]byte(err.Error()), []byte("docker-archive")) {
		t.Errorf("a non-image: %v, want an error naming what was expected", err)
	}
}
