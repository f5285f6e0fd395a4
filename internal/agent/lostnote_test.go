package agent

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

// A task lost because its inputs could not be fetched (the blob store out
// of the machine's reach: a real refused dial) is not said to be lost to a
// shortage of resources; one lost to EMFILE or ENOMEM, staging or not, is.
func TestLostNote(t *testing.T) {
	refused := errStageLost{fmt.Errorf("staging its inputs: fresh.txt: fetch sha256:31f1: %w", refusedDial(t))}
	if got := lostNote(refused); strings.Contains(got, "short of resources") || !strings.Contains(got, "could not stage") {
		t.Errorf("store out of reach (%v): %q", refused, got)
	}
	short := errStageLost{fmt.Errorf("caching: %w", syscall.EMFILE)}
	if got := lostNote(short); !strings.Contains(got, "short of resources") {
		t.Errorf("EMFILE while staging: %q", got)
	}
	if got := lostNote(fmt.Errorf("open /dev/null: %w", syscall.ENOMEM)); !strings.Contains(got, "short of resources") {
		t.Errorf("ENOMEM: %q", got)
	}
}

// refusedDial is the error of a dial to a loopback port nothing listens on
// any more, as an agent gets from a store endpoint it cannot reach.
func refusedDial(t *testing.T) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err = net.Dial("tcp", l.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a dial to the closed %s: %v, not refused", l.Addr(), err)
	}
	return err
}
