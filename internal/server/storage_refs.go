package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/blob"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// Storage a project can see, remove and move between tiers
// (docs/storage.md). Every change goes the same way: the references and
// the project's bytes per tier change in one transaction (with its audit
// event); then, under s.mu, storage is accrued up to now at the old tiers
// and memory's bytes change (applyStorage), so that each instant is
// charged once; then, outside every lock, the bytes of blobs no project
// holds any more are deleted from their store. A crash before a delete
// leaves it queued (blob_deletes): the next start does it.

// digestLocks serialise, per digest, an upload's store-then-record with a
// deletion's check-then-delete: a blob is never deleted under a reference
// recorded meanwhile. They guard I/O, so they are never s.mu.
type digestLocks struct {
	mu    sync.Mutex
	locks map[string]*digestLock
}

type digestLock struct {
	sync.RWMutex
	n int
}

// hold takes digest's lock (shared for uploads, exclusive for a delete)
// and returns what releases it.
func (d *digestLocks) hold(digest string, exclusive bool) func() {
	d.mu.Lock()
	if d.locks == nil {
		d.locks = map[string]*digestLock{}
	}
	l := d.locks[digest]
	if l == nil {
		l = &digestLock{}
		d.locks[digest] = l
	}
	l.n++
	d.mu.Unlock()
	if exclusive {
		l.Lock()
	} else {
		l.RLock()
	}
	return func() {
		if exclusive {
			l.Unlock()
		} else {
			l.RUnlock()
		}
		d.mu.Lock()
		if l.n--; l.n == 0 {
			delete(d.locks, digest)
		}
		d.mu.Unlock()
	}
}

