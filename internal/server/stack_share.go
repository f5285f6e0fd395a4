package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/blob"
	"github.com/burst-sh/burst/internal/stack"
	"github.com/burst-sh/burst/internal/store"
)

// Sharing stacks by link (burst stack share, docs/stacks.md). A link is a
// credential that reads one stack and nothing else: 32 random bytes
// (client.StackLinkPrefix + hex), kept as their SHA-256 (stack_links), as
// join tokens are; it expires (7 days unless asked, 30 at most) and can
// be revoked. Its URL carries the server's CA pin, so that the pulling
// side (`burst stack pull LINK`, on this server or another) verifies the
// TLS it talks to. GET /v1/stack-pull answers the versions it shares with
// their manifests, GET /v1/stack-pull/blobs/{digest} their blobs; both
// take the link's secret as their bearer token. Every use is an event.

const (
	// DefaultStackLinkTTL is how long a link lasts unless asked.
	DefaultStackLinkTTL = 7 * 24 * time.Hour
	// MaxStackLinkTTL is the longest a link may last.
	MaxStackLinkTTL = 30 * 24 * time.Hour
)

// ShareStack makes a link to ref: NAME shares every version, NAME:V the
// versions 1 to V. Members of the stack's project may.
func (s *Server) ShareStack(ctx context.Context, actor, ref string, req *client.StackShare) (*client.StackLink, error) {
	st, version, err := s.stackToEdit(ctx, ref)
	if err != nil {
		return nil, err
	}
	ttl := DefaultStackLinkTTL
	if req.TTL != "" {
		d, err := client.ParseAge(req.TTL)
		if err != nil || d > MaxStackLinkTTL {
			return nil, badRequest("--ttl %s: give a duration above 0 and at most 30d, such as 7d or 12h", req.TTL)
		}
		ttl = d
	}
	base, pin, err := s.joinBase()
	if err != nil {
		return nil, err
	}
	tok := client.StackLinkPrefix + randomHex()
	now := time.Now().UTC().Truncate(time.Microsecond)
	row := store.StackLinkRow{Hash: hashSecret(tok), Name: st.Name, Version: version, CreatedBy: actor, Created: now, Expires: now.Add(ttl)}
	err = s.st.Write(ctx, func(tx *store.Tx) (err error) {
		if row.ID, err = store.AddStackLink(tx, row); err != nil {
			return err
		}
		ev := s.newEvent(actor, "stack.share", st.Project, "stack "+st.Name,
			fmt.Sprintf("link %d shares %s, expires %s", row.ID, linkScope(row), row.Expires.Format(time.RFC3339)))
		return store.AppendEvent(tx, &ev)
	})
	if err != nil {
		return nil, err
	}
	out := linkOf(row)
	out.Link = base + "/" + tok
	if pin != "" {
		out.Link += "#" + pin
	} else {
		out.Note = "this server listens on loopback without TLS: the link works on this host only (start it with --listen HOST:PORT to share beyond it)"
	}
	return out, nil
}

// StackLinks lists the links made.
func (s *Server) StackLinks(ctx context.Context) ([]client.StackLink, error) {
	rows, err := s.st.StackLinks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]client.StackLink, 0, len(rows))
	for _, r := range rows {
		out = append(out, *linkOf(r))
	}
	return out, nil
}

// UnshareStack revokes link id. Members of its stack's project may (a
// stack removed since: whoever may remove stacks, an admin).
func (s *Server) UnshareStack(ctx context.Context, actor string, id int64) (*client.StackLink, error) {
	row, err := s.st.StackLink(ctx, id, "")
	if errors.Is(err, store.ErrNotFound) {
		return nil, &apierr.NotFound{Msg: fmt.Sprintf("no stack link %d: see `burst stack links`", id)}
	}
	if err != nil {
		return nil, err
	}
	project := ""
	if st, err := s.Stack(ctx, row.Name); err == nil {
		project = st.Project
	}
	if err := mayEditStack(ctx, project); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		if err := store.RevokeStackLink(tx, id, now); err != nil {
			return err
		}
		ev := s.newEvent(actor, "stack.unshare", project, "stack "+row.Name, fmt.Sprintf("link %d to %s revoked", id, linkScope(row)))
		return store.AppendEvent(tx, &ev)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, badRequest("stack link %d was revoked already", id)
	}
	if err != nil {
		return nil, err
	}
	row.Revoked = &now
	return linkOf(row), nil
}

