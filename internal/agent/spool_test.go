package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// A running task's spool file holds on disk only what the server has not
// acknowledged: a task that wrote 8 MiB, all shipped, holds less than
// 1 MiB of disk while it still runs, the server holds every byte exactly,
// and what the task writes after the holes were punched ships too. Before,
// the spool kept all a task wrote until it ended.
func TestSpoolFreesShippedOutput(t *testing.T) {
	var mu sync.Mutex
	var got bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		off, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
		mu.Lock()
		defer mu.Unlock()
		if off != int64(got.Len()) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			fmt.Fprintf(w, `{"next":%d,"message":"gap"}`, got.Len())
			return
		}
		got.Write(b)
		fmt.Fprintf(w, `{"next":%d}`, got.Len())
	}))
	defer srv.Close()
	cl, err := client.New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "1.0.1.out")
	task, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // the task's stdout
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	var want bytes.Buffer
	write := func(n int) {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(want.Len()+i) | 1 // no zeros: a punched range read back would show
		}
		want.Write(b)
		if _, err := task.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(8 << 20)
	sh := &shipper{cl: cl, machine: "m1", boot: func() string { return "b" }, ref: client.TaskRef{Job: 1, Attempt: 1},
		ctx: context.Background(), log: slog.New(slog.DiscardHandler), giveUp: time.Minute}
	sh.add(client.StreamStdout, path, false, true)
	sh.start()
	held := func() int64 {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks * 512
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := got.Len()
		mu.Unlock()
		if n == want.Len() && held() < 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d of %d bytes and the running task's spool still holds %d bytes of disk; want under 1 MiB once shipped", n, want.Len(), held())
		}
		time.Sleep(20 * time.Millisecond) // polling for the event: the shipper's acknowledgement
	}
	if fi, _ := os.Stat(path); fi.Size() != int64(want.Len()) {
		t.Errorf("the spool file's size is %d, want %d (kept)", fi.Size(), want.Len())
	}
	write(300 << 10) // the task goes on writing at its offset
	if !sh.finish() {
		t.Fatal("finish: shipping not complete")
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("the server holds %d bytes, not the %d the task wrote", got.Len(), want.Len())
	}
}