// applyStorage changes memory's bytes of project as changes say (From ""
// for bytes new to the project), once they are committed, after accruing storage up to now at the tiers they were
// on. It takes s.mu.
func (s *Server) applyStorage(project string, changes []store.StorageChange, now time.Time) {
	if len(changes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accrueStorage(now)
	p := s.projects[project]
	if p == nil {
		return
	}
	if p.bytes == nil {
		p.bytes = map[string]int64{}
	}
	for _, c := range changes {
		if c.From != "" {
			p.bytes[c.From] -= c.Size
		}
		if c.To != "" {
			p.bytes[c.To] = addBytes(p.bytes[c.To], c.Size)
		}
	}
	s.ui.bump(project)
}

// StorageBlobs is GET /v1/storage/blobs: the blobs of the projects the
// caller may read (all for an admin), what each keeps per tier and its
// lifecycle rules.
func (s *Server) StorageBlobs(ctx context.Context, q client.StorageQuery) (*client.StorageList, error) {
	var projects []string // nil: all
	if q.Project != "" {
		if err := s.hasProject(q.Project); err != nil {
			return nil, err
		}
		projects = []string{q.Project}
	} else if p := auth.From(ctx); !auth.SeesAll(p) {
		projects = []string{}
		for name := range p.Roles {
			if auth.Allow(p, auth.Read, name, "") == nil {
				projects = append(projects, name)
			}
		}
		slices.Sort(projects)
	}
	if q.Kind != "" && q.Kind != client.BlobInput && q.Kind != client.BlobOutput && q.Kind != client.BlobLog {
		return nil, badRequest("--kind %q: use input, output or log", q.Kind)
	}
	if q.Tier != "" {
		if _, err := s.tier(q.Tier); err != nil {
			return nil, err
		}
	}
	var blobs []store.StoredBlob
	var err error
	if !q.NoBlobs {
		if blobs, err = s.st.StoredBlobs(ctx, store.BlobFilter{Projects: projects, Job: q.Job, Kind: q.Kind, Tier: q.Tier}); err != nil {
			return nil, err
		}
	}
	out := &client.StorageList{Blobs: []client.StoredBlob{}, Totals: []client.TierTotal{}, Rules: []client.StorageRule{}}
	for _, b := range blobs {
		out.Blobs = append(out.Blobs, client.StoredBlob{Project: b.Project, Kind: b.Kind, Digest: b.Digest, Size: b.Size,
			Tier: b.Tier, Location: b.Location, Jobs: b.Jobs, CreatedAt: b.CreatedAt})
	}
	out.Totals = s.storageTotals(projects)
	if out.Rules, err = s.rulesOf(ctx, projects); err != nil {
		return nil, err
	}
	return out, nil
}

// storageTotals are the bytes each project (of projects; nil: all) keeps
// per tier and what they cost a month: the figures the meter charges.
func (s *Server) storageTotals(projects []string) []client.TierTotal {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []client.TierTotal{}
	for _, name := range s.projectNames() {
		if projects != nil && !slices.Contains(projects, name) {
			continue
		}
		out = append(out, s.projectStorage(s.projects[name])...)
	}
	return out
}

// projectStorage is what p keeps per tier, most expensive tier first.
// Called with s.mu held.
func (s *Server) projectStorage(p *projectRT) []client.TierTotal {
	var out []client.TierTotal
	for _, t := range s.catalog.Tiers {
		if n := p.bytes[t.Name]; n > 0 {
			out = append(out, client.TierTotal{Project: p.row.Name, Tier: t.Name, Bytes: n, USDPerGBMonth: t.PerGBMonth,
				USDPerMonth: float64(n) / 1e9 * t.PerGBMonth, StorageClass: t.S3Class})
		}
	}
	return out
}

// tier is the catalog's tier name, or an error that lists the known ones.
func (s *Server) tier(name string) (cost.Tier, error) {
	s.mu.Lock()
	c := s.catalog
	s.mu.Unlock()
	t, err := c.Tier(name)
	if err != nil {
		return t, badRequest("%v: see `burst types`", err)
	}
	return t, nil
}

// selection is what an edit picks, checked.
func (s *Server) selection(e *client.StorageEdit, verb string) (store.RefSel, error) {
	if e.Project == "" {
		return store.RefSel{}, badRequest("storage %s: name the project (--project P)", verb)
	}
	if err := s.hasProject(e.Project); err != nil {
		return store.RefSel{}, err
	}
	n := 0
	sel := store.RefSel{Job: e.Job, All: e.All}
	for _, set := range []bool{len(e.Digests) > 0, e.Job != 0, e.OlderThanS != 0, e.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return sel, badRequest("storage %s: pick blobs one way: DIGEST..., --job N, --older-than AGE or --all", verb)
	}
	if e.Job < 0 || e.OlderThanS < 0 {
		return sel, badRequest("storage %s: --job and --older-than are positive", verb)
	}
	for _, d := range e.Digests {
		if err := blob.CheckDigest(d); err != nil {
			return sel, badRequest("%v (as `burst storage ls -o json` prints it)", err)
		}
	}
	sel.Digests = e.Digests
	if e.OlderThanS > 0 {
		sel.Before = time.Now().UTC().Add(-time.Duration(e.OlderThanS) * time.Second)
	}
	return sel, nil
}

// StorageRemove is POST /v1/storage/rm: drops the references an edit
// picks; blobs nobody holds then are deleted from their store.
func (s *Server) StorageRemove(ctx context.Context, actor string, e *client.StorageEdit) (*client.StorageEdited, error) {
	sel, err := s.selection(e, "rm")
	if err != nil {
		return nil, err
	}
	if e.All {
		return nil, badRequest("storage rm takes DIGEST..., --job N or --older-than AGE, not --all")
	}
	return s.removeBlobs(ctx, actor, "storage.rm", "", e.Project, sel, e.DryRun)
}

func (s *Server) removeBlobs(ctx context.Context, actor, kind, why, project string, sel store.RefSel, dry bool) (*client.StorageEdited, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err
	}
	var changes []store.StorageChange
	var deletes []store.BlobDelete
	err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
		if changes, deletes, err = tx.DropBlobRefs(project, sel); err != nil {
			return err
		}
		if dry {
			return store.ErrDryRun
		}
		ev := s.newEvent(actor, kind, project, project, describeChanges("removed", changes, "", why))
		return store.AppendEvent(tx, &ev)
	})
	var inUse *store.InputInUse
	var stackUse *store.StackInUse
	switch {
	case errors.As(err, &inUse):
		return nil, badRequest("storage rm in project %s: %v; nothing was removed", project, inUse)
	case errors.As(err, &stackUse):
		return nil, badRequest("storage rm in project %s: %v; nothing was removed", project, stackUse)
	case errors.Is(err, store.ErrNoMatch):
		return nil, noMatch(project, sel)
	case errors.Is(err, store.ErrDryRun):
	case err != nil:
		return nil, err
	}
	out := edited(changes, dry)
	if dry {
		for _, d := range deletes {
			out.Deleted = append(out.Deleted, d.Digest)
		}
		return out, nil
	}
	s.applyStorage(project, changes, time.Now().UTC())
	s.signalEvents()
	for _, d := range deletes {
		if err := s.deleteBlob(ctx, d); err != nil {
			s.log.Warn("blob delete failed: it is retried at the next start", "digest", d.Digest, "where", d.Location, "err", err)
			continue
		}
		if !slices.Contains(out.Deleted, d.Digest) {
			out.Deleted = append(out.Deleted, d.Digest)
		}
	}
	s.forgetBlobs(out.Deleted) // cache entries that named them are computed again (cache.go)
	return out, nil
}

