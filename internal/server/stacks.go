package server

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/stack"
	"github.com/burst-sh/burst/internal/store"
)

// Software stacks (docs/stacks.md): named, versioned root filesystems.
// A version's bytes are one blob of the store (a tar; its digest names
// the version), uploaded by the client to the stack's project before it
// asks for the version; its row (store.StackRow) says the rest. Nothing
// here takes s.mu but to read the projects and machines: stacks are
// rows of the store, read and written outside the state machine.

// CreateStack stores req as the next version of its stack.
func (s *Server) CreateStack(ctx context.Context, actor string, req *client.StackCreate) (*client.Stack, error) {
	if err := burst.CheckStackName(req.Name); err != nil {
		return nil, badRequest("%v", err)
	}
	if req.Project == "" {
		req.Project = "default"
	}
	if err := s.hasProject(req.Project); err != nil {
		return nil, err
	}
	if err := checkRef(client.BlobRef{Digest: req.Digest, Size: req.Size}); err != nil {
		return nil, err
	}
	if len(req.Description) > 1024 {
		return nil, badRequest("a stack's description is %d bytes; the limit is 1024: say it shorter", len(req.Description))
	}
	if req.Parent > 0 {
		if _, err := s.Stack(ctx, fmt.Sprintf("%s:%d", req.Name, req.Parent)); err != nil {
			return nil, badRequest("parent %d: %v", req.Parent, err)
		}
	}
	if len(req.Origin) > 512 {
		return nil, badRequest("a stack's origin is %d bytes; the limit is 512", len(req.Origin))
	}
	man, err := s.stackManifest(ctx, req)
	if err != nil {
		return nil, err
	}
	row := store.StackRow{Name: req.Name, Digest: req.Digest, Size: req.Size, Project: req.Project, Author: actor,
		Description: req.Description, Parent: req.Parent, Manifest: man, CreatedAt: time.Now().UTC()}
	return s.addStack(ctx, actor, &row, req.Origin)
}

// stackManifest is the manifest of the version req names, as the
// server reads it from the tar the project holds: never the list its
// uploader sent, which `burst stack show` and `diff` would otherwise show
// others in place of what the version's jobs run. A tar that is no stack
// (an entry leaving the root) is refused.
func (s *Server) stackManifest(ctx context.Context, req *client.StackCreate) ([]byte, error) {
	projects, _, err := s.st.BlobHolders(ctx, req.Digest)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(projects, req.Project) {
		return nil, notInProject(req.Name, req.Digest, req.Project)
	}
	var files []stack.File
	err = s.openBlob(ctx, req.Digest, func(r io.Reader) error {
		files, err = stack.Manifest(r)
		return err
	})
	if errors.Is(err, stack.ErrNotStack) || errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, badRequest("stack %s: %s is no stack's tar: %v", req.Name, req.Digest, err)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(files)
}

// notInProject refuses a version whose tar its project does not hold.
func notInProject(name, digest, project string) error {
	return badRequest("stack %s: its root filesystem %s is not in project %s's blob store: `burst stack create` uploads it first", name, digest, project)
}

// addStack writes row as its name's next version, once its project holds
// its blob, with an audit event. A name is its project's: a version of a
// stack that exists is made in the stack's project (whose members may
// remove it), never in another, whose members would otherwise put their
// root filesystem under a name other projects' jobs run in.
func (s *Server) addStack(ctx context.Context, actor string, row *store.StackRow, origin string) (*client.Stack, error) {
	ev := s.newEvent(actor, "stack.create", row.Project, "stack "+row.Name, "")
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		owner, err := store.StackProject(tx, row.Name)
		if err != nil {
			return err
		}
		if owner != "" && owner != row.Project {
			return &api.Refused{Status: http.StatusConflict, Msg: fmt.Sprintf("stack %s is project %s's: its next version is made in %s, by a member of it (--project %s); give yours another name", row.Name, owner, owner, owner)}
		}
		held, err := store.ProjectHolds(tx, row.Project, row.Digest)
		if err != nil {
			return err
		}
		if !held {
			return notInProject(row.Name, row.Digest, row.Project)
		}
		if err := store.AddStack(tx, row, ""); err != nil {
			return err
		}
		ev.Message = fmt.Sprintf("stack %s:%d (%s, %d bytes)", row.Name, row.Version, row.Digest, row.Size)
		if row.Job > 0 {
			ev.Message += fmt.Sprintf(" from job %d", row.Job)
		}
		if origin != "" {
			ev.Message += " pulled from " + origin
		}
		return store.AppendEvent(tx, &ev)
	})
	if err != nil {
		return nil, err
	}
	return stackOf(*row), nil
}

// Stacks lists the versions of name ("": all).
func (s *Server) Stacks(ctx context.Context, name string) ([]client.Stack, error) {
	rows, err := s.st.Stacks(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]client.Stack, 0, len(rows))
	for _, r := range rows {
		out = append(out, *stackOf(r))
	}
	return out, nil
}

// Stack resolves ref: NAME (its latest version), NAME:V or NAME@sha256:HEX.
func (s *Server) Stack(ctx context.Context, ref string) (*client.Stack, error) {
	name, version, digest, err := parseStackRef(ref)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	rows, err := s.st.Stacks(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &apierr.NotFound{Msg: fmt.Sprintf("no stack %q: see `burst stack list`, or make one with `burst stack create %s --from-dir ROOTFS`", name, name)}
	}
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		if (version == 0 && digest == "") || r.Version == version || r.Digest == digest {
			return stackOf(r), nil
		}
	}
	return nil, &apierr.NotFound{Msg: fmt.Sprintf("stack %s has no version %s: its versions are 1 to %d (`burst stack list %s`)", name, strings.TrimPrefix(ref, name), rows[len(rows)-1].Version, name)}
}

