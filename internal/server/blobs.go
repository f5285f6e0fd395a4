package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/blob"
	"github.com/burst-sh/burst/internal/blob/fdpass"
	"github.com/burst-sh/burst/internal/store"
)

// The blob store's side of the server (docs/storage.md). Bytes move in
// the handlers, never under s.mu: a blob is stored (or found), then its
// reference is written to the store with the storage it adds to its
// project, then memory's count is raised under the lock. Who may do what:
// a user with Submit in the project uploads; a user with Read in a project
// that holds a blob reads it; a machine uploads outputs and logs of the
// tasks it holds and reads blobs machineMayRead allows.

// presignTTL is how long a URL to the S3 store lets its holder in.
const presignTTL = 10 * time.Minute

// blobState is where blobs go now and where older ones are. Its mutex is
// its own: no I/O happens under s.mu for it.
type blobState struct {
	fs *blob.FS

	mu  sync.Mutex
	cur blob.Store
	row *store.BlobStorageRow
	at  map[string]blob.Store // stores by Location, opened when first read

	samples map[string]string // digest -> sample of embedded blobs read so far (couldHold)

	received atomic.Int64 // blob bytes the server took in PUTs since it started

	locks digestLocks // an upload's store-then-record against a delete (storage_refs.go)
}

// openBlobs opens the embedded store under the home and the one new
// blobs go to, as the store last recorded.
func openBlobs(ctx context.Context, home string, st *store.Store) (*blobState, error) {
	fs, err := blob.NewFS(filepath.Join(home, "blobs"))
	if err != nil {
		return nil, err
	}
	b := &blobState{fs: fs, cur: fs, at: map[string]blob.Store{fs.Location(): fs}}
	row, err := st.BlobStorage(ctx)
	if err != nil {
		return nil, err
	}
	if row != nil && row.URL != "embedded" {
		s3, err := blob.NewS3(blob.S3Config{URL: row.URL, Endpoint: row.Endpoint, Region: row.Region})
		if err != nil {
			return nil, fmt.Errorf("the blob storage recorded (%s): %w", row.URL, err)
		}
		b.cur = s3
		b.at[s3.Location()] = s3
	}
	b.row = row
	return b, nil
}

// opened are the stores opened so far: the embedded one, the one new
// blobs go to, and those older blobs were read from.
func (b *blobState) opened() []blob.Store {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]blob.Store, 0, len(b.at))
	for _, st := range b.at {
		out = append(out, st)
	}
	return out
}

