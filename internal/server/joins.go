package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/pki"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
)

// Joining machines (docs/security-join.md): an admin makes a join token;
// a machine exchanges it, once, for a machine credential (POST /v1/join);
// its agent presents that credential from then on, and only for the agent
// protocol; `burst machine revoke` ends it.

const (
	// DefaultJoinTTL is how long a join token lasts unless told.
	DefaultJoinTTL = time.Hour
	// MaxJoinTTL is the longest a join token may last.
	MaxJoinTTL = 24 * time.Hour
)

// joinCache is the machine credentials by hash, in memory, so that an
// agent's request does not read the store: filled when the server starts
// (loadCredentials), changed on join and revoke.
type joinCache struct {
	mu      sync.RWMutex
	live    map[string]*auth.Principal
	revoked map[string]string // hash → machine
}

func (c *joinCache) add(hash string, p *auth.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil {
		c.live, c.revoked = map[string]*auth.Principal{}, map[string]string{}
	}
	c.live[hash] = p
}

func (c *joinCache) revoke(hash, machine string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil {
		c.live, c.revoked = map[string]*auth.Principal{}, map[string]string{}
	}
	delete(c.live, hash)
	c.revoked[hash] = machine
}

// wasRevoked says whether machine had a credential that was revoked.
func (c *joinCache) wasRevoked(machine string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, m := range c.revoked {
		if m == machine {
			return true
		}
	}
	return false
}

func (c *joinCache) lookup(hash string) (p *auth.Principal, revokedMachine string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live[hash], c.revoked[hash]
}

// revokedOnly says whether machine had a credential revoked and holds
// no live one (a pilot started again holds its new one).
func (c *joinCache) revokedOnly(machine string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	found := false
	for _, m := range c.revoked {
		if m == machine {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	for _, p := range c.live {
		if p.Machine == machine {
			return false
		}
	}
	return true
}

// loadCredentials fills the cache from the store.
func (s *Server) loadCredentials(ctx context.Context) error {
	rows, err := s.st.MachineCredentials(ctx)
	if err != nil {
		return fmt.Errorf("read machine credentials: %w", err)
	}
	for _, r := range rows {
		if r.Revoked != nil {
			s.joins.revoke(r.Hash, r.Machine)
		} else {
			s.joins.add(r.Hash, machinePrincipal(r.Machine, r.Cluster))
		}
	}
	return nil
}

func machinePrincipal(machine, cluster string) *auth.Principal {
	return &auth.Principal{Kind: auth.Machine, Name: machine, Machine: machine, Cluster: cluster}
}

// principalOfMachine is the machine a credential was issued for; a
// revoked one is refused with 401 naming it, so that its agent exits.
func (s *Server) principalOfMachine(ctx context.Context, secret string) (*auth.Principal, error) {
	p, revoked := s.joins.lookup(hashSecret(secret))
	if revoked != "" {
		return nil, &api.Refused{Status: http.StatusUnauthorized,
			Msg: client.MachineRevoked + ": machine " + revoked + " was revoked (`burst machine revoke`); join it again with a new token (`burst join-token create`)"}
	}
	return p, nil
}

// CreateJoinToken makes a join token: random, kept as its SHA-256, used
// once, expiring. Who may make one, list them or revoke a machine is the
// API's policy table's to say (internal/api/policy.go), as for every route.
func (s *Server) CreateJoinToken(ctx context.Context, spec *client.JoinTokenSpec) (*client.JoinToken, error) {
	cluster := spec.Cluster
	if cluster == "" {
		cluster = DefaultJoinedCluster
	}
	if !burst.ValidName(cluster) {
		return nil, badRequest("--cluster %q is not a cluster name: letters, digits, '-', '_' or '.'", cluster)
	}
	if err := s.joinableCluster(ctx, cluster, spec.Cluster == ""); err != nil {
		return nil, err
	}
	ttl := DefaultJoinTTL
	if spec.TTL != "" {
		d, err := time.ParseDuration(spec.TTL)
		if err != nil || d <= 0 || d > MaxJoinTTL {
			return nil, badRequest("--ttl %s: give a duration above 0 and at most %s, such as 1h or 30m", spec.TTL, MaxJoinTTL)
		}
		ttl = d
	}
	if err := s.refuseWrite(); err != nil {
		return nil, err
	}
	base, pin, err := s.joinBase()
	if err != nil {
		return nil, err
	}
	tok := client.JoinTokenPrefix + randomHex()
	now := time.Now().UTC().Truncate(time.Microsecond) // as stored: list says the same expiry
	row := store.JoinTokenRow{Hash: hashSecret(tok), Cluster: cluster, CreatedBy: actorFrom(ctx), Created: now, Expires: now.Add(ttl)}
	project := s.clusterProject(cluster)
	if err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
		if row.ID, err = tx.AddJoinToken(row); err != nil {
			return err
		}
		ev := s.newEvent(row.CreatedBy, "join-token.create", project, strconv.FormatInt(row.ID, 10),
			fmt.Sprintf("join token %d for cluster %s, expires %s", row.ID, cluster, row.Expires.Format(time.RFC3339)))
		return store.AppendEvent(tx, &ev)
	}); err != nil {
		return nil, err
	}
	s.signalEvents()
	u := base + "/" + tok
	if pin != "" {
		u += "#" + pin
	}
	return &client.JoinToken{Token: tok, Cluster: cluster, Project: project, Expires: row.Expires, URL: u, Command: client.JoinCommand(u)}, nil
}

