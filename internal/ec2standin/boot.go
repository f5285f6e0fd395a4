package ec2standin

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// IMDSAddr is where the instance metadata service listens in an instance.
const IMDSAddr = "169.254.169.254:80"

// BootInfo is what an instance's first process learns when it starts: the
// instance's metadata and its user-data.
type BootInfo struct {
	ID, Type, Zone, Region, IP, Image string
	UserData                          []byte
}

// bootMsg is one line the stand-in writes to an instance's first process.
type bootMsg struct {
	Boot     *BootInfo      `json:"boot,omitempty"`
	Action   *Action        `json:"action,omitempty"`
	Shutdown *time.Duration `json:"shutdown,omitempty"` // grace between SIGTERM and SIGKILL
}

// Boot is an instance's first process (`ec2-standin boot`, run by the
// stand-in as the first process of the instance's PID namespace): it reads
// the instance's BootInfo from in, serves IMDS on imdsAddr, runs the
// user-data as root would on first boot with its output to out, and reaps
// orphans, until in says shut down (or ends): then every other process of
// the instance gets SIGTERM, and SIGKILL after the grace.
func Boot(in io.Reader, out io.Writer, imdsAddr string) error {
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "ec2-standin (test double): "+format+"\n", args...)
	}
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	var first bootMsg
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &first) != nil || first.Boot == nil {
		return errors.New("ec2-standin boot is run by the stand-in, which writes the instance's boot line on its standard input")
	}
	b := *first.Boot
	md := &metadata{info: b, tokens: map[string]time.Time{}, say: say}
	ln, err := net.Listen("tcp", imdsAddr)
	if err != nil {
		return fmt.Errorf("instance metadata service: %w", err)
	}
	srv := &http.Server{Handler: md, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	say("instance %s: metadata service on %s", b.ID, imdsAddr)

	say("instance %s: user-data starts at %s", b.ID, time.Now().UTC().Format(LogTimeLayout))
	go reap(runUserData(b.UserData, out, say), say)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	msgs := make(chan bootMsg)
	go func() {
		defer close(msgs)
		for lines.Scan() {
			var m bootMsg
			if json.Unmarshal(lines.Bytes(), &m) == nil {
				msgs <- m
			}
		}
	}()
	grace := 2 * time.Second
	for done := false; !done; {
		select {
		case m, ok := <-msgs:
			switch {
			case !ok:
				done = true
			case m.Action != nil:
				md.setAction(*m.Action)
				say("instance %s: spot interruption notice: %s at %s", b.ID, m.Action.Action, m.Action.Time.Format(time.RFC3339))
			case m.Shutdown != nil:
				grace, done = *m.Shutdown, true
			}
		case <-stop:
			done = true
		}
	}
	say("instance %s: shutting down (SIGTERM, then SIGKILL after %s)", b.ID, grace)
	shutdown(grace)
	dumpLogs(out, logDir, 16<<10)
	return nil
}

// logDir is where an instance's programs log (the stand-in's hosts cover
// it with an empty tmpfs of their own, gone with the instance).
const logDir = "/var/log"

// dumpLogs writes the last max bytes of every file in dir to out, so that
// what the instance's programs logged (a burst agent's
// /var/log/burst-agent.log) outlives it in the instance's log: the one
// place a test that failed can show why an instance did what it did.
func dumpLogs(out io.Writer, dir string, max int64) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(dir + "/" + e.Name())
		if err != nil {
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.Size() > max {
			f.Seek(-max, io.SeekEnd)
		}
		fmt.Fprintf(out, "ec2-standin (test double): --- %s/%s at shutdown:\n", dir, e.Name())
		io.Copy(out, f)
		f.Close()
	}
}

// runUserData starts the user-data as a script, as cloud-init runs a
// user-data that begins with #!; it returns its pid (0 when none runs).
func runUserData(ud []byte, out io.Writer, say func(string, ...any)) int {
	if len(ud) == 0 {
		say("no user-data")
		return 0
	}
	if !bytes.HasPrefix(ud, []byte("#!")) {
		say("the user-data is not a script (it does not begin with #!): not run")
		return 0
	}
	path := "/tmp/user-data"
	if err := os.WriteFile(path, ud, 0o700); err != nil {
		say("write the user-data: %v", err)
		return 0
	}
	f, ok := out.(*os.File)
	if !ok {
		f = os.Stdout
	}
	env := []string{"PATH=/tmp/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8"}
	p, err := os.StartProcess(path, []string{path}, &os.ProcAttr{Dir: "/", Env: env, Files: []*os.File{nil, f, f}})
	if err != nil {
		say("run the user-data: %v", err)
		return 0
	}
	say("user-data started (pid %d)", p.Pid)
	return p.Pid
}

