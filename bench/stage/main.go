// Command stage measures staging against its peers: `cp` and MinIO's own
// client (`mc`), on the same data, in one run, interleaved (peer, burst,
// peer, burst...). It needs root (the test hosts of scripts/hosts.sh) and
// runs from the module's root:
//
//	go run ./bench/stage --size 256M              # a quick run
//	go run ./bench/stage -burst bin/burst -burst-before /tmp/burst-before
//	go run ./bench/stage -stores minio --size 512M  # MinIO as the store only
//
// Each round makes the input new (its first bytes change), so that every
// upload and every fetch moves all of its bytes. In each store (the
// embedded one, then MinIO as the store: `burst storage set s3://...`):
//
//   - upload: `burst storage put big.bin` (a new file: sent once, as it is
//     hashed, to the embedded store; hashed, then sent by a presigned URL
//     to MinIO) against `cp big.bin` + `sync` to the same disk (burst
//     fsyncs what it keeps) and `mc cp` to MinIO;
//   - get: `burst storage get` against `cp` + `sync` of the blob's file
//     (embedded) and `mc cp` from MinIO;
//   - to 4 hosts: a 100-task `burst map --in big.bin` on agents on 4 test
//     hosts (each fetches the input once into its cache, verifies it and
//     links it into each task's directory; each task checks its size and
//     last 64 KiB), against `mc cp` from MinIO run on the 4 hosts at once.
//     The bytes each host received (its veth's counter) are printed and
//     must be at least the input's size and less than twice it: the input
//     crosses once per host, not once per task.
//
// Under each get and each transfer to the hosts, the CPU (user + system)
// the clients spent (the CLI or mc; the agents, not their tasks) and
// MinIO's: on a shared machine the seconds move with the load, the CPU a
// transfer costs much less. Ratios are of throughputs, burst over the
// peer (peer time / burst time), medians over the rounds. The goal is >=
// 0.8x. Not part of CI.
package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/hosts"
	"github.com/burst-sh/burst/bench/internal/stat"
)

const (
	mcAlias  = "bench"
	bucket   = "bench"
	tailSize = 64 << 10
)

var (
	scratch *burstbin.Scratch
	hostsSh string
)

