package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/burst-sh/burst/client"
)

// The summary under storage rm's and tier's table counts the blobs in
// words a person reads: "Moved 1 blob", never "Moved 1 blobs".
func TestRenderEditedCounts(t *testing.T) {
	change := func(to string) client.StorageChange {
		return client.StorageChange{Kind: "input", Digest: "sha256:" + strings.Repeat("ab", 32), Size: 39, From: "ssd", To: to}
	}
	for _, c := range []struct {
		name string
		in   client.StorageEdited
		want string
	}{
		{"one moved", client.StorageEdited{Changes: []client.StorageChange{change("cold_hdd")}}, "Moved 1 blob, 39 B.\n"},
		{"two moved", client.StorageEdited{Changes: []client.StorageChange{change("cold_hdd"), change("cold_hdd")}}, "Moved 2 blobs, 78 B.\n"},
		{"one removed", client.StorageEdited{Changes: []client.StorageChange{change("")}}, "Removed 1 blob, 39 B.\n"},
		{"one dry run", client.StorageEdited{Changes: []client.StorageChange{change("")}, DryRun: true}, "Would change 1 blob, 39 B.\n"},
	} {
		var b bytes.Buffer
		if err := renderEdited(&b, &c.in); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%s: got\n%s\nwant a line %q", c.name, b.String(), c.want)
		}
	}
}