// current is the store new blobs go to.
func (b *blobState) current() blob.Store {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// where is the store of a location recorded in a reference.
func (b *blobState) where(loc string) (blob.Store, error) {
	b.mu.Lock()
	st := b.at[loc]
	b.mu.Unlock()
	if st != nil {
		return st, nil
	}
	// Opened outside b.mu: it reads the AWS configuration's files.
	st, err := blob.OpenLocation(loc, b.fs)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if was := b.at[loc]; was != nil {
		return was, nil // another call opened it meanwhile: one store per location
	}
	b.at[loc] = st
	return st, nil
}

var _ api.Blobs = (*Server)(nil)

// OfferBlobs answers POST /v1/blobs/uploads: for each blob, whether the
// store holds it (then its reference is recorded) or where to send it.
func (s *Server) OfferBlobs(ctx context.Context, req *client.BlobUploads) (*client.BlobOffers, error) {
	who := client.BlobPut{Project: req.Project, Kind: req.Kind, Job: req.Job, Task: req.Task, Attempt: req.Attempt}
	if err := s.mayUpload(ctx, who); err != nil {
		return nil, err
	}
	st := s.blobs.current()
	pre, _ := st.(blob.Presigner)
	out := &client.BlobOffers{Blobs: make([]client.BlobOffer, len(req.Blobs))}
	_, namer := st.(blob.Namer)
	for i, r := range req.Blobs {
		if r.Digest == "" && r.Size >= 0 {
			// Not hashed yet: it may be streamed and named by its hash
			// when the store names blobs and cannot hold this one; else
			// the client hashes it and asks again.
			could, err := s.couldHold(ctx, r.Size, r.Sample)
			if err != nil {
				return nil, err
			}
			out.Blobs[i] = client.BlobOffer{Stream: namer && !could}
			continue
		}
		if err := checkRef(r); err != nil {
			return nil, err
		}
		o := client.BlobOffer{Digest: r.Digest}
		// Asked of every digest, held or not, so that the answer's time
		// does not tell which.
		readable := s.mayReadDigest(ctx, r.Digest)
		release := s.blobs.locks.hold(r.Digest, false)
		in, err := st.Stat(ctx, r.Digest)
		if err == nil && in.Size == r.Size {
			if !readable {
				// Held, but not for this caller: a digest is no proof
				// that they have the bytes (it may have been seen in a
				// listing, or guessed from a few likely contents), so
				// they send them, to the server, which checks them
				// (PutBlob); whether it was held is not told.
				release()
				out.Blobs[i] = o
				continue
			}
			err = s.recordBlob(ctx, who, r, st.Location())
			release()
			if err != nil {
				return nil, err
			}
			o.Have = true
			out.Blobs[i] = o
			continue
		}
		release()
		switch {
		case err == nil && !readable:
			out.Blobs[i] = o // as above: its size is not told either
			continue
		case err == nil:
			return nil, badRequest("blob %s is %d bytes, not %d: its digest or size is wrong", r.Digest, in.Size, r.Size)
		case !errors.Is(err, blob.ErrNotFound):
			return nil, err
		case pre != nil:
			var h http.Header
			if o.URL, h, err = pre.PresignPut(ctx, r.Digest, r.Size, presignTTL); err != nil {
				return nil, err
			}
			for k := range h {
				if o.Header == nil {
					o.Header = map[string]string{}
				}
				o.Header[k] = h.Get(k)
			}
		}
		out.Blobs[i] = o
	}
	return out, nil
}

// PutBlob stores the bytes of a blob sent to the server, checked against
// ref, and records who holds it.
func (s *Server) PutBlob(ctx context.Context, who client.BlobPut, ref client.BlobRef, body io.Reader) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	if err := s.mayUpload(ctx, who); err != nil {
		return err
	}
	st := s.blobs.current()
	defer s.blobs.locks.hold(ref.Digest, false)()
	if _, err := st.Put(ctx, ref.Digest, ref.Size, countReader{body, &s.blobs.received}); err != nil {
		return blobErr(err)
	}
	return s.recordBlob(ctx, who, ref, st.Location())
}

// sizeScan is how many blobs of one size couldHold compares at most.
const sizeScan = 64

// couldHold says whether a blob held, that the caller may read, may be
// the file of size bytes whose sample (package sample) is given: one of
// that size held in the embedded store whose sample is the same, or any
// held elsewhere (whose ends are not read); or too many of that size to
// look at. A file it could not be is sent before it is named; one it
// could be is hashed by the client first, so that a blob held is never
// sent again. Blobs the caller may not read are left out: a sample of a
// small file is the file, and the answer would tell whether another
// project holds it.
func (s *Server) couldHold(ctx context.Context, size int64, smp string) (bool, error) {
	digests, locs, err := s.st.BlobsOfSize(ctx, size, sizeScan+1)
	if err != nil || len(digests) == 0 {
		return false, err
	}
	if len(digests) > sizeScan {
		return true, nil // says nothing of any one blob
	}
	for i, d := range digests {
		could := smp == "" || locs[i] != s.blobs.fs.Location()
		if !could {
			got, err := s.blobs.sample(ctx, d)
			if errors.Is(err, blob.ErrNotFound) {
				continue // referenced but gone: not held
			}
			could = err != nil || got == smp
		}
		if could && s.mayReadDigest(ctx, d) {
			return true, nil
		}
	}
	return false, nil
}

