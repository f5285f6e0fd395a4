package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"

	"modernc.org/sqlite"
)

// A store found damaged while it serves must not go on serving what is
// left of it: a read that meets SQLITE_CORRUPT would otherwise answer
// with part of a job's results, and a later one with another part. Every
// statement of the store's connections passes through checkedConn, which
// calls the handler set by OnCorrupt with any error that says the file is
// damaged (IsCorrupt); the server's handler stops it, and the next start's
// Check refuses the store with the steps to recover.

var corruptHandler atomic.Pointer[func(error)]

// OnCorrupt sets fn to be called, from the goroutine of the statement that
// met it, with every error of a store's statement that says the database
// file is damaged. nil removes it.
func OnCorrupt(fn func(error)) {
	if fn == nil {
		corruptHandler.Store(nil)
		return
	}
	corruptHandler.Store(&fn)
}

// note passes err on, after calling the corruption handler if err says
// the file is damaged.
func note(err error) error {
	if err != nil && IsCorrupt(err) {
		if fn := corruptHandler.Load(); fn != nil {
			(*fn)(err)
		}
	}
	return err
}

// openDB is sql.Open("sqlite", dsn), with every error checked by note.
func openDB(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(checkedConnector{c}), nil
}

type checkedConnector struct{ driver.Connector }

func (c checkedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, note(err)
	}
	return &checkedConn{Conn: conn}, nil
}

// checkedConn forwards every interface the driver's connections implement
// (see sqlite.NewConnector), checking the errors.
type checkedConn struct {
	driver.Conn
	stmts map[string]*cachedStmt // stmtcache.go
}

var (
	_ driver.ConnBeginTx        = (*checkedConn)(nil)
	_ driver.ConnPrepareContext = (*checkedConn)(nil)
	_ driver.ExecerContext      = (*checkedConn)(nil)
	_ driver.QueryerContext     = (*checkedConn)(nil)
	_ driver.Pinger             = (*checkedConn)(nil)
	_ driver.SessionResetter    = (*checkedConn)(nil)
	_ driver.Validator          = (*checkedConn)(nil)
	_ sqlite.FileControl        = (*checkedConn)(nil)
)

func (c *checkedConn) Unwrap() driver.Conn { return c.Conn }

func (c *checkedConn) Prepare(q string) (driver.Stmt, error) {
	st, err := c.Conn.Prepare(q)
	if err != nil {
		return nil, note(err)
	}
	return &checkedStmt{st}, nil
}

func (c *checkedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, note(err)
	}
	return &checkedStmt{st}, nil
}

func (c *checkedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *checkedConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
	if err != nil {
		return nil, note(err)
	}
	return checkedTx{tx}, nil
}

func (c *checkedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if cs := c.cached(ctx, q); cs != nil {
		r, err := cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
		return r, note(err)
	}
	r, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	return r, note(err)
}

func (c *checkedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if cs := c.cached(ctx, q); cs != nil {
		r, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			return nil, note(err)
		}
		cs.busy = true
		return &cachedRows{checkedRows{r}, cs}, nil
	}
	r, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, note(err)
	}
	return checkedRows{r}, nil
}

func (c *checkedConn) Ping(ctx context.Context) error {
	return note(c.Conn.(driver.Pinger).Ping(ctx))
}

func (c *checkedConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *checkedConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// FileControlPersistWAL and FileControlDataVersion reach the driver's
// connection: without them persistWAL finds no FileControl and the store's
// WAL is deleted when it closes (full.go).
func (c *checkedConn) FileControlPersistWAL(db string, mode int) (int, error) {
	return c.Conn.(sqlite.FileControl).FileControlPersistWAL(db, mode)
}

func (c *checkedConn) FileControlDataVersion(db string) (uint32, error) {
	return c.Conn.(sqlite.FileControl).FileControlDataVersion(db)
}

type checkedStmt struct{ driver.Stmt }

var (
	_ driver.StmtExecContext  = checkedStmt{}
	_ driver.StmtQueryContext = checkedStmt{}
)

//lint:ignore SA1019 a driver.Stmt must have them
func (s checkedStmt) Exec(args []driver.Value) (driver.Result, error) {
	r, err := s.Stmt.Exec(args) //nolint:staticcheck
	return r, note(err)
}

func (s checkedStmt) Query(args []driver.Value) (driver.Rows, error) {
	r, err := s.Stmt.Query(args) //nolint:staticcheck
	if err != nil {
		return nil, note(err)
	}
	return checkedRows{r}, nil
}

func (s checkedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	return r, note(err)
}

func (s checkedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, note(err)
	}
	return checkedRows{r}, nil
}

type checkedRows struct{ driver.Rows }

func (r checkedRows) Next(dest []driver.Value) error { return note(r.Rows.Next(dest)) }

type checkedTx struct{ driver.Tx }

func (t checkedTx) Commit() error   { return note(t.Tx.Commit()) }
func (t checkedTx) Rollback() error { return note(t.Tx.Rollback()) }