func main() {
	bin := flag.String("burst", "", "the burst binary (default: built from ./cmd/burst)")
	before := flag.String("burst-before", "", "a second burst binary, measured the same way in the same run")
	sizeFlag := flag.String("size", "1G", "the input's size (K, M, G)")
	rounds := flag.Int("rounds", 3, "rounds of each measurement")
	tasks := flag.Int("tasks", 100, "tasks of the map")
	nhosts := flag.Int("hosts", 4, "test hosts with an agent each")
	minioBin := flag.String("minio", firstOf(os.Getenv("MINIO_BIN"), "/var/cache/burst-minio/bin/minio"), "the MinIO server binary (.ci/run builds it)")
	storesFlag := flag.String("stores", "embedded,minio", "the stores measured, in order (embedded, minio)")
	mcBin := flag.String("mc", firstOf(os.Getenv("MC_BIN"), "/var/cache/burst-mc/bin/mc"), "MinIO's client, mc (see docs/benchmarks.md for how it is built)")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	check(err)
	if os.Getuid() != 0 {
		fail(errors.New("needs root: the test hosts of scripts/hosts.sh are network namespaces"))
	}
	for _, p := range []string{*minioBin, *mcBin} {
		if _, err := os.Stat(p); err != nil {
			fail(fmt.Errorf("%v: the peers are needed (MinIO: .ci/run builds it; mc: see docs/benchmarks.md)", err))
		}
	}
	hostsSh, err = hosts.Script()
	check(err)
	scratch, err = burstbin.NewScratch("burst-bench-stage-")
	check(err)
	defer scratch.Close()
	builds, err := burstbin.Builds(*bin, *before, scratch.Dir)
	check(err)
	release, err := hosts.Up(*nhosts)
	check(err)
	defer release()

	data := filepath.Join(scratch.Dir, "data")
	check(os.MkdirAll(data, 0o700))
	big := filepath.Join(data, "big.bin")
	check(writeRandom(big, size))
	mn := startMinIO(*minioBin, filepath.Join(scratch.Dir, "minio"))
	defer mn.stop()
	mc := func(args ...string) *exec.Cmd {
		c := exec.Command(*mcBin, append([]string{"--quiet", "--no-color"}, args...)...)
		c.Env = append(os.Environ(), "MC_CONFIG_DIR="+filepath.Join(scratch.Dir, "mc"), mn.mcHost())
		return c
	}
	run(mc("mb", mcAlias+"/"+bucket))

	fmt.Printf("staging %s (%d bytes), %d rounds, interleaved; %d tasks on %d test hosts\n", *sizeFlag, size, *rounds, *tasks, *nhosts)
	stores := strings.Split(*storesFlag, ",")
	for _, st := range stores {
		if st != "embedded" && st != "minio" {
			fail(fmt.Errorf("-stores %q: name embedded, minio or both, comma-separated", *storesFlag))
		}
	}
	for _, store := range stores {
		var servers []*server
		for _, b := range builds {
			servers = append(servers, startServer(b, store, mn, *nhosts, size))
		}
		res := map[string][]time.Duration{}
		add := func(k string, d time.Duration) { res[k] = append(res[k], d) }
		for r := range *rounds {
			fmt.Printf("\n%s store, round %d\n", store, r+1)
			for k := range servers {
				// The builds take turns at going first: the first of a
				// round met the write-back of the round before (its
				// 4 GiB on the hosts, MinIO's objects) and ran 2-4x
				// slower, with cp + sync beside it, whichever tool it
				// was. And each build starts on a settled disk.
				bi := (k + r) % len(servers)
				s := servers[bi]
				settle()
				fresh(big, fmt.Sprintf("%s/%d/%d", store, r, bi))
				tail := filepath.Join(data, "tail.bin")
				check(copyTail(big, tail))
				obj := fmt.Sprintf("%s/%s/%d-%d", mcAlias, bucket, r, bi)
				// upload: the peer, then burst (their order alternates by round)
				var digest string
				steps := []func(){
					func() {
						if store == "embedded" {
							dst := filepath.Join(data, "cp.bin")
							d := timed(exec.Command("sh", "-c", `cp "$1" "$2" && sync "$2"`, "sh", big, dst))
							os.Remove(dst)
							add("upload cp", d)
							line("cp + sync, to the same disk", d, size)
							d = timed(mc("cp", big, obj))
							add("upload mc", d)
							line("mc cp, to MinIO", d, size)
						} else {
							d := timed(mc("cp", big, obj))
							add("upload mc", d)
							line("mc cp, to MinIO", d, size)
						}
					},
					func() {
						c := s.cmd("storage", "put", big)
						var out bytes.Buffer
						c.Stdout = &out
						d := timed(c)
						digest = strings.Fields(out.String())[0]
						add("upload "+s.label, d)
						line(s.label+" storage put", d, size)
					},
				}
				if r%2 == 1 {
					steps[0], steps[1] = steps[1], steps[0]
				}
				steps[0]()
				steps[1]()
				// get
				getDst := filepath.Join(data, "got.bin")
				steps = []func(){
					func() {
						if store == "embedded" {
							h := strings.TrimPrefix(digest, "sha256:")
							src := filepath.Join(s.Home, "blobs", "sha256", h[:2], h)
							d := timed(exec.Command("sh", "-c", `cp "$1" "$2" && sync "$2"`, "sh", src, getDst))
							add("get cp", d)
							line("cp + sync, of the blob's file", d, size)
							os.Remove(getDst)
						}
						m0 := mn.cpu()
						c := mc("cp", obj, getDst)
						d := timed(c)
						add("get mc", d)
						line("mc cp, from MinIO", d, size)
						cpuLine("mc", cpuOf(c), "MinIO", mn.cpu()-m0)
						os.Remove(getDst)
					},
					func() {
						m0 := mn.cpu()
						c := s.cmd("storage", "get", digest, "--size", strconv.FormatInt(size, 10), "-o", getDst)
						d := timed(c)
						add("get "+s.label, d)
						line(s.label+" storage get", d, size)
						if store == "minio" {
							cpuLine("burst storage get", cpuOf(c), "MinIO", mn.cpu()-m0)
						}
						os.Remove(getDst)
					},
				}
				if r%2 == 1 {
					steps[0], steps[1] = steps[1], steps[0]
				}
				steps[0]()
				steps[1]()
				// to the hosts
				steps = []func(){
					func() {
						m0 := mn.cpu()
						d := mcOnHosts(*mcBin, mn, obj, *nhosts)
						add("hosts mc", d)
						line(fmt.Sprintf("mc cp from MinIO on %d hosts at once", *nhosts), d, size*int64(*nhosts))
						cpuLine("MinIO", mn.cpu()-m0, "", 0)
					},
					func() {
						m0, a0 := mn.cpu(), s.agentsCPU()
						d, got := s.mapOnHosts(data, *tasks, size)
						add("hosts "+s.label, d)
						line(fmt.Sprintf("%s map of %d tasks --in big.bin on %d hosts", s.label, *tasks, *nhosts), d, size*int64(*nhosts))
						if store == "minio" {
							cpuLine("the agents", s.agentsCPU()-a0, "MinIO", mn.cpu()-m0)
						} else {
							cpuLine("the agents", s.agentsCPU()-a0, "", 0)
						}
						var total int64
						for i, n := range got {
							total += n
							if n < size || n >= 2*size {
								fail(fmt.Errorf("host %d received %d bytes during the map: want the input once (%d bytes) and not twice", i+1, n, size))
							}
						}
						fmt.Printf("      bytes received by the hosts during the map: %d (%.2f x %d hosts x the input), each host: %v: once per host\n",
							total, float64(total)/float64(size*int64(*nhosts)), *nhosts, got)
					},
				}
				if r%2 == 1 {
					steps[0], steps[1] = steps[1], steps[0]
				}
				steps[0]()
				steps[1]()
			}
		}
		summary(store, builds, res, size, *nhosts)
		for _, s := range servers {
			s.stop()
		}
	}
}

