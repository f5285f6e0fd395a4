package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/burst-sh/burst/internal/atomicfile"
)

// Login is a server `burst login` stored: its URL, the CA it pinned (PEM;
// "" when the system's roots verify it), the credential, and who the
// server said that credential is.
type Login struct {
	URL        string    `json:"url"`
	CA         string    `json:"ca,omitempty"`
	Credential string    `json:"credential"`
	User       string    `json:"user,omitempty"`
	At         time.Time `json:"logged_in_at"`
}

// Logins are the servers this user logged in to; the last one logged in
// to is the one commands use (Current).
type Logins struct {
	Servers []Login `json:"servers"`
}

// LoginsFile is where logins are kept: $XDG_CONFIG_HOME/burst/credentials.json,
// by default ~/.config/burst/credentials.json (as gh keeps hosts.yml).
func LoginsFile() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find where to keep logins: %w: set HOME or XDG_CONFIG_HOME", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "burst", "credentials.json"), nil
}

// ReadLogins reads the logins file; none is no login. Nor is there one
// where no home is known to keep it in (a Slurm ResumeProgram runs with
// an empty environment): only keeping a login needs one.
func ReadLogins() (*Logins, error) {
	path, err := LoginsFile()
	if err != nil {
		return &Logins{}, nil
	}
	b, err := ReadPrivate(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Logins{}, nil
	}
	if err != nil {
		return nil, err
	}
	var l Logins
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): remove it and log in again with `burst login URL`", path, err)
	}
	return &l, nil
}

// Save writes the logins file whole (a new file renamed over the old),
// 0600 in a 0700 directory: it holds credentials.
func (l *Logins) Save() error {
	path, err := LoginsFile()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot keep the login: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("cannot keep the login: %w", err)
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n')); err != nil {
		return fmt.Errorf("cannot keep the login: %w", err)
	}
	return nil
}

// Current is the login commands use: the last one made; nil when none.
func (l *Logins) Current() *Login {
	if len(l.Servers) == 0 {
		return nil
	}
	return &l.Servers[len(l.Servers)-1]
}

// For is the login of the server at url; nil when none.
func (l *Logins) For(url string) *Login {
	for i := range l.Servers {
		if l.Servers[i].URL == url {
			return &l.Servers[i]
		}
	}
	return nil
}

// Put stores lg, replacing any login of its URL, and makes it current.
func (l *Logins) Put(lg Login) {
	l.Remove(lg.URL)
	l.Servers = append(l.Servers, lg)
}

// Remove forgets the login of url and says whether there was one.
func (l *Logins) Remove(url string) bool {
	n := len(l.Servers)
	l.Servers = slices.DeleteFunc(l.Servers, func(s Login) bool { return s.URL == url })
	return len(l.Servers) < n
}
