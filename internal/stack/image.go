package stack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ErrNotImage is an image file that is neither kind FromImage reads.
var ErrNotImage = errors.New("not an image file: expected a docker-archive (`docker save -o IMAGE.tar NAME`) or an OCI image layout as a tar (`skopeo copy docker://NAME oci-archive:IMAGE.tar`)")

// FromImage flattens the image file at file (a docker-archive, or an OCI
// layout packed as a tar) into the deterministic tar written to w: its
// layers applied in order, whiteouts deleting what lower layers held.
// tmp is a directory for the work (the flattened tree is unpacked there,
// then packed).
func FromImage(file, tmp string, w io.Writer) (*Packed, error) {
	img, cleanup, err := openImage(file, tmp)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rc := mutate.Extract(img) // layers flattened, whiteouts applied
	defer rc.Close()
	root := filepath.Join(tmp, "rootfs")
	if err := Unpack(rc, root); err != nil {
		return nil, fmt.Errorf("%s: its layers: %w", file, err)
	}
	defer os.RemoveAll(root)
	return Pack(root, w)
}

// openImage opens file as a docker-archive or an OCI layout tar.
func openImage(file, tmp string) (v1.Image, func(), error) {
	names, err := tarNames(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is %w (%v)", file, ErrNotImage, err)
	}
	nothing := func() {}
	switch {
	case names["manifest.json"]:
		img, err := tarball.ImageFromPath(file, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: a docker-archive that cannot be read: %w", file, err)
		}
		return img, nothing, nil
	case names["oci-layout"] && names["index.json"]:
		dir := filepath.Join(tmp, "oci")
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, err
		}
		err = Unpack(f, dir)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: an OCI layout that cannot be read: %w", file, err)
		}
		cleanup := func() { os.RemoveAll(dir) }
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("%s: an OCI layout that cannot be read: %w", file, err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) == 0 {
			cleanup()
			return nil, nil, fmt.Errorf("%s: an OCI layout with no image in its index.json", file)
		}
		img, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("%s: its first image (a multi-platform index? give one platform's image): %w", file, err)
		}
		return img, cleanup, nil
	}
	return nil, nil, fmt.Errorf("%s is %w", file, ErrNotImage)
}

// tarNames lists the top-level file names of the tar at file.
func tarNames(file string) (map[string]bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	names := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		n, _ := cleanName(hdr.Name)
		names[n] = true
	}
}
