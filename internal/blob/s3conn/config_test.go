package s3conn

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A shared credentials file that is there but that this user cannot read
// is said, naming the file, when credentials are looked for: the SDK
// passes over it as if there were none, and an agent then asked S3
// anonymously. A directory in its place is said the same way. Run as
// root (who reads any file), the unreadable case runs again as nobody.
func TestUnreadableSharedFile(t *testing.T) {
	dir := os.Getenv("S3CONN_TEST_DIR")
	if dir == "" {
		dir = t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unreadable := filepath.Join(dir, "credentials")
	if os.Getenv("S3CONN_TEST_DIR") == "" {
		if err := os.WriteFile(unreadable, []byte("[default]\naws_access_key_id=AKIA\naws_secret_access_key=s\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, path := range map[string]string{"unreadable": unreadable, "directory": dir} {
		if name == "unreadable" && os.Geteuid() == 0 {
			asNobody(t, dir)
			continue
		}
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		t.Setenv("AWS_PROFILE", "")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", path)
		_, creds, err := New(context.Background(), "http://127.0.0.1:1", "")
		if err != nil {
			t.Fatal(err)
		}
		has, err := HasCredentials(context.Background(), creds)
		var ce *ConfigError
		if has || !errors.As(err, &ce) || ce.File != path || !strings.Contains(err.Error(), "AWS_SHARED_CREDENTIALS_FILE") {
			t.Errorf("%s credentials file: has %v, %v; want a *ConfigError naming %s and the variable that moves it", name, has, err, path)
		}
	}
}

// asNobody runs TestUnreadableSharedFile again as uid 65534, with dir
// (root's 0600 credentials file in it) as its directory.
func asNobody(t *testing.T, dir string) {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("root, and no setpriv to run as nobody")
	}
	bin := filepath.Join(dir, "s3conn.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		dst.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "-test.run=^TestUnreadableSharedFile$", "-test.v")
	cmd.Env = append(os.Environ(), "S3CONN_TEST_DIR="+dir, "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
}