// summary prints the medians and the ratios of one store's rounds.
func summary(store string, builds []burstbin.Build, res map[string][]time.Duration, size int64, nhosts int) {
	fmt.Printf("\n%s store: medians over the rounds; ratios are throughputs, burst / peer (goal >= 0.8x)\n", store)
	for _, what := range []string{"upload", "get", "hosts"} {
		bytes := size
		if what == "hosts" {
			bytes *= int64(nhosts)
		}
		for _, peer := range []string{"cp", "mc"} {
			if p := res[what+" "+peer]; len(p) > 0 {
				line(what+": "+peer, stat.Median(p), bytes)
			}
		}
		for _, b := range builds {
			bt := stat.Median(res[what+" "+b.Label])
			line(what+": "+b.Label, bt, bytes)
			for _, peer := range []string{"cp", "mc"} {
				if p := res[what+" "+peer]; len(p) > 0 {
					r := stat.Median(p).Seconds() / bt.Seconds()
					met := "met"
					if r < 0.8 {
						met = "NOT met"
					}
					fmt.Printf("      %s %s is %.2fx %s's throughput   goal >= 0.8x: %s\n", b.Label, what, r, peer, met)
				}
			}
		}
	}
}

// cpuLine prints the CPU (user + system) that one or two processes
// spent on the step just measured: on a shared machine the seconds move
// with the load, the CPU a transfer costs much less.
func cpuLine(a string, ad time.Duration, b string, bd time.Duration) {
	if b == "" {
		fmt.Printf("      CPU (user + system): %s %.2fs\n", a, ad.Seconds())
		return
	}
	fmt.Printf("      CPU (user + system): %s %.2fs, %s %.2fs\n", a, ad.Seconds(), b, bd.Seconds())
}