// PulledStack answers a link's GET /v1/stack-pull: the versions it
// shares, oldest first, with their manifests.
func (s *Server) PulledStack(ctx context.Context, secret string) (*client.StackPulled, error) {
	row, rows, err := s.linked(ctx, secret)
	if err != nil {
		return nil, err
	}
	out := &client.StackPulled{Name: row.Name}
	for _, r := range rows {
		raw, err := s.st.StackManifest(ctx, r.Name, r.Version)
		if err != nil {
			return nil, err
		}
		v := client.StackPulledVersion{Stack: *stackOf(r)}
		if err := json.Unmarshal(raw, &v.Manifest); err != nil {
			return nil, err
		}
		if v.Manifest == nil {
			v.Manifest = []stack.File{}
		}
		out.Versions = append(out.Versions, v)
	}
	ev := s.newEvent("link "+strconv.FormatInt(row.ID, 10), "stack.pull", rows[0].Project, "stack "+row.Name,
		fmt.Sprintf("link %d read %s (%d versions)", row.ID, linkScope(row), len(rows)))
	if err := s.st.Write(ctx, func(tx *store.Tx) error { return store.AppendEvent(tx, &ev) }); err != nil {
		return nil, err
	}
	return out, nil
}

// PulledBlob answers a link's GET /v1/stack-pull/blobs/{digest}: the
// blob of a version it shares, from offset on.
func (s *Server) PulledBlob(ctx context.Context, secret, digest string, offset int64) (*api.BlobRead, error) {
	_, rows, err := s.linked(ctx, secret)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Digest == digest {
			_, loc, err := s.st.BlobHolders(ctx, digest)
			if err != nil {
				return nil, err
			}
			return s.blobAt(ctx, digest, loc, offset)
		}
	}
	return nil, &apierr.NotFound{Msg: "no blob " + digest + " among the versions this link shares"}
}

// linked is the link whose secret is given and the versions it shares;
// a link unknown, revoked or expired, or whose stack is gone, is refused
// in a line that says which.
func (s *Server) linked(ctx context.Context, secret string) (store.StackLinkRow, []store.StackRow, error) {
	refuse := func(msg string) (store.StackLinkRow, []store.StackRow, error) {
		return store.StackLinkRow{}, nil, &api.Refused{Status: http.StatusUnauthorized, Msg: msg}
	}
	if !strings.HasPrefix(secret, client.StackLinkPrefix) {
		return refuse("not a stack link of this server (they start " + client.StackLinkPrefix + "): ask the stack's owner for one (`burst stack share NAME`)")
	}
	row, err := s.st.StackLink(ctx, 0, hashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return refuse("this stack link is not one of this server's: ask the stack's owner for a new one (`burst stack share NAME`)")
	}
	if err != nil {
		return row, nil, err
	}
	switch {
	case row.Revoked != nil:
		return refuse(fmt.Sprintf("this stack link (%d, to stack %s) was revoked %s: ask the stack's owner for a new one", row.ID, row.Name, row.Revoked.Format(time.RFC3339)))
	case !time.Now().Before(row.Expires):
		return refuse(fmt.Sprintf("this stack link (%d, to stack %s) expired %s: ask the stack's owner for a new one", row.ID, row.Name, row.Expires.Format(time.RFC3339)))
	}
	all, err := s.st.Stacks(ctx, row.Name)
	if err != nil {
		return row, nil, err
	}
	var rows []store.StackRow
	for _, r := range all {
		if row.Version == 0 || r.Version <= row.Version {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 || row.Version > 0 && rows[len(rows)-1].Version != row.Version {
		return row, nil, &apierr.NotFound{Msg: fmt.Sprintf("stack %s, which this link shares, was removed from its server", linkScope(row))}
	}
	return row, rows, nil
}

// blobAt opens the blob digest kept at loc from offset on: a redirect
// to a presigned URL where that store makes them.
func (s *Server) blobAt(ctx context.Context, digest, loc string, offset int64) (*api.BlobRead, error) {
	st, err := s.blobs.where(loc)
	if err != nil {
		return nil, err
	}
	if pre, ok := st.(blob.Presigner); ok {
		u, err := pre.PresignGet(ctx, digest, presignTTL)
		if err != nil {
			return nil, err
		}
		return &api.BlobRead{Redirect: u}, nil
	}
	rc, in, err := st.Open(ctx, digest, offset)
	if err != nil {
		return nil, blobErr(err)
	}
	return &api.BlobRead{Body: rc, Size: in.Size, Offset: offset}, nil
}

// linkScope is what a link shares, for people: tools (every version) or
// tools:1-3.
func linkScope(r store.StackLinkRow) string {
	if r.Version == 0 {
		return r.Name + " (every version)"
	}
	return fmt.Sprintf("%s:1-%d", r.Name, r.Version)
}

func linkOf(r store.StackLinkRow) *client.StackLink {
	return &client.StackLink{ID: r.ID, Name: r.Name, Version: r.Version, CreatedBy: r.CreatedBy, Created: r.Created,
		Expires: r.Expires, Revoked: r.Revoked}
}
