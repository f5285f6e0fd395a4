// Package home knows the layout of burst's state directory ($BURST_HOME,
// default ~/.burst): the store, token, socket, logs and server files.
//
// It creates files and directories there and nothing else.
package home

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/burst-sh/burst/internal/atomicfile"
)

// Home is a burst state directory.
type Home string

// Resolve returns $BURST_HOME, or ~/.burst, as an absolute path.
func Resolve() (Home, error) {
	d := os.Getenv("BURST_HOME")
	if d == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find your home directory (%v): set BURST_HOME", err)
		}
		d = filepath.Join(h, ".burst")
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	return Home(abs), nil
}

func (h Home) path(p ...string) string { return filepath.Join(append([]string{string(h)}, p...)...) }

// Paths of the files in a home.
func (h Home) DB() string         { return h.path("state.db") }
func (h Home) Token() string      { return h.path("token") }
func (h Home) Socket() string     { return h.path("burst.sock") }
func (h Home) ServerLog() string  { return h.path("server.log") }
func (h Home) ServerInfo() string { return h.path("server.json") }
func (h Home) Lock() string       { return h.path("server.lock") }

// MaxSocketPath is the longest path a UNIX socket may be bound at on
// Linux: sockaddr_un's sun_path holds 108 bytes, its NUL included.
const MaxSocketPath = 107

// SocketFits is nil when h's socket path (Socket) can be bound, else an
// error naming the fix: a home whose path is longer than about 96 bytes
// cannot hold its server's socket, and binding it fails with a bare
// EINVAL.
func (h Home) SocketFits() error {
	sock := h.Socket()
	if len(sock) <= MaxSocketPath {
		return nil
	}
	return fmt.Errorf("BURST_HOME is too long for its server's socket: %s is %d bytes, and a UNIX socket's path may have at most %d; "+
		"use a home of at most %d bytes, e.g. a symbolic link to this one: ln -s %s /tmp/$USER-burst && export BURST_HOME=/tmp/$USER-burst",
		sock, len(sock), MaxSocketPath, MaxSocketPath-len(sock)+len(h), h)
}

// TLS holds the server's CA and certificate (pki.In).
func (h Home) TLS() string { return h.path("tls") }

// LastAddr holds the TCP address the last server listened on: a server
// restarted without a fixed port takes it again, so that agents elsewhere
// (Slurm pilots) that know only that address find it.
func (h Home) LastAddr() string { return h.path("last-addr") }

// ServerArgs holds the options the last server was started with (JSON, a
// list of --name=value): a server started again by any command after a
// crash takes them again, so that one started with --listen comes back
// listening there, not on loopback alone. burst server stop removes it.
func (h Home) ServerArgs() string { return h.path("server-args.json") }
func (h Home) Logs() string       { return h.path("logs") }
func (h Home) Agents() string     { return h.path("agents") }
func (h Home) Prices() string     { return h.path("prices.yaml") }

// AgentLock is the file a machine's agent holds locked (flock) while it
// lives; AgentPID names that agent's pid, written by the agent itself.
func (h Home) AgentLock(machine string) string { return h.path("agents", machine+".lock") }
func (h Home) AgentPID(machine string) string  { return h.path("agents", machine+".pid") }

// Backups holds the server's periodic snapshots of the store.
func (h Home) Backups() string { return h.path("backups") }

// Ensure creates the directory (0700), makes it private to its owner
// (Private) and checks that it is writable.
func (h Home) Ensure() error {
	if err := os.MkdirAll(string(h), 0o700); err != nil {
		return fmt.Errorf("cannot create %s (%v): set BURST_HOME to a writable directory", h, err)
	}
	if err := h.Private(); err != nil {
		return err
	}
	f, err := os.CreateTemp(string(h), ".probe-*")
	if err != nil {
		return fmt.Errorf("%s is not writable (%v): fix its permissions or set BURST_HOME to a writable directory", h, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// EnsureToken returns the server token, creating it (0600) on first use.
// The token is written whole to a temporary file and linked into place, so
// that a write that fails (a full disk) leaves no token file at all, never
// an empty one that every later command would refuse; and so that of two
// processes creating it at once one wins and both use its token.
func (h Home) EnsureToken() (string, error) {
	if t, err := h.ReadToken(); err == nil {
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b)
	err := atomicfile.Create(h.Token(), []byte(tok+"\n"))
	if errors.Is(err, fs.ErrExist) {
		return h.ReadToken() // another process won the race
	}
	if err != nil {
		return "", fmt.Errorf("create token %s: %w", h.Token(), err)
	}
	return tok, nil
}

// ReadToken reads the server token.
func (h Home) ReadToken() (string, error) {
	b, err := os.ReadFile(h.Token())
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("token file %s is empty: delete it and restart the server", h.Token())
	}
	return t, nil
}