// sample is the embedded blob's sample, read once and remembered (a
// blob's bytes never change under its name).
func (b *blobState) sample(ctx context.Context, digest string) (string, error) {
	b.mu.Lock()
	smp, ok := b.samples[digest]
	b.mu.Unlock()
	if ok {
		return smp, nil
	}
	smp, err := b.fs.Sample(ctx, digest)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	if b.samples == nil {
		b.samples = map[string]string{}
	}
	if len(b.samples) >= maxSamples {
		clear(b.samples)
	}
	b.samples[digest] = smp
	b.mu.Unlock()
	return smp, nil
}

// maxSamples bounds the samples remembered (about 150 bytes each).
const maxSamples = 1 << 16

// PutStreamed stores a blob sent before it was named (an offer's Stream):
// its bytes are written once and named by the hash the store computes,
// which must be the one the client claims once all were sent (claim,
// read after the body: its trailer); then who holds it is recorded.
func (s *Server) PutStreamed(ctx context.Context, who client.BlobPut, size int64, body io.Reader, claim func() string) (client.BlobRef, error) {
	return s.putNamed(ctx, who, size, func(namer blob.Namer, accept func(string) error) (blob.Info, error) {
		return namer.PutNamed(ctx, size, countReader{body, &s.blobs.received}, accept)
	}, func(d string) error {
		if c := claim(); c != d {
			return badRequest("streamed blob: the bytes received hash to %s, the client's to %q: nothing was kept; the file changed while it was sent: send it again", d, c)
		}
		return nil
	})
}

// PutFile stores a blob from a file a client on this host passed over
// the unix socket (fdpass): the embedded store (a blob.FileNamer) copies
// it file to file and hashes what it wrote (hashpipe.CopyFile); another
// store reads it once, writing and hashing beside each other. The blob is
// named by that hash. The file must be a regular file of size
// bytes, unchanged (size, modification and change times) from before the
// first byte was read to after the last: one written meanwhile is
// refused and nothing is kept. A digest given (the client hashed the file
// before) must be the hash of what was read, else nothing is kept either.
func (s *Server) PutFile(ctx context.Context, who client.BlobPut, size int64, digest string, f *os.File) (client.BlobRef, error) {
	before, err := fdpass.Regular(f, size)
	if err != nil {
		return client.BlobRef{}, badRequest("%v", err)
	}
	return s.putNamed(ctx, who, size, func(namer blob.Namer, accept func(string) error) (blob.Info, error) {
		if fn, ok := namer.(blob.FileNamer); ok { // file to file (the embedded store)
			in, err := fn.PutFile(ctx, size, f, accept)
			if err == nil {
				s.blobs.received.Add(in.Size)
			}
			return in, err
		}
		return namer.PutNamed(ctx, size, countReader{io.NewSectionReader(f, 0, size), &s.blobs.received}, accept)
	}, func(d string) error {
		if digest != "" && d != digest {
			return badRequest("the file passed hashes to %s, not %s: it changed since it was hashed: nothing was kept; send it again", d, digest)
		}
		after, err := fdpass.Regular(f, size)
		if err != nil || !fdpass.Same(before, after) {
			return badRequest("the file changed while it was read: nothing was kept; send it again once it is written")
		}
		return nil
	})
}