// DefaultJoinedCluster is the cluster of a join token made without
// --cluster: created on demand with the joined provider in project
// default, so that one person's `burst join-token create` needs no
// cluster first, as the laptop needs no setup.
const DefaultJoinedCluster = "joined"

// joinableCluster says why machines may not join cluster name: it does
// not exist, or its provider starts its machines itself. The default
// cluster is created when missing (orDefault).
func (s *Server) joinableCluster(ctx context.Context, name string, orDefault bool) error {
	s.mu.Lock()
	c := s.clusters[name]
	s.mu.Unlock()
	if c == nil && orDefault {
		_, err := s.CreateCluster(ctx, actorFrom(ctx), &burst.ClusterSpec{Name: name, Provider: provider.JoinedName, Project: "default"})
		var bad *errBadRequest
		if err == nil || errors.As(err, &bad) && strings.Contains(bad.Msg, "exists already") {
			return nil // made now, or by a request racing this one
		}
		return err
	}
	fix := "burst cluster create " + name + " --provider " + provider.JoinedName + " --project PROJECT"
	switch {
	case c == nil:
		return badRequest("no cluster %s to join: create it first (%s)", name, fix)
	case orDefault && c.def.Project != "default":
		// Someone made a cluster of this name in their project: a token
		// asked for without --cluster would join machines to it.
		return badRequest("cluster %s belongs to project %s, not default: name the cluster the machine joins (--cluster %s joins it to project %s's work; --cluster NAME for another)",
			name, c.def.Project, name, c.def.Project)
	case !c.caps().Joins:
		// The name is taken: the cluster to make needs another.
		other := "burst cluster create NEWNAME --provider " + provider.JoinedName + " --project PROJECT, then burst join-token create --cluster NEWNAME"
		return badRequest("machines of cluster %s are started by burst (provider %s), they do not join: make a cluster of another name for machines that join (%s)", name, c.def.Provider, other)
	}
	return nil
}

// joinBase is the URL a machine joins at, and the CA hash it pins: the
// server's https address when it listens beyond loopback with its own CA,
// else its plain loopback address (agents on this host, and Slurm pilots
// on a cluster that reaches it) and no pin.
func (s *Server) joinBase() (base, pin string, err error) {
	u, err := url.Parse(s.addr)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("the server's address %q is no URL", s.addr)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "https" && ip != nil && ip.IsLoopback() {
		return "http://" + u.Host, "", nil
	}
	caFile := pki.In(filepath.Join(string(s.home), "tls")).CA
	ca, err := pki.ReadCert(caFile)
	if err != nil {
		return "", "", badRequest("the server listens on %s but has no CA to pin (%v): restart it with TLS (`burst server --listen HOST:PORT`)", u.Host, err)
	}
	return "https://" + u.Host, pki.Hash(ca), nil
}

