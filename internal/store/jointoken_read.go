package store

import (
	"context"
	"errors"
	"time"
)

// JoinTokenByHash is the join token of that hash, read without writing
// (ErrNotFound when none), so that a join with a token unknown, used or
// expired is refused before it queues behind the store's one writer.
func (s *Store) JoinTokenByHash(ctx context.Context, hash string) (*JoinTokenRow, error) {
	return scanJoinToken(s.r.QueryRowContext(ctx, joinTokenSQL+` WHERE hash = ?`, hash))
}

// JoinTokenRefusal is why r (nil: no such token) cannot be redeemed at
// now, as a *JoinRefused; nil when it can.
func JoinTokenRefusal(r *JoinTokenRow, now time.Time) error {
	switch {
	case r == nil || r.Revoked != nil:
		return &JoinRefused{Why: TokenUnknown}
	case r.Used != nil:
		return &JoinRefused{Why: TokenUsed}
	case !now.Before(r.Expires):
		return &JoinRefused{Why: TokenExpired, Expires: r.Expires}
	}
	return nil
}

// joinTokenOrNil is r, or nil when err says there is none.
func joinTokenOrNil(r *JoinTokenRow, err error) (*JoinTokenRow, error) {
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// SetJoinTokenUser records machine as the one that joined with join token
// id (redeemed in the same transaction under the name asked for, before
// the name given was picked).
func (t *Tx) SetJoinTokenUser(id int64, machine string) error {
	_, err := t.Exec(`UPDATE join_tokens SET used_by = ? WHERE id = ?`, machine, id)
	return err
}
