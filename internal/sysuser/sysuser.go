// Package sysuser looks up this host's user accounts the way the C library
// does, from burst's static binary.
//
// burst is built without cgo (CGO_ENABLED=0), so that one binary runs on
// every Linux of its architecture: a cgo build needs the C library it was
// built against or newer (glibc 2.34 when built on a current distribution),
// and would not start on RHEL/Rocky 8, Ubuntu 20.04 or Amazon Linux 2,
// where many clusters and cloud images still are. Go's own os/user then
// reads /etc/passwd alone, which misses the accounts an HPC site keeps in
// LDAP or SSSD. This package reads /etc/passwd first (no process started
// for the common case) and otherwise asks getent(1), which is part of
// every glibc and musl system and follows nsswitch.conf: LDAP, SSSD, NIS,
// extrausers, whatever the site configured.
package sysuser

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// User is one account of the passwd database.
type User struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
}

// ErrUnknown is returned (wrapped) when neither /etc/passwd nor getent
// knows the account.
var ErrUnknown = errors.New("no such user")

// Paths of what is read and run: variables so that a test can point them
// at files it made.
var (
	passwdPath = "/etc/passwd"
	getentPath = "getent"
)

// getentTimeout bounds one getent call: an unreachable LDAP server makes
// the C library wait for its own timeouts, and a lookup is never worth
// more than this.
const getentTimeout = 5 * time.Second

// cache keeps what was found, by "n:NAME" and "u:UID", for the life of the
// process: accounts do not change under a running command, and the server
// asks again only for names it has not seen. Failures are kept too (as
// errors): with the directory server unreachable, a listing of many jobs
// of unknown owners waits for getent once, not once per owner.
var cache sync.Map

// Lookup finds the account called name.
func Lookup(ctx context.Context, name string) (User, error) {
	if name == "" || strings.ContainsAny(name, ":\n\x00") {
		return User{}, fmt.Errorf("user %q: %w", name, ErrUnknown)
	}
	return find(ctx, "n:"+name, name, func(u User) bool { return u.Name == name })
}

// LookupID finds the account whose uid is uid.
func LookupID(ctx context.Context, uid int) (User, error) {
	if uid < 0 {
		return User{}, fmt.Errorf("uid %d: %w", uid, ErrUnknown)
	}
	key := strconv.Itoa(uid)
	return find(ctx, "u:"+key, key, func(u User) bool { return u.UID == uid })
}

// Current is the account this process runs as. When the passwd database
// has none for its uid (a container started with an arbitrary uid), it is
// made from $USER and $HOME, as Go's os/user does; an error only when
// $USER is empty too.
func Current(ctx context.Context) (User, error) {
	uid := os.Getuid()
	u, err := LookupID(ctx, uid)
	if err == nil {
		return u, nil
	}
	name := os.Getenv("USER")
	if name == "" {
		return User{}, fmt.Errorf("this process's uid %d is in no passwd database and $USER is empty: set USER", uid)
	}
	home, _ := os.UserHomeDir()
	return User{Name: name, UID: uid, GID: os.Getgid(), Home: home}, nil
}

func find(ctx context.Context, cacheKey, key string, match func(User) bool) (User, error) {
	if v, ok := cache.Load(cacheKey); ok {
		if err, failed := v.(error); failed {
			return User{}, err
		}
		return v.(User), nil
	}
	u, ok := fromFile(passwdPath, match)
	if !ok {
		var err error
		u, err = fromGetent(ctx, key)
		if err == nil && !match(u) {
			err = fmt.Errorf("getent passwd %s answered for %s:%d: %w", key, u.Name, u.UID, ErrUnknown)
		}
		if err != nil {
			if ctx.Err() == nil { // the caller's end is no answer about the account
				cache.Store(cacheKey, err)
			}
			return User{}, err
		}
	}
	cache.Store(cacheKey, u)
	return u, nil
}

// fromFile is the first entry of the passwd file at path that match
// accepts (false when none does or the file cannot be read).
func fromFile(path string, match func(User) bool) (User, bool) {
	f, err := os.Open(path)
	if err != nil {
		return User{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if u, ok := Parse(sc.Bytes()); ok && match(u) {
			return u, true
		}
	}
	return User{}, false
}

// fromGetent asks `getent passwd KEY`: exit status 2 means the key is in
// no database; anything else that is not one entry is an error that says
// what happened.
func fromGetent(ctx context.Context, key string) (User, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, getentTimeout)
	defer cancel()
	// "--": a name that begins with "-" is a key, not an option.
	cmd := exec.CommandContext(ctx, getentPath, "passwd", "--", key)
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C"}
	cmd.WaitDelay = time.Second // a child of getent holding its stdout does not hold us
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return User{}, fmt.Errorf("user %s: %w (not in %s, nor in the databases nsswitch.conf names)", key, ErrUnknown, passwdPath)
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return User{}, fmt.Errorf("user %s: %w in %s, and getent is not installed to ask nsswitch.conf's databases", key, ErrUnknown, passwdPath)
	case parent.Err() != nil:
		return User{}, fmt.Errorf("user %s: %w", key, parent.Err())
	case ctx.Err() != nil:
		return User{}, fmt.Errorf("user %s: getent passwd took over %s (is the directory server nsswitch.conf names reachable?)", key, getentTimeout)
	case err != nil:
		return User{}, fmt.Errorf("user %s: getent passwd: %v", key, err)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	u, ok := Parse(line)
	if !ok {
		return User{}, fmt.Errorf("user %s: getent passwd printed %q, not a passwd entry", key, line)
	}
	return u, nil
}

// Parse reads one passwd line, name:password:uid:gid:gecos:home:shell.
func Parse(line []byte) (User, bool) {
	f := strings.Split(string(line), ":")
	if len(f) < 7 || f[0] == "" || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
		return User{}, false
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return User{}, false
	}
	return User{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]}, true
}

// Nice is this process's nice value (0 when it cannot be read), read
// once: what sbatch and srun record for a job (SLURM_PRIO_PROCESS), and
// what a server started by this command would keep.
func Nice() int {
	niceOnce.Do(func() {
		// The system call answers 20 - nice (1 to 40), not the nice itself.
		if p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0); err == nil {
			nice = 20 - p
		}
	})
	return nice
}

// niceOnce and nice back Nice: a sync.Once at package level costs no
// allocation at start, where sync.OnceValue's closure does (every start of
// burst runs its initialisers; cmd/burst's TestOwnInitIsSmall).
var (
	niceOnce sync.Once
	nice     int
)