// JoinTokens are the join tokens made, never their secrets.
func (s *Server) JoinTokens(ctx context.Context) ([]client.JoinTokenInfo, error) {
	rows, err := s.st.JoinTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]client.JoinTokenInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, client.JoinTokenInfo{ID: r.ID, Cluster: r.Cluster, CreatedBy: r.CreatedBy, Created: r.Created,
			Expires: r.Expires, Used: r.Used, UsedBy: r.UsedBy, Revoked: r.Revoked})
	}
	return out, nil
}

// whyNotRevoked says why join token id could not be revoked: it does not
// exist, was revoked already, or was used (by which machine, and how to
// stop that one).
func (s *Server) whyNotRevoked(ctx context.Context, id int64) string {
	name := "join token " + strconv.FormatInt(id, 10)
	rows, err := s.st.JoinTokens(ctx)
	if err != nil { // why is not known: said as the store's write said it
		return name + " is not an unused join token: see `burst join-token list`"
	}
	for _, r := range rows {
		switch {
		case r.ID != id:
		case r.Revoked != nil:
			return name + " is revoked already: nothing to do"
		case r.Used != nil && r.UsedBy != "":
			return fmt.Sprintf("%s was used by machine %s: a used token joins nothing more; to turn that machine away, revoke its credential: burst machine revoke %s", name, r.UsedBy, r.UsedBy)
		case r.Used != nil:
			return name + " was used: a used token joins nothing more (`burst join-token list` says by which machine)"
		}
	}
	return "no " + name + ": see `burst join-token list`"
}

// RevokeJoinToken revokes a join token not used yet.
func (s *Server) RevokeJoinToken(ctx context.Context, id int64) error {
	ev := s.newEvent(actorFrom(ctx), "join-token.revoke", "", strconv.FormatInt(id, 10), "join token "+strconv.FormatInt(id, 10)+" revoked")
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeJoinToken(id, time.Now().UTC()); err != nil {
			return err
		}
		return store.AppendEvent(tx, &ev)
	})
	if errors.Is(err, store.ErrNotFound) {
		return &errNotFoundMsg{Msg: s.whyNotRevoked(ctx, id)}
	}
	if err == nil {
		s.signalEvents()
	}
	return err
}

// clusterProject is the project cluster serves ("" when unknown).
func (s *Server) clusterProject(cluster string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[cluster]; c != nil {
		return c.def.Project
	}
	return ""
}

// Join exchanges a join token for a machine credential, once: the check
// and the mark are one store transaction, so of two machines racing one
// token one joins and the other is refused.
func (s *Server) Join(ctx context.Context, r *client.JoinRequest) (*client.Joined, error) {
	if !strings.HasPrefix(r.Token, client.JoinTokenPrefix) {
		return nil, &api.Refused{Status: http.StatusUnauthorized, Msg: "not a join token of this server (they start " + client.JoinTokenPrefix + "): create one with `burst join-token create`"}
	}
	// A stranger's token is refused on a read: nothing queues behind the
	// store's one writer (which the agents' hot path shares) until the
	// token is known to be good.
	hash := hashSecret(r.Token)
	now := time.Now().UTC()
	row, err := s.st.JoinTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		row, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := store.JoinTokenRefusal(row, now); err != nil {
		return nil, joinRefused(err)
	}
	if err := s.refuseWrite(); err != nil {
		return nil, err
	}
	var ca string
	if strings.HasPrefix(s.addr, "https://") || !loopbackURL(s.addr) {
		b, err := os.ReadFile(pki.In(filepath.Join(string(s.home), "tls")).CA)
		if err != nil {
			return nil, fmt.Errorf("read the server's CA: %w", err)
		}
		ca = string(b)
	}
	cred := client.MachineCredentialPrefix + randomHex()
	project := s.clusterProject(row.Cluster) // not in the transaction: the writer never waits on s.mu
	var out client.Joined
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		// Redeem first (two machines may race one token past the read
		// above): the loser is refused before any name is looked for.
		tok, err := tx.RedeemJoinToken(hash, r.Machine, now)
		if err != nil {
			return err
		}
		name, err := joinName(tx, hash, r.Machine)
		if err != nil {
			return err
		}
		if name != r.Machine {
			if err := tx.SetJoinTokenUser(tok.ID, name); err != nil {
				return err
			}
		}
		out = client.Joined{Machine: name, Cluster: tok.Cluster, Credential: cred, CA: ca}
		if err := tx.AddMachineCredential(store.MachineCredentialRow{Hash: hashSecret(cred), Machine: name, Cluster: tok.Cluster, TokenID: tok.ID, Created: now}); err != nil {
			return err
		}
		// The machine is the actor: it holds no credential before this.
		ev := s.newEvent("machine "+name, "machine.join", project, name,
			fmt.Sprintf("machine %s joined cluster %s with join token %d (made by %s)", name, tok.Cluster, tok.ID, tok.CreatedBy))
		return store.AppendEvent(tx, &ev)
	})
	if err != nil {
		return nil, joinRefused(err)
	}
	s.joins.add(hashSecret(cred), machinePrincipal(out.Machine, out.Cluster))
	s.log.Info("machine joined", "machine", out.Machine, "cluster", out.Cluster)
	s.signalEvents()
	return &out, nil
}

