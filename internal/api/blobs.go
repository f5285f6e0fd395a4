package api

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// Blobs is the blob store's side of the server (docs/storage.md); a
// Backend that implements it serves /v1/blobs and /v1/storage. Who may
// read or write a blob depends on what holds it, so the server decides
// (the routes' policy is fromBlob: a credential is all the table asks).
type Blobs interface {
	OfferBlobs(ctx context.Context, req *client.BlobUploads) (*client.BlobOffers, error)
	PutBlob(ctx context.Context, who client.BlobPut, ref client.BlobRef, body io.Reader) error
	PutStreamed(ctx context.Context, who client.BlobPut, size int64, body io.Reader, claim func() string) (client.BlobRef, error)
	// PutFile is PutStreamed for a file passed by a client on this host
	// (blobs_fd.go): the server's own hash of what it read names it.
	// A digest given must be the hash of what was read.
	PutFile(ctx context.Context, who client.BlobPut, size int64, digest string, f *os.File) (client.BlobRef, error)
	BlobDone(ctx context.Context, who client.BlobPut, ref client.BlobRef) error
	ReadBlob(ctx context.Context, digest string, offset int64) (*BlobRead, error)
	StorageInfo(ctx context.Context) (*client.StorageInfo, error)
	SetStorage(ctx context.Context, actor string, req *client.StorageSet) (*client.StorageInfo, error)
}

// BlobRead is a blob to answer with: its bytes from Offset on (Size is
// the whole blob's), or a URL to send the client to.
type BlobRead struct {
	Body     io.ReadCloser
	Size     int64
	Offset   int64
	Redirect string
}

func (h *handler) blobRoutes(mux *http.ServeMux) {
	b, ok := h.b.(Blobs)
	if !ok {
		return
	}
	h.storageRoutes(mux) // storage_refs.go
	h.cacheRoutes(mux)   // cache.go
	mux.HandleFunc("POST /v1/blobs/uploads", func(w http.ResponseWriter, r *http.Request) {
		var req client.BlobUploads
		if !decode(w, r, &req) {
			return
		}
		respond(w, 200)(b.OfferBlobs(r.Context(), &req))
	})
	mux.HandleFunc("PUT /v1/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		who, err := blobWho(r)
		if err != nil {
			writeErr(w, err)
			return
		}
		if r.ContentLength < 0 {
			writeJSON(w, http.StatusLengthRequired, client.Error{Message: "a blob's PUT needs its Content-Length: its size, checked with its digest"})
			return
		}
		ref := client.BlobRef{Digest: r.PathValue("digest"), Size: r.ContentLength}
		if err := b.PutBlob(r.Context(), who, ref, r.Body); err != nil {
			w.Header().Set("Connection", "close") // the rest of a refused body is not read
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, ref)
	})
	mux.HandleFunc("POST /v1/blobs", func(w http.ResponseWriter, r *http.Request) {
		// A blob sent before it was named (BlobOffer.Stream): its size in
		// the query, its digest as the client hashed it in the trailer.
		// Upgraded (blobs_fd.go): the file itself, passed.
		if wantsFD(r) {
			putFD(w, r, b)
			return
		}
		who, size, err := blobWhoSize(r, "a streamed blob")
		if err != nil {
			writeErr(w, err)
			return
		}
		ref, err := b.PutStreamed(r.Context(), who, size, r.Body, func() string { return r.Trailer.Get(client.BlobDigestTrailer) })
		if err != nil {
			w.Header().Set("Connection", "close") // the rest of a refused body is not read
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, ref)
	})
	mux.HandleFunc("POST /v1/blobs/{digest}/done", func(w http.ResponseWriter, r *http.Request) {
		who, size, err := blobWhoSize(r, "done")
		if err != nil {
			writeErr(w, err)
			return
		}
		ref := client.BlobRef{Digest: r.PathValue("digest"), Size: size}
		if err := b.BlobDone(r.Context(), who, ref); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, ref)
	})
	mux.HandleFunc("GET /v1/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		offset, ok := rangeStart(r.Header.Get("Range"))
		rd, err := b.ReadBlob(r.Context(), r.PathValue("digest"), offset)
		if err == nil && rd.Redirect == "" && wantsFD(r) {
			defer rd.Body.Close()
			if readFD(w, rd) {
				return
			}
		}
		writeBlob(w, r, rd, err, ok)
	})
	mux.HandleFunc("GET /v1/storage", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.StorageInfo(r.Context()))
	})
	mux.HandleFunc("PUT /v1/storage", func(w http.ResponseWriter, r *http.Request) {
		var req client.StorageSet
		if !decode(w, r, &req) {
			return
		}
		actor := ""
		if p := auth.From(r.Context()); p != nil {
			actor = p.Name
		}
		respond(w, 200)(b.SetStorage(r.Context(), actor, &req))
	})
}