// putNamed stores a blob named by the hash the store computes of its
// bytes (put, given the store, writes them), once check (given that
// digest) allows it, and records who holds it.
func (s *Server) putNamed(ctx context.Context, who client.BlobPut, size int64, put func(blob.Namer, func(digest string) error) (blob.Info, error), check func(digest string) error) (client.BlobRef, error) {
	if size < 0 {
		return client.BlobRef{}, badRequest("a streamed blob's size %d: a size is a number of bytes, 0 or more", size)
	}
	if err := s.mayUpload(ctx, who); err != nil {
		return client.BlobRef{}, err
	}
	st := s.blobs.current()
	namer, ok := st.(blob.Namer)
	if !ok {
		return client.BlobRef{}, badRequest("blobs go to %s now, which names none by their bytes: ask POST /v1/blobs/uploads with the file's digest", st.Describe())
	}
	release := func() {}
	defer func() { release() }()
	in, err := put(namer, func(d string) error {
		if err := check(d); err != nil {
			return err
		}
		// Held from before the name appears until the reference is
		// written, as a named Put is: a delete cannot come between.
		release = s.blobs.locks.hold(d, false)
		return nil
	})
	if err != nil {
		return client.BlobRef{}, blobErr(err)
	}
	ref := client.BlobRef{Digest: in.Digest, Size: in.Size}
	return ref, s.recordBlob(ctx, who, ref, st.Location())
}

// BlobDone checks a blob sent by a presigned URL and records who holds it.
func (s *Server) BlobDone(ctx context.Context, who client.BlobPut, ref client.BlobRef) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	if err := s.mayUpload(ctx, who); err != nil {
		return err
	}
	st := s.blobs.current()
	pre, ok := st.(blob.Presigner)
	if !ok {
		return badRequest("blobs go to the server itself now (%s): PUT /v1/blobs/%s", st.Describe(), ref.Digest)
	}
	defer s.blobs.locks.hold(ref.Digest, false)()
	if projects, _, err := s.st.BlobHolders(ctx, ref.Digest); err != nil {
		return err
	} else if len(projects) > 0 && !s.mayRead(ctx, ref.Digest, projects) {
		// Held by projects the caller may not read: the store cannot say
		// whose PUT left the bytes there, so they are sent to the server,
		// which checks them (OfferBlobs offers no URL for such a blob).
		return &api.Refused{Status: http.StatusConflict, Msg: fmt.Sprintf("blob %s: send its bytes to the server (PUT /v1/blobs/%s); "+
			"`burst storage put` and `burst run --in` do when they upload it again", ref.Digest, ref.Digest)}
	}
	if _, err := pre.Commit(ctx, ref.Digest, ref.Size); err != nil {
		return blobErr(err)
	}
	return s.recordBlob(ctx, who, ref, st.Location())
}

// ReadBlob opens a blob for GET /v1/blobs/{digest}, from offset on, where
// its reference says it is: a redirect to a presigned URL when that store
// makes them.
func (s *Server) ReadBlob(ctx context.Context, digest string, offset int64) (*api.BlobRead, error) {
	if err := blob.CheckDigest(digest); err != nil {
		return nil, badRequest("%v", err)
	}
	projects, loc, err := s.st.BlobHolders(ctx, digest)
	if err != nil {
		return nil, err
	}
	if !s.mayRead(ctx, digest, projects) {
		return nil, &apierr.NotFound{Msg: "no blob " + digest + " (or none you may read): upload it with `burst storage put FILE`"}
	}
	return s.blobAt(ctx, digest, loc, offset) // stack_share.go
}

// recordBlob writes who holds ref (and, the first time the project holds
// it as that kind, its bytes to the project's storage, on the tier the
// project keeps that digest on, or the logs tier), then counts them in
// memory (applyStorage: storage accrued up to now first). The write goes
// through the store's group commit (Write queues it with the state
// machine's batches) but is not one of those batches: whether the bytes
// are new is known only inside the transaction, which reads blob_refs,
// and no state-machine transition goes with it.
func (s *Server) recordBlob(ctx context.Context, who client.BlobPut, ref client.BlobRef, loc string) error {
	s.mu.Lock()
	tier := s.catalog.LogsTier
	s.mu.Unlock()
	row := store.BlobRefRow{Project: who.Project, Kind: who.Kind, Job: who.Job, Task: who.Task, Attempt: who.Attempt,
		Digest: ref.Digest, Size: ref.Size, Location: loc, CreatedAt: time.Now().UTC()}
	if row.Job == 0 {
		row.Task, row.Attempt = -1, 0
	}
	var first bool
	if err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
		first, tier, err = tx.AddBlobRefOn(row, tier)
		return err
	}); err != nil {
		return err
	}
	if first {
		s.applyStorage(who.Project, []store.StorageChange{{Kind: who.Kind, Digest: ref.Digest, Size: ref.Size, To: tier}}, time.Now().UTC())
	}
	return nil
}