// cpuOf is the CPU a command that ended spent, with the children it waited for.
func cpuOf(c *exec.Cmd) time.Duration {
	if c.ProcessState == nil {
		return 0
	}
	return c.ProcessState.UserTime() + c.ProcessState.SystemTime()
}

// agentsCPU is the CPU the server's agents have spent so far (their
// tasks' processes not counted).
func (s *server) agentsCPU() time.Duration {
	var t time.Duration
	for _, pid := range s.AgentPIDs() {
		t += burstbin.CPU(pid)
	}
	return t
}

func line(what string, d time.Duration, bytes int64) {
	fmt.Printf("  %-58s %7.2fs  %7.1f MiB/s\n", what, d.Seconds(), float64(bytes)/(1<<20)/d.Seconds())
}

// server is a burst server listening on the bridge, with an agent on each
// test host.
type server struct {
	*hosts.Server
	label  string
	nhosts int
}

func (s *server) cmd(args ...string) *exec.Cmd { return s.Cmd(args...) }

func startServer(b burstbin.Build, store string, mn *minioServer, nhosts int, size int64) *server {
	home := scratch.Home(strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(b.Label) + "-" + store)
	hs, err := hosts.StartServer(b.Bin, home, filepath.Join(scratch.Dir, "data"), append(burstbin.Env(home), mn.awsEnv()...))
	check(err)
	s := &server{Server: hs, label: b.Label, nhosts: nhosts}
	if store == "minio" {
		run(s.cmd("storage", "set", "s3://"+bucket+"/"+filepath.Base(home), "--endpoint", mn.endpoint))
	}
	// The cache holds one input and a half: each round's input evicts the last one.
	check(s.Join(nhosts, "--cache-size", strconv.FormatInt(size+size/2+tailSize*4, 10)))
	return s
}

func (s *server) stop() { s.Stop() }

// mapOnHosts runs the staged map on the hosts and returns its time and
// the bytes each host received meanwhile.
func (s *server) mapOnHosts(data string, tasks int, size int64) (time.Duration, []int64) {
	script := fmt.Sprintf(`test "$(wc -c < big.bin)" = %d && tail -c %d big.bin | cmp -s - tail.bin`, size, tailSize)
	args := []string{"map", "--quiet", "--on", "joined", "--in", "big.bin", "--in", "tail.bin", "--", "sh", "-c", script, "sh", "{}", ":::"}
	for i := range tasks {
		args = append(args, strconv.Itoa(i))
	}
	before, err := hosts.RxBytes(s.nhosts)
	check(err)
	c := s.cmd(args...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	start := time.Now()
	if err := c.Run(); err != nil {
		fail(fmt.Errorf("the map failed (every task checks its input): %v\n%s", err, out.String()))
	}
	d := time.Since(start)
	after, err := hosts.Since(before)
	check(err)
	return d, after
}

// mcOnHosts runs `mc cp` of obj into each host's /tmp at once and returns
// the time until the last ended. mc is copied onto each host and started
// first; the clock starts once all four wait for the word to go, so that
// copying the binary is not counted.
func mcOnHosts(mcBin string, mn *minioServer, obj string, n int) time.Duration {
	const inner = `echo ready && read go && exec "$0" --quiet --no-color cp "$1" /tmp/obj`
	cmds := make([]*exec.Cmd, n)
	gos := make([]io.WriteCloser, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		c := exec.Command(hostsSh, "exec", strconv.Itoa(i+1), "--bin", mcBin, "sh", "-c", inner, filepath.Base(mcBin), obj)
		c.Env = append(os.Environ(), "MC_CONFIG_DIR=/tmp/mc", mn.mcHost())
		w, err := c.StdinPipe()
		check(err)
		outs[i] = &bytes.Buffer{}
		ready := &readyWriter{w: outs[i], ready: make(chan struct{})}
		c.Stdout, c.Stderr = ready, ready
		launch(c)
		select {
		case <-ready.ready:
		case <-time.After(60 * time.Second):
			fail(fmt.Errorf("mc on host %d did not start in 60s", i+1))
		}
		cmds[i], gos[i] = c, w
	}
	start := time.Now()
	for _, w := range gos {
		io.WriteString(w, "go\n")
		w.Close()
	}
	var errs []error
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("mc cp on host %d: %v\n%s", i+1, err, outs[i].String()))
		}
	}
	d := time.Since(start)
	check(errors.Join(errs...))
	return d
}