// RemoveStack deletes a stack (ref NAME) or one version (NAME:V). Its
// project's members may; others are refused.
func (s *Server) RemoveStack(ctx context.Context, actor, ref string) (*client.StackRemoved, error) {
	st, version, err := s.stackToEdit(ctx, ref)
	if err != nil {
		return nil, err
	}
	var n int64
	ev := s.newEvent(actor, "stack.rm", st.Project, "stack "+st.Name, "")
	err = s.st.Write(ctx, func(tx *store.Tx) (err error) {
		if n, err = store.RemoveStack(tx, st.Name, version); err != nil {
			return err
		}
		ev.Message = fmt.Sprintf("removed %s of stack %s", burst.Plural(int(n), "version"), st.Name)
		return store.AppendEvent(tx, &ev)
	})
	if err != nil {
		return nil, err
	}
	return &client.StackRemoved{Name: st.Name, Versions: n}, nil
}

// stackToEdit resolves ref for a change the caller must be a member of
// its project for: the version it names, and 0 when it names the stack
// whole (NAME).
func (s *Server) stackToEdit(ctx context.Context, ref string) (*client.Stack, int, error) {
	st, err := s.Stack(ctx, ref)
	if err != nil {
		return nil, 0, err
	}
	if err := mayEditStack(ctx, st.Project); err != nil {
		return nil, 0, err
	}
	if !strings.ContainsAny(ref, ":@") {
		return st, 0, nil
	}
	return st, st.Version, nil
}

// DiffStacks lists what changed from version a to version b.
func (s *Server) DiffStacks(ctx context.Context, a, b string) (*client.StackDiff, error) {
	from, err := s.Stack(ctx, a)
	if err != nil {
		return nil, err
	}
	to, err := s.Stack(ctx, b)
	if err != nil {
		return nil, err
	}
	ma, err := s.manifest(ctx, from)
	if err != nil {
		return nil, err
	}
	mb, err := s.manifest(ctx, to)
	if err != nil {
		return nil, err
	}
	return &client.StackDiff{From: *from, To: *to, Changes: stack.Diff(ma, mb)}, nil
}

func (s *Server) manifest(ctx context.Context, st *client.Stack) ([]stack.File, error) {
	raw, err := s.st.StackManifest(ctx, st.Name, st.Version)
	if err != nil {
		return nil, err
	}
	var m []stack.File
	return m, json.Unmarshal(raw, &m)
}

// resolveStack fills spec's stack references (its own, its pipe
// stages'), which name a stack (Name, and Version or Digest), with the
// version each names now: a job keeps that version.
func (s *Server) resolveStack(ctx context.Context, spec *burst.JobSpec) error {
	for _, r := range spec.Stacks() {
		if err := s.resolveRef(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) resolveRef(ctx context.Context, r *burst.StackRef) error {
	ref := r.Name
	switch {
	case r.Digest != "":
		ref += "@" + r.Digest
	case r.Version > 0:
		ref += ":" + strconv.Itoa(r.Version)
	}
	st, err := s.Stack(ctx, ref)
	if err != nil {
		return err
	}
	*r = burst.StackRef{Name: st.Name, Version: st.Version, Digest: st.Digest, Size: st.Size, Keep: r.Keep}
	return nil
}

// refuseNoStackMachine refuses a job with a stack (its own, or a pipe
// stage's) bound to a cluster whose machines registered now all said
// they run no stacks: it would wait for ever. A cluster with none
// registered yet is given the benefit of the doubt (it waits, saying why:
// sched's waitReason).
func (s *Server) refuseNoStackMachine(spec *burst.JobSpec) error {
	var clusters []string
	if spec.Stack != nil {
		clusters = append(clusters, clusterName(spec.Cluster))
	}
	if spec.Pipe != nil {
		for _, st := range spec.Pipe.Stages {
			if st.Stack != nil {
				c := st.Cluster
				if c == "" {
					c = clusterName(spec.Cluster)
				}
				clusters = append(clusters, c)
			}
		}
	}
	if len(clusters) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range clusters {
		n, able := 0, 0
		for _, m := range s.machines {
			if m.registered && m.row.Cluster == c && m.row.State == burst.MachineRunning {
				n++
				if m.stacks {
					able++
				}
			}
		}
		if n > 0 && able == 0 {
			return badRequest("no machine of cluster %s can run stacks (bwrap and user namespaces: see docs/stacks.md): its %s said no; install bubblewrap there, or run on another cluster (--on CLUSTER)",
				c, burst.Plural(n, "machine"))
		}
	}
	return nil
}

// mayEditStack is nil when the caller may change project's stacks.
func mayEditStack(ctx context.Context, project string) error {
	p := auth.From(ctx)
	if p == nil || p.Kind == auth.Admin || p.IsAdmin {
		return nil
	}
	return auth.Allow(p, auth.Submit, project, p.Name)
}

// parseStackRef splits NAME, NAME:V or NAME@sha256:HEX.
func parseStackRef(ref string) (name string, version int, digest string, err error) {
	r, err := burst.ParseStackRef(ref)
	if err != nil {
		return "", 0, "", err
	}
	return r.Name, r.Version, r.Digest, nil
}

func stackOf(r store.StackRow) *client.Stack {
	return &client.Stack{Name: r.Name, Version: r.Version, Digest: r.Digest, Size: r.Size, Parent: r.Parent, Project: r.Project,
		Author: r.Author, Description: r.Description, Job: r.Job, CreatedAt: r.CreatedAt}
}