// deleteBlob deletes a blob no project held when it was queued, unless
// one holds it again now, and forgets the queued deletion.
func (s *Server) deleteBlob(ctx context.Context, d store.BlobDelete) error {
	release := s.blobs.locks.hold(d.Digest, true)
	defer release()
	held, err := s.st.BlobHeld(ctx, d.Digest)
	if err != nil {
		return err
	}
	if !held {
		st, err := s.blobs.where(d.Location)
		if err != nil {
			return err
		}
		if err := st.Delete(ctx, d.Digest); err != nil {
			return err
		}
	}
	return s.st.Write(ctx, func(tx *store.Tx) error { return tx.BlobDeleted(d) })
}

// StorageTier is POST /v1/storage/tier: moves the blobs an edit picks to
// another tier; with S3, their objects take the tier's storage class
// first.
func (s *Server) StorageTier(ctx context.Context, actor string, e *client.StorageEdit) (*client.StorageEdited, error) {
	sel, err := s.selection(e, "tier")
	if err != nil {
		return nil, err
	}
	if e.To == "" {
		return nil, badRequest("storage tier: name the tier: --to TIER (see `burst types`)")
	}
	return s.moveBlobs(ctx, actor, "storage.tier", "", e.Project, sel, e.To, e.DryRun)
}

func (s *Server) moveBlobs(ctx context.Context, actor, kind, why, project string, sel store.RefSel, to string, dry bool) (*client.StorageEdited, error) {
	t, err := s.tier(to)
	if err != nil {
		return nil, err
	}
	if err := s.refuseWrite(); err != nil {
		return nil, err
	}
	move := func(write bool) ([]store.StorageChange, error) {
		var changes []store.StorageChange
		err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
			if changes, err = tx.MoveBlobRefs(project, sel, to); err != nil {
				return err // ErrNoMatch among them: not to be taken for the dry run's rollback
			}
			if !write {
				return store.ErrDryRun
			}
			ev := s.newEvent(actor, kind, project, project, describeChanges("moved", changes, to, why))
			return store.AppendEvent(tx, &ev)
		})
		if errors.Is(err, store.ErrDryRun) {
			err = nil
		}
		return changes, err
	}
	changes, err := move(false)
	switch {
	case errors.Is(err, store.ErrNoMatch):
		return nil, noMatch(project, sel)
	case err != nil:
		return nil, err
	case dry || len(changes) == 0:
		return edited(changes, dry), nil
	}
	if t.S3Class != "" {
		if err := s.setClasses(ctx, project, changes, t); err != nil {
			return nil, err
		}
	}
	if changes, err = move(true); err != nil {
		return nil, err
	}
	s.applyStorage(project, changes, time.Now().UTC())
	s.signalEvents()
	return edited(changes, false), nil
}

// setClasses gives the objects of changes the storage class of tier t,
// where they are in a store that has classes. Outside every lock.
func (s *Server) setClasses(ctx context.Context, project string, changes []store.StorageChange, t cost.Tier) error {
	blobs, err := s.st.StoredBlobs(ctx, store.BlobFilter{Projects: []string{project}})
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, c := range changes {
		if done[c.Digest] {
			continue
		}
		done[c.Digest] = true
		i := slices.IndexFunc(blobs, func(b store.StoredBlob) bool { return b.Digest == c.Digest })
		if i < 0 {
			continue
		}
		st, err := s.blobs.where(blobs[i].Location)
		if err != nil {
			return err
		}
		cl, ok := st.(blob.Classer)
		if !ok {
			continue // the embedded store: the tier is accounting only
		}
		if err := cl.SetClass(ctx, c.Digest, t.S3Class); err != nil {
			return badRequest("tier %s: setting storage class %s on %s failed: %v (set the tier's s3_class in prices.yaml to one the store offers; MinIO: STANDARD or REDUCED_REDUNDANCY); nothing was moved",
				t.Name, t.S3Class, c.Digest, err)
		}
	}
	return nil
}

