package client_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// A server that takes the connection and never answers fails the call,
// saying so, instead of holding it forever.
func TestSilentServerFailsTheCall(t *testing.T) {
	defer client.SetAnswerTimeout(300 * time.Millisecond)()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // read nothing, answer nothing
		}
	}()
	cl, err := client.New("http://"+ln.Addr().String(), "tok", client.WithRetry(client.Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = cl.Jobs(ctx, client.JobsQuery{})
	if ctx.Err() != nil {
		t.Fatal("the call was still waiting on a silent server after 30 s")
	}
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("a call to a silent server: %v; want it to say the server did not answer", err)
	}
}
