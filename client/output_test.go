package client

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// SendOutput sends the chunk's bytes with the endpoint's credential and
// maps the server's answers: 200 to the ack, 416 to an *OutputGap with
// where to ship from, 410 to ErrOutputGone, 409 to ErrReregister, and any
// other error to the server's message.
func TestSendOutputAnswers(t *testing.T) {
	data := []byte("caf\xe9 \xff\x00end\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.URL.Path != "/v1/agent/output" || r.Header.Get("Authorization") != "Bearer burst_m_x" ||
			r.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(b, data) {
			http.Error(w, `{"error":"bad request shape"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("offset") {
		case "0":
			io.WriteString(w, `{"next":14}`)
		case "100":
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			io.WriteString(w, `{"next":14,"message":"output of job 1 task 0 begins at 14, not 100"}`)
		case "1":
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, `{"error":"gone"}`)
		case "2":
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"register again"}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":"the store is full"}`)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, "burst_m_x", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(off int64) *OutputChunk {
		return &OutputChunk{Machine: "m", BootID: "b", TaskRef: TaskRef{Job: 1}, Stream: StreamStdout, Offset: off, Data: data}
	}
	if ack, err := c.SendOutput(t.Context(), chunk(0)); err != nil || ack.Next != 14 {
		t.Errorf("offset 0: %+v, %v; want next 14", ack, err)
	}
	var gap *OutputGap
	if _, err := c.SendOutput(t.Context(), chunk(100)); !errors.As(err, &gap) || gap.Next != 14 || !strings.Contains(gap.Message, "begins at 14") {
		t.Errorf("a gap: %v (%+v); want an *OutputGap at 14 with the server's message", err, gap)
	}
	if _, err := c.SendOutput(t.Context(), chunk(1)); !errors.Is(err, ErrOutputGone) {
		t.Errorf("410: %v, want ErrOutputGone", err)
	}
	if _, err := c.SendOutput(t.Context(), chunk(2)); !errors.Is(err, ErrReregister) {
		t.Errorf("409: %v, want ErrReregister", err)
	}
	var e *Error
	if _, err := c.SendOutput(t.Context(), chunk(3)); !errors.As(err, &e) || e.Status != 500 || e.Message != "the store is full" {
		t.Errorf("500: %v, want the server's message", err)
	}
}

// An agent shipping output to an https:// address that answers plain HTTP
// gets the words every other request gets (tlsFailure), not the
// transport's.
func TestSendOutputTLSFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, err := New("https://"+host, "tok", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendOutput(t.Context(), &OutputChunk{Stream: StreamStdout, Data: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "answers plain HTTP, not TLS: use http://"+host) {
		t.Errorf("SendOutput to a plain server: %v, want the http:// hint", err)
	}
}