// noMatch says that sel picks nothing in project, and where to look.
func noMatch(project string, sel store.RefSel) error {
	what := "the digests given"
	switch {
	case sel.Job > 0:
		what = fmt.Sprintf("job %d", sel.Job)
	case !sel.Before.IsZero():
		what = "that age"
	case sel.All:
		return &apierr.NotFound{Msg: fmt.Sprintf("project %s holds no blob: see `burst storage ls --project %s`", project, project)}
	}
	return &apierr.NotFound{Msg: fmt.Sprintf("project %s holds no blob of %s: see `burst storage ls --project %s`", project, what, project)}
}

func edited(changes []store.StorageChange, dry bool) *client.StorageEdited {
	out := &client.StorageEdited{Changes: []client.StorageChange{}, Deleted: []string{}, DryRun: dry}
	for _, c := range changes {
		out.Changes = append(out.Changes, client.StorageChange{Kind: c.Kind, Digest: c.Digest, Size: c.Size, From: c.From, To: c.To})
	}
	return out
}

// describeChanges is an audit line: "removed 2 blobs (3.0 KB): sha256:ab.. input, ...".
func describeChanges(verb string, changes []store.StorageChange, to, why string) string {
	var n int64
	var names []string
	for _, c := range changes {
		n += c.Size
		if len(names) < 5 {
			names = append(names, c.Digest[:min(len(c.Digest), 19)]+" "+c.Kind)
		}
	}
	msg := fmt.Sprintf("%s %d blobs (%d bytes)", verb, len(changes), n)
	if to != "" {
		msg += " to " + to
	}
	if len(names) > 0 {
		msg += ": " + strings.Join(names, ", ")
		if len(changes) > len(names) {
			msg += ", ..."
		}
	}
	if why != "" {
		msg += " (" + why + ")"
	}
	return msg
}

// SetStorageRule is PUT /v1/storage/rules: sets (AfterS > 0) or removes
// (AfterS 0) a project's lifecycle rule.
func (s *Server) SetStorageRule(ctx context.Context, actor string, r *client.StorageRule) ([]client.StorageRule, error) {
	if r.Project == "" {
		return nil, badRequest("storage rule: name the project")
	}
	if err := s.hasProject(r.Project); err != nil {
		return nil, err
	}
	if r.AfterS < 0 {
		return nil, badRequest("storage rule: --after is an age, e.g. 30d")
	}
	if r.Action != store.RuleDelete && (r.Action != "" || r.AfterS > 0) {
		if _, err := s.tier(r.Action); err != nil {
			return nil, err
		}
	}
	if r.AfterS > 0 && r.Action == "" {
		return nil, badRequest("storage rule: say what happens: --to TIER or --delete")
	}
	row := store.StorageRule{Project: r.Project, Action: r.Action, After: time.Duration(r.AfterS) * time.Second, SetBy: actor, SetAt: time.Now().UTC()}
	msg := "rule: " + ruleText(row)
	if r.AfterS == 0 {
		msg = "rules removed"
		if r.Action != "" {
			msg = "rule " + r.Action + " removed"
		}
	}
	if err := s.userWrite(ctx, actor, "storage.rule", r.Project, r.Project, msg, func(tx *store.Tx) error {
		if r.AfterS == 0 {
			n, err := tx.DropStorageRules(r.Project, r.Action)
			if err == nil && n == 0 {
				err = &apierr.NotFound{Msg: "project " + r.Project + " has no such storage rule: see `burst storage ls --project " + r.Project + "`"}
			}
			return err
		}
		return tx.SetStorageRule(row)
	}); err != nil {
		return nil, err
	}
	return s.rulesOf(ctx, []string{r.Project})
}

// rulesOf are the lifecycle rules of projects (nil: all).
func (s *Server) rulesOf(ctx context.Context, projects []string) ([]client.StorageRule, error) {
	rules, err := s.st.StorageRules(ctx)
	if err != nil {
		return nil, err
	}
	out := []client.StorageRule{}
	for _, r := range rules {
		if projects == nil || slices.Contains(projects, r.Project) {
			out = append(out, ruleOut(r))
		}
	}
	return out, nil
}

func ruleOut(r store.StorageRule) client.StorageRule {
	at := r.SetAt
	return client.StorageRule{Project: r.Project, Action: r.Action, AfterS: int64(r.After / time.Second), SetBy: r.SetBy, SetAt: &at}
}

// ruleText is a rule as people write it: "to cold_hdd after 30d", "delete after 90d".
func ruleText(r store.StorageRule) string { return ruleOut(r).Words() }
