package store

import (
	"context"
	"database/sql/driver"
	"strings"
)

// Every statement the store runs by its text (Exec, Query, QueryRow, in a
// transaction or not) is prepared once per connection and kept: SQLite's
// parser and planner cost more than most of burst's statements take to
// run (a sixth of the server's CPU for `burst run -- true`, in reading a
// task's row for its logs and in the writes of a submit). The driver's
// statement resets itself after each use, so one kept statement serves
// every later run of the same text on that connection. database/sql never
// uses a connection from two goroutines at once, so the cache needs no
// lock.

// stmtCacheSize bounds the statements kept per connection: the store's
// texts are constants but for a few built per call (ListJobs' filters),
// which must not grow it without end.
const stmtCacheSize = 128

// cachedStmt is a kept statement; busy while rows read from it are open.
type cachedStmt struct {
	st   driver.Stmt
	busy bool
}

// cacheable is whether q is kept: one statement (a script of several is
// parsed afresh at each run by the driver anyway) that is no transaction
// control (database/sql's own).
func cacheable(q string) bool {
	t := strings.TrimRight(q, " \t\r\n;")
	return t != "" && !strings.Contains(t, ";")
}

// cached is q's kept statement on this connection, prepared now if it is
// not kept yet, or nil: not cacheable, in use by rows still open, or not
// preparable (the caller's own path then reports the error).
func (c *checkedConn) cached(ctx context.Context, q string) *cachedStmt {
	if cs, ok := c.stmts[q]; ok {
		if cs.busy {
			return nil
		}
		return cs
	}
	if !cacheable(q) {
		return nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*cachedStmt{}
	}
	if len(c.stmts) >= stmtCacheSize {
		for k, old := range c.stmts { // any one not in use
			if !old.busy {
				old.st.Close()
				delete(c.stmts, k)
				break
			}
		}
	}
	cs := &cachedStmt{st: st}
	c.stmts[q] = cs
	return cs
}

// Close finalizes the kept statements, then closes the connection.
func (c *checkedConn) Close() error {
	for k, cs := range c.stmts {
		cs.st.Close()
		delete(c.stmts, k)
	}
	return c.Conn.Close()
}

// cachedRows are rows read from a kept statement, which is free again
// once they are closed.
type cachedRows struct {
	checkedRows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}
