package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/stack"
)

// Software stacks (docs/stacks.md). A task of a job with a stack runs in
// its private directory (staging's, stage.go), bound at /work inside a
// bubblewrap sandbox whose / is the stack's root filesystem: the stack's
// blob is fetched once per machine through the blob cache (verified by
// its digest) and unpacked once into CACHE/stacks/HEX/rootfs (renamed
// into place when complete, so that a half-unpacked tree is never used),
// where it stays until evicted, least recently used first, never while a
// task holds it (stack_evict.go).
// The root is bound read-only; /tmp is a fresh tmpfs; /proc and /dev are
// the sandbox's own, the GPUs the task was given are passed through.
// The sandbox runs as a child of the runner, so the task's cgroup,
// limits, accounting and process-group kill hold as for any task.

// stacksOK says whether this machine runs tasks inside stacks: bwrap is
// on PATH and makes a user namespace. Probed once.
var stacksOK = sync.OnceValue(func() bool {
	bw, err := exec.LookPath("bwrap")
	if err != nil {
		return false
	}
	return exec.Command(bw, "--unshare-user", "--ro-bind", "/", "/", "--", "true").Run() == nil
})

// stackMounts are the mount points a sandbox needs in a stack's root: a
// root filesystem that lacks them gets them when it is unpacked.
var stackMounts = []string{"work", "tmp", "proc", "dev"}

// stackRoot returns the unpacked root filesystem of ref on this machine,
// fetching and unpacking it the first time (evicting the least recently
// used trees no task holds when the trees would pass their limit:
// stack_evict.go): one task does it while the others that want the same
// stack wait for it (each only as long as its own context lasts);
// different stacks are fetched side by side. The task holds the tree,
// which is never evicted, until it calls release (at its end).
func (a *Agent) stackRoot(ctx context.Context, ref *burst.StackRef) (root string, release func(), err error) {
	hex := strings.TrimPrefix(ref.Digest, "sha256:")
	return a.stacks.use(ctx, hex, ref.Size, func(dir string) error { return a.unpackStack(ctx, ref, dir) })
}

// unpackStack fetches ref's blob through the cache and unpacks it into
// dir.
func (a *Agent) unpackStack(ctx context.Context, ref *burst.StackRef, dir string) error {
	// The tar in the cache and its unpacked tree: refused before any
	// byte moves when the disk cannot take both.
	base := filepath.Dir(filepath.Dir(dir)) // CACHE/stacks/HEX, above its unpack-* directory
	var fs unix.Statfs_t
	if err := unix.Statfs(base, &fs); err == nil {
		if free := int64(fs.Bavail) * int64(fs.Bsize); 2*ref.Size > free {
			return fmt.Errorf("stack %s is %d bytes; this machine's disk has %d bytes free at %s, and it needs twice the stack's size (its blob and its unpacked files): free some space or run it elsewhere",
				ref, ref.Size, free, base)
		}
	}
	fetch := func(ctx context.Context, dst string) error {
		return a.cfg.Client.FetchBlob(ctx, client.BlobRef{Digest: ref.Digest, Size: ref.Size}, dst)
	}
	src, err := a.cache.acquire(ctx, ref.Digest, ref.Size, fetch)
	if err != nil {
		return fmt.Errorf("stack %s: %w", ref, err)
	}
	defer a.cache.release(ref.Digest)
	f, err := os.Open(src)
	if err != nil {
		return errStageLost{err}
	}
	err = stack.Unpack(f, dir)
	f.Close()
	if err != nil {
		return fmt.Errorf("stack %s: %w", ref, err)
	}
	for _, m := range stackMounts {
		p := filepath.Join(dir, m)
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			os.Remove(p)
			os.Mkdir(p, 0o755)
		}
	}
	return nil
}

// unpacks lets one caller at a time make each key's result (a stack's
// unpacked root) while the others wanting it wait.
type unpacks struct {
	mu   sync.Mutex
	busy map[string]chan struct{} // closed when the key's maker returns
}

// do returns once done() holds: at once if it does; else it runs fn
// unless another caller is running fn for key, in which case it waits
// for that one (or for ctx to end) and looks again: a caller whose fn
// failed leaves the next waiter to try. It returns fn's error, or ctx's.
func (u *unpacks) do(ctx context.Context, key string, done func() bool, fn func() error) error {
	for !done() {
		u.mu.Lock()
		ch, running := u.busy[key]
		if !running {
			if u.busy == nil {
				u.busy = map[string]chan struct{}{}
			}
			ch = make(chan struct{})
			u.busy[key] = ch
			u.mu.Unlock()
			var err error
			if !done() { // made between the look and the lock
				err = fn()
			}
			u.mu.Lock()
			delete(u.busy, key)
			u.mu.Unlock()
			close(ch)
			return err
		}
		u.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// sandboxArgv is argv run inside the stack whose root is root, with dir
// (the task's private directory) at /work, the working directory; script,
// when set, is the host path of the batch script argv runs, bound at
// the same path; gpus are the task's GPU indices.
func sandboxArgv(root, dir, script string, gpus []int, argv []string) []string {
	out := []string{"bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
		"--ro-bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--bind", dir, "/work", "--chdir", "/work"}
	if script != "" {
		out = append(out, "--ro-bind", script, script)
	}
	if len(gpus) > 0 {
		for _, d := range []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"} {
			if _, err := os.Stat(d); err == nil {
				out = append(out, "--dev-bind", d, d)
			}
		}
		for _, g := range gpus {
			d := "/dev/nvidia" + strconv.Itoa(g)
			if _, err := os.Stat(d); err == nil {
				out = append(out, "--dev-bind", d, d)
			}
		}
	}
	return append(append(out, "--"), argv...)
}
