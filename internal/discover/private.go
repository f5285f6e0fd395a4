package discover

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ReadPrivate reads a file that holds credentials, refusing it, as ssh
// refuses a private key, when it is a symbolic link, is not owned by this
// user, or may be read or written by the group or others: anyone else who
// could read it holds the credential, and anyone who could write it could
// point this program at a server of their own. A missing file answers an
// error that errors.Is(err, fs.ErrNotExist).
func ReadPrivate(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link, which burst does not follow for a file of credentials: put the file itself there (cp --remove-destination \"$(readlink -f %s)\" %s, then chmod 600 %s)", path, path, path, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): it should be the file of credentials burst wrote", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("%s belongs to user id %d, not to you (%d): a file of credentials must be yours alone (chown it to yourself, then chmod 600 %s)", path, st.Uid, os.Getuid(), path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s may be read or written by others (mode %04o): run `chmod 600 %s`", path, perm, path)
	}
	return io.ReadAll(f)
}
