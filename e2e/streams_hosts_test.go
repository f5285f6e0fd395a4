package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

var streamPortRE = regexp.MustCompile(`listening for pipe streams.*advertised=(\S+)`)

// TestPipeAcrossHosts: a pipe whose stages run on agents in two network
// namespaces (two hosts that share nothing but a network) gives the exact
// output of the same shell pipeline, over streams the server paired and
// that are encrypted (TLS) because they leave the host; and a stranger
// who connects to a stream port with a guessed key is refused while the
// pipe goes on.
func TestPipeAcrossHosts(t *testing.T) {
	t.Parallel()
	h := startHostServer(t) // test hosts bh1, bh2 (scripts/hosts.sh): they share nothing with this one
	h.mustRun("cluster", "create", "hosta", "--provider", "joined")
	h.mustRun("cluster", "create", "hostb", "--provider", "joined")
	a := h.startHostAgent(1, "--machine", "hosta", "--cluster", "hosta", "--cpus", "1")
	b := h.startHostAgent(2, "--machine", "hostb", "--cluster", "hostb", "--cpus", "1")
	h.waitFor("both agents to register", 30*time.Second, func() bool {
		out := h.run("machine", "list").stdout
		return strings.Contains(out, "hosta") && strings.Contains(out, "hostb")
	})

	pipe := `--on hosta seq 1 1000000 | --on hostb awk '{print $1 * 7 % 1000003}' | --on hosta sort -n | --on hostb md5sum`
	want, err := exec.Command("sh", "-c", `seq 1 1000000 | awk '{print $1 * 7 % 1000003}' | sort -n | md5sum`).Output()
	if err != nil {
		t.Fatal(err)
	}
	r := h.mustRun("pipe", "--", pipe)
	if r.stdout != string(want) {
		t.Fatalf("across hosts the pipe wrote %q, the shell %q\n%s", r.stdout, want, r)
	}
	// Three streams, each from one host to the other: encrypted, and
	// never plain.
	logs := a.log.String() + b.log.String()
	if n := strings.Count(logs, "stream connected"); n != 6 || strings.Contains(logs, "mode=plain") {
		t.Fatalf("want 3 streams, each end connected with mode=tls; the agents' logs:\n%s", tail(logs, 3000))
	}
	if strings.Contains(logs, "burst_") || strings.Contains(logs, "key=") {
		t.Fatalf("an agent's log shows a secret:\n%s", tail(logs, 3000))
	}

	// A stranger at hostb's stream port, with the id of the next pipe's
	// stream and a guessed key: refused, and the pipe runs as it should.
	m := streamPortRE.FindStringSubmatch(b.log.String())
	if m == nil {
		t.Fatalf("hostb's agent did not say its stream port:\n%s", b.log.String())
	}
	portB := m[1]
	if !strings.HasPrefix(portB, hostAddr(2)+":") {
		t.Fatalf("hostb advertises its stream port at %s, want its own address %s", portB, hostAddr(2))
	}
	id := jobIDFrom(t, r)
	gen := regexp.MustCompile(`stream=` + fmt.Sprint(id) + `\.(\d+)\.`).FindStringSubmatch(logs)
	if gen == nil {
		t.Fatalf("no stream of job %d in the logs:\n%s", id, tail(logs, 3000))
	}
	next := fmt.Sprintf("%d.%s.1", id+1, gen[1])
	refused, said := make(chan error, 2), make(chan struct{}, 4)
	go func() { refused <- stranger(portB, next, "tls", said) }()
	go func() { refused <- stranger(portB, next, "plain", said) }() // plain, from another host
	for range 2 {                                                   // both said their part before the pipe's consumer asks
		select {
		case <-said:
		case <-time.After(30 * time.Second):
			t.Fatal("a stranger could not say its part of the handshake")
		}
	}
	r2 := h.mustRun("pipe", "--", `--on hosta seq 1 1000 | --on hostb wc -l`)
	strangersRefused := 0
	for range 2 {
		select {
		case err := <-refused:
			if err != nil {
				t.Errorf("stranger: %v", err)
			} else {
				strangersRefused++
			}
		case <-time.After(60 * time.Second):
			t.Fatal("a stranger at the stream port was neither refused nor accepted")
		}
	}
	failed := 0
	if strings.TrimSpace(r2.stdout) != "1000" {
		failed = 2
		t.Errorf("the pipe beside the strangers wrote %q", r2.stdout)
	}
	recordFault(t, faultRow{Fault: "stream port: unpaired peer", Tasks: 2, FailedWrongly: failed})
	if strangersRefused != 2 {
		t.Fatalf("%d of 2 strangers refused", strangersRefused)
	}
}

// stranger connects to a stream port as a producer of stream id, without
// its key (mode tls: after a TLS handshake; plain: as if on the port's
// host), sends a guessed proof, and returns nil once the port refuses it
// (closes the connection without its own proof). said gets a value once
// it has sent all it has to (or was refused before).
func stranger(addr, id, mode string, said chan<- struct{}) error {
	defer func() { said <- struct{}{} }() // at the latest: a second send is buffered

	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(50 * time.Second))
	nonce := make([]byte, 32)
	rand.Read(nonce)
	fmt.Fprintf(c, "burst-stream/2 %s %s %x\n", id, mode, nonce)
	var conn net.Conn = c
	if mode == "tls" {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err := tc.Handshake(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return fmt.Errorf("TLS handshake: %v", err)
			}
			return nil // refused at once: no stage here expects that stream yet (docs/security-streams.md)
		}
		conn = tc
	}
	guess := make([]byte, 32)
	rand.Read(guess)
	got := make([]byte, 32)
	if _, err := io.ReadFull(conn, got); err != nil {
		if mode == "plain" {
			return nil // refused at once: a plain stream from another host
		}
		return fmt.Errorf("no nonce from the port: %v", err)
	}
	if _, err := conn.Write(guess); err != nil {
		return nil
	}
	said <- struct{}{}
	if _, err := io.ReadFull(bufio.NewReader(conn), got); err == nil {
		return fmt.Errorf("the stream port answered a guessed key with its proof")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("the stream port neither refused nor accepted a guessed key")
	}
	return nil
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
