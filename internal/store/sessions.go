package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SessionRow is a signed-in dashboard browser. The session's id (its
// cookie) is never stored, only its hash: a copy of the database signs
// nobody in. TokenHash names the server token it was made under, so that a
// new token ends every session made under the old one.
type SessionRow struct {
	IDHash    string
	User      string
	CSRF      string
	TokenHash string
	Expires   time.Time
}

// SaveSession records a session, and forgets those that expired by now.
func (t *Tx) SaveSession(r SessionRow, now time.Time) error {
	if _, err := t.Exec(`DELETE FROM ui_sessions WHERE expires <= ?`, now.UnixMicro()); err != nil {
		return err
	}
	_, err := t.Exec(`INSERT OR REPLACE INTO ui_sessions(id_hash, user, csrf, token_hash, expires) VALUES (?, ?, ?, ?, ?)`,
		r.IDHash, r.User, r.CSRF, r.TokenHash, r.Expires.UnixMicro())
	return err
}

// DeleteSession ends a session (signing out).
func (t *Tx) DeleteSession(idHash string) error {
	_, err := t.Exec(`DELETE FROM ui_sessions WHERE id_hash = ?`, idHash)
	return err
}

// GetSession is the session of that id hash; nil if there is none.
func (s *Store) GetSession(ctx context.Context, idHash string) (*SessionRow, error) {
	r := SessionRow{IDHash: idHash}
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT user, csrf, token_hash, expires FROM ui_sessions WHERE id_hash = ?`, idHash).
		Scan(&r.User, &r.CSRF, &r.TokenHash, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.Expires = time.UnixMicro(exp)
	return &r, nil
}
