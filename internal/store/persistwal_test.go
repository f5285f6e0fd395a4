package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"
)

// bareConn is a driver connection that gives no SQLite file control, as
// the checked connection of corrupt.go once did by mistake.
type bareConn struct{}

func (bareConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not here") }
func (bareConn) Close() error                        { return nil }
func (bareConn) Begin() (driver.Tx, error)           { return nil, errors.New("not here") }

type bareDriver struct{}

func (bareDriver) Open(string) (driver.Conn, error) { return bareConn{}, nil }

// persistWAL on a connection without file control is an error: before, it
// returned nil and the WAL was silently deleted at close, which hid the
// checked connection's missing FileControl.
func TestPersistWALNeedsFileControl(t *testing.T) {
	sql.Register("burst-bare-test", bareDriver{})
	db, err := sql.Open("burst-bare-test", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = persistWAL(db)
	if err == nil || !strings.Contains(err.Error(), "file control") {
		t.Fatalf("persistWAL on a connection without file control: %v; want an error naming the file control", err)
	}
}
