package api

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/burst-sh/burst/internal/blob/fdpass"
)

// A client on the server's own host, over the unix socket, may move a
// blob file to file (fdpass): its upload passes the file it would send
// (POST /v1/blobs), its read gets the store's file (GET
// /v1/blobs/{digest}), each asked with `Upgrade: burst-fd`. Over TCP, or
// without the header, the same routes move bytes as before. Who may is
// decided as for bytes: the credential's check ran before the handler,
// and the server's PutFile and ReadBlob decide the rest.

// fdTimeout bounds the wait for the other side's byte once upgraded.
const fdTimeout = 10 * time.Second

// wantsFD says whether r asks to pass a descriptor and came over the
// unix socket, where one can be.
func wantsFD(r *http.Request) bool {
	if r.Header.Get("Upgrade") != fdpass.Upgrade {
		return false
	}
	a, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return a != nil && a.Network() == "unix"
}

// upgradeFD takes r's connection and answers 101 with header h: from now
// on the handler speaks on the connection itself. The reader holds what
// the client sent past its request (nothing, for a client that follows
// the protocol).
func upgradeFD(w http.ResponseWriter, h http.Header) (*net.UnixConn, *bufio.Reader, error) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, nil, http.ErrNotSupported
	}
	resp := &http.Response{StatusCode: http.StatusSwitchingProtocols, ProtoMajor: 1, ProtoMinor: 1, Header: h.Clone()}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set("Connection", "Upgrade")
	resp.Header.Set("Upgrade", fdpass.Upgrade)
	if err := resp.Write(uc); err != nil {
		uc.Close()
		return nil, nil, err
	}
	return uc, brw.Reader, nil
}

// connAnswer is a ResponseWriter whose answer is written, whole, to an
// upgraded connection once the handler is done (send): the route's last
// word, as an ordinary HTTP answer the client reads after the exchange.
type connAnswer struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (a *connAnswer) Header() http.Header { return a.h }
func (a *connAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}
func (a *connAnswer) Write(p []byte) (int, error) {
	a.WriteHeader(200)
	return a.body.Write(p)
}

func (a *connAnswer) send(w io.Writer) error {
	resp := &http.Response{StatusCode: a.status, ProtoMajor: 1, ProtoMinor: 1, Header: a.h, Close: true,
		ContentLength: int64(a.body.Len()), Body: io.NopCloser(&a.body)}
	return resp.Write(w)
}

// putFD is POST /v1/blobs upgraded: the client passes its file, the
// server stores it (Blobs.PutFile; the query's digest, when given, is what
// it must hash to) and answers as the route does.
func putFD(w http.ResponseWriter, r *http.Request, b Blobs) {
	who, size, err := blobWhoSize(r, "a blob passed as a file")
	if err != nil {
		writeErr(w, err)
		return
	}
	uc, _, err := upgradeFD(w, nil)
	if err != nil {
		return // the connection is gone: the client sends its bytes instead
	}
	defer uc.Close()
	a := &connAnswer{h: http.Header{}}
	defer a.send(uc)
	f, err := fdpass.Recv(uc, "upload", time.Now().Add(fdTimeout))
	if err != nil {
		writeErr(a, &Refused{Status: 400, Msg: "a blob passed as a file: " + err.Error() + ": send its bytes instead"})
		return
	}
	defer f.Close()
	ref, err := b.PutFile(r.Context(), who, size, r.URL.Query().Get("digest"), f)
	if err != nil {
		writeErr(a, err)
		return
	}
	writeJSON(a, 200, ref)
}

// readFD answers GET /v1/blobs/{digest} upgraded, when the blob is a file
// here: 101 with the blob's whole size (Burst-Size), then, once the
// client sent its byte, the file, open for reading. ok is false when the
// blob is not a file (the route answers with its bytes).
func readFD(w http.ResponseWriter, rd *BlobRead) (ok bool) {
	f, isFile := rd.Body.(*os.File)
	if !isFile {
		return false
	}
	uc, br, err := upgradeFD(w, http.Header{"Burst-Size": {strconv.FormatInt(rd.Size, 10)}})
	if err != nil {
		return true // the connection is gone
	}
	defer uc.Close()
	uc.SetReadDeadline(time.Now().Add(fdTimeout))
	if _, err := br.ReadByte(); err != nil {
		return true
	}
	fdpass.Send(uc, f)
	return true
}