// joinRefused is err, a *store.JoinRefused made a 401 that says what to
// do; any other error as it is.
func joinRefused(err error) error {
	var jr *store.JoinRefused
	if !errors.As(err, &jr) {
		return err
	}
	msg := jr.Error()
	switch jr.Why {
	case store.TokenExpired:
		msg += ": create another with `burst join-token create`"
	case store.TokenUsed:
		msg += ": a join token serves one machine; create another with `burst join-token create`"
	default:
		msg += " (unknown or revoked): create one with `burst join-token create` on the server this machine should join"
	}
	return &api.Refused{Status: http.StatusUnauthorized, Msg: msg}
}

// RevokeMachine revokes a joined machine's credential: the cache forgets
// it at once, the machine is lost (its tasks requeued, as for an agent
// that stops answering) and a lease its agent holds open ends.
func (s *Server) RevokeMachine(ctx context.Context, id string) (*burst.Machine, error) {
	s.mu.Lock()
	m := s.machines[id]
	cluster := ""
	if m != nil {
		cluster = m.row.Cluster
	}
	s.mu.Unlock()
	if err := s.refuseWrite(); err != nil {
		return nil, err
	}
	var hashes []string
	err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
		hashes, err = tx.RevokeMachineCredentials(id, time.Now().UTC())
		return err
	})
	if errors.Is(err, store.ErrNotFound) && s.joins.wasRevoked(id) {
		return nil, badRequest("machine %s is revoked already: its credential was revoked before (join it again with a new token: `burst join-token create`)", id)
	}
	if errors.Is(err, store.ErrNotFound) && m == nil {
		return nil, &errNotFoundMsg{Msg: "there is no machine " + id + ": see `burst machine list` for the machines this server knows"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &errNotFoundMsg{Msg: "machine " + id + " has no machine credential to revoke: only joined machines have one (see `burst machine list`; stop others with `burst machine stop`)"}
	}
	if err != nil {
		return nil, err
	}
	for _, h := range hashes {
		s.joins.revoke(h, id)
	}
	actor := actorFrom(ctx)
	s.mu.Lock()
	var b batch
	m = s.machines[id]
	if m == nil {
		s.mu.Unlock()
		ev := s.newEvent(actor, "machine.revoke", s.clusterProject(cluster), id, "machine "+id+": credential revoked")
		if err := s.st.Write(ctx, func(tx *store.Tx) error { return store.AppendEvent(tx, &ev) }); err != nil {
			return nil, err
		}
		s.signalEvents()
		return &burst.Machine{ID: id, Cluster: cluster, State: burst.MachineLost}, nil
	}
	if live(m.row.State) {
		s.machineLost(m, "its machine credential was revoked by "+actor, &b)
	}
	b.event(s.newEvent(actor, "machine.revoke", m.row.Project, id, "machine "+id+": credential revoked"))
	out := m.row.Machine
	out.Revoked = true
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	return &out, nil
}

