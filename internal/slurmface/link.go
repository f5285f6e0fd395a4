package slurmface

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Commands are the Slurm commands burst answers to, as `burst slurm NAME`
// and as argv[0] (a symlink named after one: burst slurm link, and the
// directory an agent puts first on a batch job's PATH).
var Commands = []string{"sbatch", "squeue", "scancel", "sacct", "scontrol", "sinfo", "srun", "sacctmgr", "sstat"}

// Link makes dir (created if missing) hold a symlink to exe named after
// each of Commands. A link there already to another file is replaced; a
// file there that is not a symlink is refused. Two callers at once (two
// agents of one home) both succeed.
func Link(dir, exe string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range Commands {
		p := filepath.Join(dir, n)
		if t, err := os.Readlink(p); err == nil && t == exe {
			continue
		}
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("%s exists and is not a symlink: remove it or choose another directory", p)
		}
		os.Remove(p) // an older link: replaced
		if err := os.Symlink(exe, p); err != nil {
			if t, rerr := os.Readlink(p); errors.Is(err, fs.ErrExist) && rerr == nil && t == exe {
				continue // made meanwhile by another
			}
			return err
		}
	}
	return nil
}
