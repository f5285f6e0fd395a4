package store

import (
	"context"
	"strings"
	"time"
)

// Users, their credentials and their roles per project. A credential is
// kept only as its SHA-256 (hex): a copy of the database signs nobody in.
// The server reads them all once, at start (LoadUsers), and keeps them in
// memory; every change is written here first.

// UserRow is a person known to the server.
type UserRow struct {
	Name  string
	Admin bool
	// Metrics: a metrics-only user, whose credentials read GET /metrics
	// and nothing else (a Prometheus server's).
	Metrics bool
	Created time.Time
}

// CredentialRow is one credential of a user, by its hash.
type CredentialRow struct {
	Hash    string
	User    string
	Created time.Time
}

// GrantRow is one user's role in one project.
type GrantRow struct {
	Project, User, Role string
}

// Users is every user, credential and grant the store holds.
type Users struct {
	Users       []UserRow
	Credentials []CredentialRow
	Grants      []GrantRow
}

// SaveUser records a user (or changes whether they are an admin).
func SaveUser(tx *Tx, u UserRow) error {
	_, err := tx.Exec(`INSERT INTO users(name, admin, metrics, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET admin = excluded.admin, metrics = excluded.metrics`,
		u.Name, u.Admin, u.Metrics, u.Created.UnixMicro())
	return err
}

// DeleteUser forgets a user with their credentials and grants.
func DeleteUser(tx *Tx, name string) error {
	for _, q := range []string{`DELETE FROM user_credentials WHERE user = ?`, `DELETE FROM grants WHERE user = ?`,
		`DELETE FROM users WHERE name = ?`} {
		if _, err := tx.Exec(q, name); err != nil {
			return err
		}
	}
	return nil
}

// AddCredential records a new credential of a user.
func AddCredential(tx *Tx, c CredentialRow) error {
	_, err := tx.Exec(`INSERT INTO user_credentials(hash, user, created_at) VALUES (?, ?, ?)`,
		c.Hash, c.User, c.Created.UnixMicro())
	return err
}

// RevokeCredentials forgets every credential of a user; n is how many.
func RevokeCredentials(tx *Tx, user string) (n int64, err error) {
	res, err := tx.Exec(`DELETE FROM user_credentials WHERE user = ?`, user)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SaveGrant gives a user a role in a project (replacing the one they had).
func SaveGrant(tx *Tx, g GrantRow) error {
	_, err := tx.Exec(`INSERT OR REPLACE INTO grants(project, user, role) VALUES (?, ?, ?)`, g.Project, g.User, g.Role)
	return err
}

// DeleteGrant takes a user's role in a project away.
func DeleteGrant(tx *Tx, project, user string) error {
	_, err := tx.Exec(`DELETE FROM grants WHERE project = ? AND user = ?`, project, user)
	return err
}

// LoadUsers reads every user, credential and grant.
func (s *Store) LoadUsers(ctx context.Context) (*Users, error) {
	out := &Users{}
	rows, err := s.r.QueryContext(ctx, `SELECT name, admin, metrics, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var u UserRow
		var at int64
		if err := rows.Scan(&u.Name, &u.Admin, &u.Metrics, &at); err != nil {
			rows.Close()
			return nil, err
		}
		u.Created = time.UnixMicro(at).UTC()
		out.Users = append(out.Users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT hash, user, created_at FROM user_credentials`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c CredentialRow
		var at int64
		if err := rows.Scan(&c.Hash, &c.User, &at); err != nil {
			rows.Close()
			return nil, err
		}
		c.Created = time.UnixMicro(at).UTC()
		out.Credentials = append(out.Credentials, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT project, user, role FROM grants ORDER BY project, user`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g GrantRow
		if err := rows.Scan(&g.Project, &g.User, &g.Role); err != nil {
			return nil, err
		}
		out.Grants = append(out.Grants, g)
	}
	return out, rows.Err()
}

// inList is n placeholders for an IN (...) list.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