// mayUpload is nil when the caller may record blobs as who says.
func (s *Server) mayUpload(ctx context.Context, who client.BlobPut) error {
	switch who.Kind {
	case client.BlobInput, client.BlobOutput, client.BlobLog:
	default:
		return badRequest("blob kind %q: use input, output or log", who.Kind)
	}
	if who.Project == "" {
		return badRequest("blobs belong to a project: name it (project=...)")
	}
	if err := s.hasProject(who.Project); err != nil {
		return err
	}
	if who.Job < 0 || (who.Job > 0 && (who.Task < 0 || who.Attempt < 0)) {
		return badRequest("job %d, task %d, attempt %d: a job, its task index and attempt are numbers, 0 or more", who.Job, who.Task, who.Attempt)
	}
	p := auth.From(ctx)
	if p != nil && p.Kind == auth.Machine {
		if who.Kind == client.BlobInput {
			return &api.Refused{Status: 403, Msg: "a machine uploads outputs and logs of its tasks, not inputs"}
		}
		if !s.machineHolds(p.Machine, who) {
			return &api.Refused{Status: 403, Msg: fmt.Sprintf("machine %s holds no task %d of job %d (attempt %d) of project %s", p.Machine, who.Task, who.Job, who.Attempt, who.Project)}
		}
		return nil
	}
	if who.Job > 0 {
		j, err := s.readJob(ctx, who.Job)
		if err != nil {
			return err
		}
		if j.Project != who.Project {
			return badRequest("job %d is of project %s, not %s", who.Job, j.Project, who.Project)
		}
	}
	if p == nil || p.Kind == auth.Admin || p.IsAdmin {
		return nil
	}
	return auth.Allow(p, auth.Submit, who.Project, p.Name)
}

// mayReadDigest says whether the caller may read digest as the store
// holds it now (mayRead of its holders): a blob no project holds is no
// one's to read.
func (s *Server) mayReadDigest(ctx context.Context, digest string) bool {
	projects, _, err := s.st.BlobHolders(ctx, digest)
	return err == nil && s.mayRead(ctx, digest, projects)
}

// mayRead says whether the caller may read a blob held by projects.
func (s *Server) mayRead(ctx context.Context, digest string, projects []string) bool {
	if len(projects) == 0 {
		return false
	}
	p := auth.From(ctx)
	switch {
	case p == nil || p.Kind == auth.Admin || p.IsAdmin:
		return true
	case p.Kind == auth.Machine:
		return s.machineMayRead(ctx, p.Machine, digest)
	}
	for _, name := range projects {
		if auth.Allow(p, auth.Read, name, "") == nil {
			return true
		}
	}
	return false
}

// machineMayRead says whether machine may read digest: a job whose task
// the machine holds references it. (Staging may widen this to the
// inputs of the leased tasks' specs.)
func (s *Server) machineMayRead(ctx context.Context, machine, digest string) bool {
	s.mu.Lock()
	var jobs []int64
	if m := s.machines[machine]; m != nil {
		seen := map[int64]bool{}
		for k := range m.tasks {
			if !seen[k.job] {
				seen[k.job] = true
				jobs = append(jobs, k.job)
			}
		}
	}
	s.mu.Unlock()
	ok, err := s.st.BlobUsedByJobs(ctx, digest, jobs)
	return err == nil && ok
}

// machineHolds says whether machine holds the task who names.
func (s *Server) machineHolds(machine string, who client.BlobPut) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.machines[machine]
	if m == nil || who.Job <= 0 {
		return false
	}
	t := m.tasks[taskKey{who.Job, who.Task}]
	return t != nil && t.row.Attempt == who.Attempt && t.job.row.Project == who.Project
}