// blobWho is the holder a blob's PUT or done names in its query.
func blobWho(r *http.Request) (client.BlobPut, error) {
	q := r.URL.Query()
	who := client.BlobPut{Project: q.Get("project"), Kind: q.Get("kind")}
	var err error
	num := func(name string) int64 {
		s := q.Get(name)
		if s == "" {
			return 0
		}
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil && err == nil {
			err = &Refused{Status: 400, Msg: "blob: " + name + " " + strconv.Quote(s) + " is not a number"}
		}
		return v
	}
	who.Job, who.Task, who.Attempt = num("job"), int(num("task")), int(num("attempt"))
	return who, err
}

// blobWhoSize is blobWho and the query's size, which what (for the
// message) must have.
func blobWhoSize(r *http.Request, what string) (client.BlobPut, int64, error) {
	who, err := blobWho(r)
	if err != nil {
		return who, 0, err
	}
	s := r.URL.Query().Get("size")
	size, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil {
		return who, 0, &Refused{Status: 400, Msg: what + ": size " + strconv.Quote(s) + " is not a number of bytes"}
	}
	return who, size, nil
}

// rangeStart is N of a "bytes=N-" Range, the one form a resuming client
// sends; ok is false for none (or another form: answered whole).
func rangeStart(h string) (int64, bool) {
	s, found := strings.CutPrefix(h, "bytes=")
	if !found || !strings.HasSuffix(s, "-") || strings.Contains(s, ",") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "-"), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// writeBlob answers with the blob rd (or err), from the offset a Range
// asked for (ranged).
func writeBlob(w http.ResponseWriter, r *http.Request, rd *BlobRead, err error, ranged bool) {
	if err != nil {
		writeErr(w, err)
		return
	}
	if rd.Redirect != "" {
		http.Redirect(w, r, rd.Redirect, http.StatusTemporaryRedirect)
		return
	}
	defer rd.Body.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.FormatInt(rd.Size-rd.Offset, 10))
	status := 200
	if ranged && rd.Offset > 0 {
		w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(rd.Offset, 10)+"-"+strconv.FormatInt(rd.Size-1, 10)+"/"+strconv.FormatInt(rd.Size, 10))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	// A cut answer shows as a short body (Content-Length), never a
	// long one: the copy stops at the length announced. Over plain TCP
	// the response's ReadFrom sends the store's *os.File under the
	// LimitedReader by sendfile(2); over the local unix socket it is
	// copied (32 KiB writes; a client there takes the file itself,
	// blobs_fd.go); over TLS, in chunks whose records go out in one
	// write each (BatchConn).
	body := io.LimitReader(rd.Body, rd.Size-rd.Offset)
	bc := batchConnOf(r.Context())
	if bc == nil {
		io.Copy(w, body)
		return
	}
	if bc.setBatch(true) != nil {
		return
	}
	defer bc.setBatch(false)
	rc := http.NewResponseController(w)
	buf := make([]byte, blobChunk)
	for {
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil || rc.Flush() != nil || bc.flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// blobChunk is how much of a blob writeBlob reads and writes at a time
// over TLS.
const blobChunk = 256 << 10
