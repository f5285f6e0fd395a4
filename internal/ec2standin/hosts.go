package ec2standin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Hosts runs instances on the namespace hosts of scripts/hosts.sh: each
// instance has a host of its own, from First to Last, claimed with an
// exclusive lock file (/run/lock/burst-standin-bhI.lock) so that several
// stand-ins, and tests that use hosts 1 to 4, share the machine. While it
// uses hosts it holds the hosts' lock shared, as every user of them does,
// so that no `hosts.sh stop` removes one under an instance. It never stops
// a host: an instance's end kills what it ran, and the host stays for the
// next.
type Hosts struct {
	Script      string // scripts/hosts.sh
	Exe         string // this binary, copied onto each host to be the instance's first process
	First, Last int

	mu     sync.Mutex // serialises hosts.sh add, which makes shared links
	claims map[int]*os.File
	shared *os.File // the hosts' lock, held shared
}

const hostsLock = "/run/lock/burst-hosts.lock"

// HostAddr is host i's address on the bridge.
func HostAddr(i int) string { return fmt.Sprintf("10.251.0.%d", 10+i) }

// Claim takes the first free host in First..Last.
func (h *Hosts) Claim() (int, string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.claims == nil {
		h.claims = map[int]*os.File{}
	}
	for i := h.First; i <= h.Last; i++ {
		if h.claims[i] != nil {
			continue
		}
		f, err := os.OpenFile(fmt.Sprintf("/run/lock/burst-standin-bh%d.lock", i), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		h.claims[i] = f
		return i, HostAddr(i), true
	}
	return 0, "", false
}

// Start makes host slot (hosts.sh add), clears what an earlier stand-in
// that died may have left there, puts IMDS's address on its loopback and
// runs `ec2-standin boot` there through hosts.sh exec, as the first
// process of the instance's own PID namespace.
func (h *Hosts) Start(ctx context.Context, slot int, b BootInfo, log io.Writer) (Proc, error) {
	h.mu.Lock()
	if h.shared == nil {
		f, err := os.OpenFile(hostsLock, os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
		}
		if err != nil {
			h.mu.Unlock()
			return nil, fmt.Errorf("lock %s: %w", hostsLock, err)
		}
		h.shared = f
	}
	out, err := exec.CommandContext(ctx, h.Script, "add", strconv.Itoa(slot)).CombinedOutput()
	h.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s add %d: %v: %s", h.Script, slot, err, strings.TrimSpace(string(out)))
	}
	ns := fmt.Sprintf("bh%d", slot)
	if err := killNetns(ns, 5*time.Second); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "ip", "-n", ns, "addr", "show", "dev", "lo").Output(); err != nil || !strings.Contains(string(out), "169.254.169.254/32") {
		if out, err := exec.CommandContext(ctx, "ip", "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ip -n %s addr add 169.254.169.254/32 dev lo: %v: %s", ns, err, out)
		}
	}
	c := exec.Command(h.Script, "exec", strconv.Itoa(slot), "--hide", "/var/log", "--bin", h.Exe, filepath.Base(h.Exe), "boot")
	c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	c.Dir = "/"
	c.Stdout, c.Stderr = log, log
	// The instance dies with the stand-in: hosts.sh exec's unshare, which
	// this becomes, kills the instance's first process when it dies.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("%s exec %d: %w", h.Script, slot, err)
	}
	p := &hostProc{cmd: c, stdin: stdin, done: make(chan struct{}), ns: ns}
	go func() {
		c.Wait()
		close(p.done)
	}()
	if err := p.send(bootMsg{Boot: &b}); err != nil {
		p.Shutdown(0)
		return nil, err
	}
	return p, nil
}

// Release kills whatever is left in host slot's network namespace and
// gives the host back.
func (h *Hosts) Release(slot int) error {
	err := killNetns(fmt.Sprintf("bh%d", slot), 10*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.claims[slot]; f != nil && err == nil {
		f.Close()
		delete(h.claims, slot)
	}
	return err
}

// Close lets go of the hosts' lock (every instance must have ended).
func (h *Hosts) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shared != nil {
		h.shared.Close()
		h.shared = nil
	}
}

type hostProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	stdin io.WriteCloser
	done  chan struct{}
	ns    string
}

func (p *hostProc) send(m bootMsg) error {
	b, _ := json.Marshal(m)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.stdin.Write(append(b, '\n'))
	return err
}

func (p *hostProc) Notify(a Action) error { return p.send(bootMsg{Action: &a}) }
func (p *hostProc) Done() <-chan struct{} { return p.done }

func (p *hostProc) Shutdown(grace time.Duration) error {
	p.send(bootMsg{Shutdown: &grace})
	t := time.NewTimer(grace + 3*time.Second)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.cmd.Process.Kill() // unshare: its child, the namespace's first process, dies with it
		<-p.done
	}
	p.stdin.Close()
	return killNetns(p.ns, 10*time.Second)
}

// killNetns kills every process in network namespace ns (by
// /run/netns/ns) and waits until none is left.
func killNetns(ns string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		pids, err := netnsPIDs(ns)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v are still in host %s after %s", pids, ns, within)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// netnsPIDs lists the processes whose network namespace is ns.
func netnsPIDs(ns string) ([]int, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &st); err != nil {
		if os.IsNotExist(err) {
			return nil, nil // no such host (yet): nothing runs there
		}
		return nil, fmt.Errorf("host %s: %w", ns, err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/net"); err == nil && l == want {
			out = append(out, pid)
		}
	}
	return out, nil
}

// NoMachines runs instances nowhere: they go from pending to running and
// to terminated, and their user-data is kept but not run. It is for tests
// of the API alone, where no namespace hosts can be made (no root).
type NoMachines struct {
	mu   sync.Mutex
	next int
}

func (n *NoMachines) Claim() (int, string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	return n.next, fmt.Sprintf("10.252.%d.%d", n.next/250, n.next%250+1), true
}

func (n *NoMachines) Start(ctx context.Context, slot int, b BootInfo, log io.Writer) (Proc, error) {
	fmt.Fprintf(log, "ec2-standin (test double): instance %s runs nowhere (no hosts): its user-data is not run\n", b.ID)
	return &nullProc{done: make(chan struct{})}, nil
}

func (n *NoMachines) Release(int) error { return nil }

type nullProc struct {
	once sync.Once
	done chan struct{}
}

func (p *nullProc) Notify(Action) error   { return nil }
func (p *nullProc) Done() <-chan struct{} { return p.done }
func (p *nullProc) Shutdown(time.Duration) error {
	p.once.Do(func() { close(p.done) })
	return nil
}