// readyWriter keeps what a command writes and closes ready once it wrote
// "ready".
type readyWriter struct {
	mu    sync.Mutex
	w     *bytes.Buffer
	ready chan struct{}
}

func (r *readyWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	was := strings.Contains(r.w.String(), "ready\n")
	r.w.Write(p)
	if !was && strings.Contains(r.w.String(), "ready\n") {
		close(r.ready)
	}
	return len(p), nil
}

// minioServer is a real MinIO on the bridge: the peer, and the S3 store.
type minioServer struct {
	endpoint, user, pass string
	cmd                  *exec.Cmd
}

func (m *minioServer) mcHost() string {
	return "MC_HOST_" + mcAlias + "=http://" + m.user + ":" + m.pass + "@" + strings.TrimPrefix(m.endpoint, "http://")
}

func (m *minioServer) awsEnv() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + m.user, "AWS_SECRET_ACCESS_KEY=" + m.pass}
}

func startMinIO(bin, dir string) *minioServer {
	port, console := freePort(), freePort()
	m := &minioServer{endpoint: fmt.Sprintf("http://%s:%d", hosts.Gateway, port), user: "bench" + randHex(4), pass: randHex(16)}
	logf, err := os.Create(dir + ".log")
	check(err)
	m.cmd = exec.Command(bin, "server", "--quiet", "--address", fmt.Sprintf("%s:%d", hosts.Gateway, port),
		"--console-address", fmt.Sprintf("%s:%d", hosts.Gateway, console), dir)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.user, "MINIO_ROOT_PASSWORD="+m.pass, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	launch(m.cmd)
	waitFor("MinIO at "+m.endpoint, func() bool {
		resp, err := http.Get(m.endpoint + "/minio/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return m
}

// cpu is the CPU MinIO has spent so far.
func (m *minioServer) cpu() time.Duration { return burstbin.CPU(m.cmd.Process.Pid) }

func (m *minioServer) stop() {
	syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	m.cmd.Wait()
}

// writeRandom writes size random bytes to path.
func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// settle writes out what is dirty and waits (at most a minute) until the
// kernel holds under 64 MiB of dirty or in-flight pages, so that no
// measurement pays for the write-back of the one before it.
func settle() {
	syscall.Sync()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/meminfo")
		if err != nil {
			return
		}
		var pending int64
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && (f[0] == "Dirty:" || f[0] == "Writeback:") {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				pending += kb << 10
			}
		}
		if pending < 64<<20 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fresh makes the input a new blob: its first bytes name the round.
func fresh(path, tag string) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	check(err)
	_, err = f.WriteAt([]byte(fmt.Sprintf("%-32s", tag)), 0)
	check(err)
	check(f.Close())
}

// copyTail writes the last tailSize bytes of src to dst.
func copyTail(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	off := max(0, fi.Size()-tailSize)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func timed(c *exec.Cmd) time.Duration {
	var out bytes.Buffer
	if c.Stderr == nil {
		c.Stderr = &out
	}
	start := time.Now()
	if err := c.Run(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, out.String()))
	}
	return time.Since(start)
}

func run(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, out))
	}
}

func waitFor(what any, ok func() bool) { check(hosts.WaitFor(what, 60*time.Second, ok)) }

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-size %q: give a size such as 256M or 1G", s)
	}
	return n * mult, nil
}

func freePort() int {
	ln, err := net.Listen("tcp", hosts.Gateway+":0")
	check(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func launch(c *exec.Cmd) { check(hosts.Launch(c)) }

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/stage:", err)
	hosts.KillStarted()
	scratch.Close()
	os.Exit(1)
}