// reap waits for every child, as the first process of a PID namespace must,
// and says how the user-data ended.
func reap(udPID int, say func(string, ...any)) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil { // no child now: orphans may come later
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if pid == udPID {
			say("user-data exited with status %d", ws.ExitStatus())
		}
	}
}

// shutdown ends every other process of the namespace: SIGTERM, then
// SIGKILL after grace.
func shutdown(grace time.Duration) {
	syscall.Kill(-1, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && othersLeft() {
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-1, syscall.SIGKILL)
}

// othersLeft says whether a process other than this one is visible.
func othersLeft() bool {
	ents, _ := os.ReadDir("/proc")
	me := os.Getpid()
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != me {
			return true
		}
	}
	return false
}

// metadata is IMDSv2 for one instance.
type metadata struct {
	info   BootInfo
	mu     sync.Mutex
	tokens map[string]time.Time
	action *Action
	say    func(format string, args ...any) // a line of the instance's log
	read   bool                             // the notice was read: its first read is logged, with its time
}

func (m *metadata) setAction(a Action) {
	m.mu.Lock()
	m.action = &a
	m.mu.Unlock()
}

// noticeRead logs the first read of the interruption notice, with its time
// to the microsecond: when the instance learnt of it (benchmarks measure
// the agent's polling from it).
func (m *metadata) noticeRead(at time.Time) {
	m.mu.Lock()
	first := !m.read
	m.read = true
	m.mu.Unlock()
	if first && m.say != nil {
		m.say("instance %s: spot interruption notice first read from IMDS at %s", m.info.ID, at.UTC().Format(LogTimeLayout))
	}
}

// LogTimeLayout is the time layout of the instance log's lines that say
// when its user-data started ("instance ID: user-data starts at TIME") and
// when its interruption notice was first read ("... first read from IMDS at
// TIME"): benchmarks measure from them.
const LogTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

func (m *metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if err != nil || ttl < 1 || ttl > 21600 {
			http.Error(w, "bad request: X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600", http.StatusBadRequest)
			return
		}
		var b [24]byte
		rand.Read(b[:])
		tok := hex.EncodeToString(b[:])
		m.mu.Lock()
		m.tokens[tok] = time.Now().Add(time.Duration(ttl) * time.Second)
		m.mu.Unlock()
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
		io.WriteString(w, tok)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	m.mu.Lock()
	exp, ok := m.tokens[r.Header.Get("X-aws-ec2-metadata-token")]
	action := m.action
	m.mu.Unlock()
	if !ok || time.Now().After(exp) {
		http.Error(w, "unauthorized: IMDSv2 needs a token (PUT /latest/api/token)", http.StatusUnauthorized)
		return
	}
	i := m.info
	values := map[string]string{
		"instance-id":                 i.ID,
		"instance-type":               i.Type,
		"ami-id":                      i.Image,
		"local-ipv4":                  i.IP,
		"hostname":                    "ip-" + strings.ReplaceAll(i.IP, ".", "-") + "." + i.Region + ".compute.internal",
		"local-hostname":              "ip-" + strings.ReplaceAll(i.IP, ".", "-") + "." + i.Region + ".compute.internal",
		"placement/availability-zone": i.Zone,
		"placement/region":            i.Region,
	}
	if action != nil {
		b, _ := json.Marshal(struct {
			Action string `json:"action"`
			Time   string `json:"time"`
		}{action.Action, action.Time.UTC().Format("2006-01-02T15:04:05Z")})
		values["spot/instance-action"] = string(b)
	}
	switch p := r.URL.Path; {
	case p == "/latest/user-data":
		if len(i.UserData) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Write(i.UserData)
	case p == "/latest/meta-data/" || p == "/latest/meta-data":
		io.WriteString(w, "ami-id\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\nspot/\n")
	case strings.HasPrefix(p, "/latest/meta-data/"):
		v, ok := values[strings.TrimPrefix(p, "/latest/meta-data/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, v)
		if p == "/latest/meta-data/spot/instance-action" {
			m.noticeRead(time.Now())
		}
	default:
		http.NotFound(w, r)
	}
}