func checkRef(r client.BlobRef) error {
	if err := blob.CheckDigest(r.Digest); err != nil {
		return badRequest("%v", err)
	}
	if r.Size < 0 {
		return badRequest("blob %s: size %d: a size is a number of bytes, 0 or more", r.Digest, r.Size)
	}
	return nil
}

// blobErr gives the store's refusals their status.
func blobErr(err error) error {
	var mm *blob.MismatchError
	var ns *blob.NoSpaceError
	var ce *blob.CorruptError
	switch {
	case errors.As(err, &mm):
		return badRequest("%v", mm)
	case errors.As(err, &ns):
		return &apierr.NoSpace{Msg: ns.Error()}
	case errors.As(err, &ce):
		return &apierr.NotFound{Msg: ce.Error()}
	case errors.Is(err, blob.ErrNotFound):
		return &apierr.NotFound{Msg: "the blob store does not hold it (any more): upload it again"}
	}
	return err
}

// probeTimeout bounds the check of a new storage: an endpoint that does
// not answer is refused, not waited on.
const probeTimeout = 20 * time.Second

// StorageInfo is GET /v1/storage: where new blobs go, what each project
// holds as each kind, and where.
func (s *Server) StorageInfo(ctx context.Context) (*client.StorageInfo, error) {
	s.blobs.mu.Lock()
	cur, row := s.blobs.cur, s.blobs.row
	s.blobs.mu.Unlock()
	out := &client.StorageInfo{URL: "embedded", Describe: cur.Describe(), Usage: []client.StorageUsage{}, Received: s.blobs.received.Load()}
	if row != nil {
		out.URL, out.Endpoint, out.Region, out.SetBy = row.URL, row.Endpoint, row.Region, row.SetBy
		at := row.SetAt
		out.SetAt = &at
	}
	us, err := s.st.BlobUsages(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		out.Usage = append(out.Usage, client.StorageUsage{Project: u.Project, Kind: u.Kind, Location: u.Location, Count: u.Count, Bytes: u.Bytes})
	}
	return out, nil
}

// SetStorage makes new blobs go where req says, once a probe object could
// be written, read back and deleted there; blobs already held stay where
// they are and readable.
func (s *Server) SetStorage(ctx context.Context, actor string, req *client.StorageSet) (*client.StorageInfo, error) {
	var next blob.Store = s.blobs.fs
	row := store.BlobStorageRow{URL: "embedded", SetBy: actor, SetAt: time.Now().UTC()}
	if req.URL != "embedded" {
		if req.Endpoint == "" && req.Region == "" {
			return nil, badRequest("storage %s: name the service: --endpoint URL (e.g. http://127.0.0.1:9000) and/or --region R", req.URL)
		}
		s3, err := blob.NewS3(blob.S3Config{URL: req.URL, Endpoint: req.Endpoint, Region: req.Region})
		if err != nil {
			return nil, badRequest("%v", err)
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err = s3.Probe(pctx)
		cancel()
		if err != nil {
			return nil, badRequest("storage not changed: %v", err)
		}
		next = s3
		row.URL, row.Endpoint, row.Region = req.URL, req.Endpoint, req.Region
	}
	if err := s.userWrite(ctx, actor, "storage.set", "", row.URL, "new blobs go to "+next.Describe(),
		func(tx *store.Tx) error { return tx.SetBlobStorage(row) }); err != nil {
		return nil, err
	}
	s.blobs.mu.Lock()
	s.blobs.cur, s.blobs.row = next, &row
	if _, ok := s.blobs.at[next.Location()]; !ok {
		s.blobs.at[next.Location()] = next
	}
	s.blobs.mu.Unlock()
	s.log.Info("blob storage set", "by", actor, "to", next.Describe())
	return s.StorageInfo(ctx)
}

// countReader adds what is read through it to n.
type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}
