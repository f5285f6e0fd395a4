package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Join tokens and machine credentials (docs/security-join.md). Neither
// secret is stored: only its SHA-256 (the caller hashes), so that a copy
// of the database joins no machine and serves no agent.

// JoinTokenRow is a join token as stored.
type JoinTokenRow struct {
	ID      int64
	Hash    string
	Cluster string
	// Machine is the machine the token was minted for (a provider's
	// pilot, which burst names); "" for a token any machine may take.
	Machine   string
	CreatedBy string
	Created   time.Time
	Expires   time.Time
	Used      *time.Time
	UsedBy    string // the machine that joined with it
	Revoked   *time.Time
}

// MachineCredentialRow is a machine credential as stored.
type MachineCredentialRow struct {
	Hash    string
	Machine string
	Cluster string
	TokenID int64 // the join token it was issued for
	Created time.Time
	Revoked *time.Time
}

// JoinRefusal is why a join token was not taken.
type JoinRefusal int

const (
	// TokenUnknown: no token of that hash (another server's, or made up),
	// or one revoked.
	TokenUnknown JoinRefusal = iota + 1
	// TokenUsed: a machine joined with it already.
	TokenUsed
	// TokenExpired: its time ran out.
	TokenExpired
	// TokenOtherMachine: it was minted for another machine (JoinTokenRow.Machine).
	TokenOtherMachine
)

// JoinRefused is a join token RedeemJoinToken did not take.
type JoinRefused struct {
	Why     JoinRefusal
	Expires time.Time // when TokenExpired
	Machine string    // when TokenOtherMachine: the machine it is for
}

func (e *JoinRefused) Error() string {
	switch e.Why {
	case TokenUsed:
		return "join token already used"
	case TokenExpired:
		return "join token expired at " + e.Expires.UTC().Format(time.RFC3339)
	case TokenOtherMachine:
		return "join token minted for machine " + e.Machine + " only"
	}
	return "not a join token of this server"
}

// AddJoinToken records a new join token and returns its id.
func (t *Tx) AddJoinToken(r JoinTokenRow) (int64, error) {
	res, err := t.Exec(`INSERT INTO join_tokens(hash, cluster, machine, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Hash, r.Cluster, r.Machine, r.CreatedBy, r.Created.UnixMicro(), r.Expires.UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// RedeemJoinToken takes the join token of that hash for machine, at now:
// once. A token unknown, revoked, used or expired is a *JoinRefused, and
// so is a token minted for another machine than machine. The
// check and the mark are one statement of the caller's transaction, so
// that of two machines racing one token exactly one gets it.
func (t *Tx) RedeemJoinToken(hash, machine string, now time.Time) (*JoinTokenRow, error) {
	r, err := joinTokenOrNil(scanJoinToken(t.QueryRow(joinTokenSQL+` WHERE hash = ?`, hash)))
	if err != nil {
		return nil, err
	}
	if err := JoinTokenRefusal(r, now); err != nil {
		return nil, err
	}
	if r.Machine != "" && machine != r.Machine {
		return nil, &JoinRefused{Why: TokenOtherMachine, Machine: r.Machine}
	}
	res, err := t.Exec(`UPDATE join_tokens SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`,
		now.UnixMicro(), machine, r.ID)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, &JoinRefused{Why: TokenUsed}
	}
	r.Used, r.UsedBy = &now, machine
	return r, nil
}

// JoinTokenMachine is the machine the join token of that hash was minted
// for: "" when it was made for any machine, or there is no such token
// (RedeemJoinToken says why it refuses one). A machine joining with a
// named token gets that name, even though its pending machine holds it.
func (t *Tx) JoinTokenMachine(hash string) (string, error) {
	var m string
	err := t.QueryRow(`SELECT machine FROM join_tokens WHERE hash = ?`, hash).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return m, err
}

// RevokeJoinToken revokes an unused join token; ErrNotFound when there is
// no such token, or it was used or revoked already.
func (t *Tx) RevokeJoinToken(id int64, now time.Time) error {
	res, err := t.Exec(`UPDATE join_tokens SET revoked_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`, now.UnixMicro(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("join token %d: %w", id, ErrNotFound)
	}
	return nil
}

// MachineNameTaken says whether a machine of that name is known: a
// stored machine, or one a credential was issued for (even revoked: its
// old agent must never pass for the new machine).
func (t *Tx) MachineNameTaken(name string) (bool, error) {
	var n int
	err := t.QueryRow(`SELECT (SELECT COUNT(*) FROM machines WHERE id = ?) + (SELECT COUNT(*) FROM machine_credentials WHERE machine = ?)`,
		name, name).Scan(&n)
	return n > 0, err
}

// AddMachineCredential records a machine credential.
func (t *Tx) AddMachineCredential(r MachineCredentialRow) error {
	_, err := t.Exec(`INSERT INTO machine_credentials(hash, machine, cluster, token_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		r.Hash, r.Machine, r.Cluster, r.TokenID, r.Created.UnixMicro())
	return err
}

// RevokeMachineCredentials revokes every live credential of machine and
// returns their hashes; ErrNotFound when it has none.
func (t *Tx) RevokeMachineCredentials(machine string, now time.Time) ([]string, error) {
	rows, err := t.Query(`SELECT hash FROM machine_credentials WHERE machine = ? AND revoked_at IS NULL`, machine)
	if err != nil {
		return nil, err
	}
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, err
		}
		hashes = append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(hashes) == 0 {
		return nil, fmt.Errorf("machine %s has no live machine credential: %w", machine, ErrNotFound)
	}
	if _, err := t.Exec(`UPDATE machine_credentials SET revoked_at = ? WHERE machine = ? AND revoked_at IS NULL`, now.UnixMicro(), machine); err != nil {
		return nil, err
	}
	return hashes, nil
}

// JoinTokens are the stored join tokens, newest first.
func (s *Store) JoinTokens(ctx context.Context) ([]*JoinTokenRow, error) {
	rows, err := s.r.QueryContext(ctx, joinTokenSQL+` ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*JoinTokenRow
	for rows.Next() {
		r, err := scanJoinToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MachineCredentials are every stored machine credential, revoked ones
// too.
func (s *Store) MachineCredentials(ctx context.Context) ([]*MachineCredentialRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hash, machine, cluster, token_id, created_at, revoked_at FROM machine_credentials`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*MachineCredentialRow
	for rows.Next() {
		var r MachineCredentialRow
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&r.Hash, &r.Machine, &r.Cluster, &r.TokenID, &created, &revoked); err != nil {
			return nil, err
		}
		r.Created, r.Revoked = time.UnixMicro(created).UTC(), fromMicros(revoked)
		out = append(out, &r)
	}
	return out, rows.Err()
}

const joinTokenSQL = `SELECT id, hash, cluster, machine, created_by, created_at, expires_at, used_at, used_by, revoked_at FROM join_tokens`

func scanJoinToken(sc interface{ Scan(...any) error }) (*JoinTokenRow, error) {
	var r JoinTokenRow
	var created, expires int64
	var used, revoked sql.NullInt64
	err := sc.Scan(&r.ID, &r.Hash, &r.Cluster, &r.Machine, &r.CreatedBy, &created, &expires, &used, &r.UsedBy, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.Created, r.Expires = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	r.Used, r.Revoked = fromMicros(used), fromMicros(revoked)
	return &r, nil
}