// revokeClusterCredentials revokes the live credentials of every machine
// that joined cluster, in the store and then in the cache, and returns
// those machines.
func (s *Server) revokeClusterCredentials(ctx context.Context, cluster string) (map[string]bool, error) {
	rows, err := s.st.MachineCredentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("read machine credentials: %w", err)
	}
	machines := map[string]bool{}
	for _, r := range rows {
		if r.Cluster == cluster && r.Revoked == nil {
			machines[r.Machine] = true
		}
	}
	if len(machines) == 0 {
		return machines, nil
	}
	hashes := map[string][]string{}
	now := time.Now().UTC()
	if err := s.st.Write(ctx, func(tx *store.Tx) error {
		for m := range machines {
			h, err := tx.RevokeMachineCredentials(m, now)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			hashes[m] = h
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for m, hs := range hashes {
		for _, h := range hs {
			s.joins.revoke(h, m)
		}
	}
	return machines, nil
}

// Pilots join (docs/security-join.md): a machine that a provider starts
// for burst (a Slurm pilot) and that reaches the server over TLS gets a
// join token minted for it alone, not the home's token.

// pilotJoins says whether the agents of machines that providers start
// elsewhere join with a token minted for each (pilotToken): the server
// serves TLS, that is, it listens beyond loopback. A loopback server's
// agents share its host and read its token file, as before.
func (s *Server) pilotJoins() bool { return strings.HasPrefix(s.addr, "https://") }

// pilotToken mints the join URL of machine (of cluster), which a provider
// is about to start: one-time, for that machine's name only, lasting ttl
// (how long the machine may stay pending). The machine's credentials of
// earlier starts are revoked in the same transaction: one live credential
// per start, and an agent of an earlier start is refused. It returns the
// token's id, to revoke it when the start fails.
func (s *Server) pilotToken(ctx context.Context, machine, cluster string, ttl time.Duration) (joinURL string, id int64, err error) {
	base, pin, err := s.joinBase()
	if err != nil {
		return "", 0, err
	}
	tok := client.JoinTokenPrefix + randomHex()
	now := time.Now().UTC().Truncate(time.Microsecond)
	row := store.JoinTokenRow{Hash: hashSecret(tok), Cluster: cluster, Machine: machine, CreatedBy: "server", Created: now, Expires: now.Add(ttl)}
	var old []string
	if err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
		old, err = tx.RevokeMachineCredentials(machine, now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		row.ID, err = tx.AddJoinToken(row)
		return err
	}); err != nil {
		return "", 0, fmt.Errorf("mint a join token for %s: %w", machine, err)
	}
	for _, h := range old {
		s.joins.revoke(h, machine)
	}
	u := base + "/" + tok
	if pin != "" {
		u += "#" + pin
	}
	return u, row.ID, nil
}

// joinName is the name a joining machine gets: the one its token was
// minted for (a pilot: its pending machine holds the name), else
// freeMachineName's.
func joinName(tx *store.Tx, tokenHash, asked string) (string, error) {
	named, err := tx.JoinTokenMachine(tokenHash)
	if err != nil || named != "" {
		return named, err
	}
	return freeMachineName(tx, asked)
}

// freeMachineName is the name a joining machine gets: the one it asks for
// when valid and free, else one made from it, unique.
func freeMachineName(tx *store.Tx, asked string) (string, error) {
	base := asked
	if !burst.ValidName(base) || len(base) > 48 {
		base = "joined"
	}
	if base == asked {
		taken, err := tx.MachineNameTaken(base)
		if err != nil || !taken {
			return base, err
		}
	}
	for i := 2; i < 1000; i++ {
		name := base + "-" + strconv.Itoa(i)
		taken, err := tx.MachineNameTaken(name)
		if err != nil || !taken {
			return name, err
		}
	}
	return base + "-" + randomHex()[:12], nil
}

func loopbackURL(addr string) bool {
	u, err := url.Parse(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// hashSecret is how a secret is stored: hex SHA-256.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomHex is 32 random bytes in hex.
func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
