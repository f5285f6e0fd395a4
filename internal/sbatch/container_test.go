package sbatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

func TestContainer(t *testing.T) {
	sc, err := Parse("job.sh", []byte("#!/bin/sh\n#SBATCH --container=tools:2\ntrue\n"))
	if err != nil {
		t.Fatal(err)
	}
	spec := &burst.JobSpec{}
	if err := sc.Apply(spec); err != nil {
		t.Fatal(err)
	}
	if spec.Stack == nil || spec.Stack.Name != "tools" || spec.Stack.Version != 2 {
		t.Fatalf("#SBATCH --container=tools:2 gave stack %+v, want tools:2", spec.Stack)
	}
	if err := sc.SetOption("container", "py@sha256:"+strings.Repeat("a", 64)); err != nil {
		t.Fatal(err)
	}
	if err := sc.Apply(spec); err != nil || spec.Stack.Name != "py" || spec.Stack.Digest == "" {
		t.Fatalf("the command line's --container: %+v, %v; want py@sha256:...", spec.Stack, err)
	}

	bundle := filepath.Join(t.TempDir(), "My_Bundle")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ v, want string }{
		{bundle, "burst stack create my_bundle --from-dir " + filepath.Join(bundle, "rootfs")},
		{"./x", "burst stack create x --from-dir ./x"},
		{"Tools!", "--container takes a stack"},
	} {
		_, err := Parse("job.sh", []byte("#!/bin/sh\n#SBATCH --container="+c.v+"\ntrue\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "job.sh:2") {
			t.Errorf("--container=%s: %v; want an error at job.sh:2 saying %q", c.v, err, c.want)
		}
	}
}
