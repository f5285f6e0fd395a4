package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// controlFiles hold the control type and its rules, which run under the
// server's lock: they must make no system call.
var controlFiles = []string{"control.go", "jobs.go", "tasks.go", "leases.go", "admission.go", "demand.go", "machines.go", "writes.go", "pipe.go", "env.go", "remote.go", "cache.go", "deps.go", "update.go", "corr.go", "uichanges.go", "deadline.go"}

// forbidden are the packages a control file may not call into (it may
// still use their types and constants: syscall.SIGPIPE, slog.LevelWarn).
var forbidden = map[string]bool{
	"os": true, "os/exec": true, "os/user": true, "syscall": true, "net": true, "net/http": true,
	"log/slog": true, "log": true, "io/ioutil": true, "path/filepath.EvalSymlinks": true,
	"github.com/burst-sh/burst/internal/agent/runner": true,
	"github.com/burst-sh/burst/internal/agent":        true,
}

// forbiddenCalls are functions and methods a control file may not call,
// by package path and name or by selector name: the clock, the store, the
// providers, the logger.
var forbiddenCalls = map[string]bool{
	"time.Now": true, "time.Since": true, "time.Until": true, "time.Sleep": true, "time.After": true,
	"time.NewTimer": true, "time.NewTicker": true, "time.AfterFunc": true, "time.Tick": true,
	"path/filepath.EvalSymlinks": true, "path/filepath.Glob": true, "path/filepath.Walk": true,
	"path/filepath.WalkDir": true, "path/filepath.Abs": true,
}

// forbiddenSelectors are names that, selected from anything, reach the
// world: the store (st), a provider (machineProvider, providers, Alive,
// Start, Stop, Check), the logger (log), files (home).
var forbiddenSelectors = map[string]bool{
	"st": true, "machineProvider": true, "providers": true, "Alive": true, "Start": true, "Stop": true,
	"Check": true, "log": false, "home": true, "Write": true, "Enqueue": true, "Exec": true,
}

// TestControlMakesNoSystemCall parses the control files and fails on any
// call into the OS, the network, the clock, the logger, the store or a
// provider, and on any goroutine: what runs under the server's lock only
// changes memory, and the shell does the rest after releasing it.
func TestControlMakesNoSystemCall(t *testing.T) {
	for _, name := range controlFiles {
		for _, bad := range systemCalls(t, name, nil) {
			t.Errorf("%s", bad)
		}
	}
}

// Every file that holds a method of control is checked: a new one must be
// added to controlFiles (or its methods moved to the shell).
func TestControlFilesListed(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || slices.Contains(controlFiles, name) {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil {
				continue
			}
			if st, ok := fd.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := st.X.(*ast.Ident); ok && id.Name == "control" {
					t.Errorf("%s holds control.%s but is not in controlFiles: list it there (the system-call check then covers it)", name, fd.Name.Name)
				}
			}
		}
	}
}

// The check can fail: a control file that reads the clock, logs, forks or
// touches the store is caught.
func TestControlCheckCatches(t *testing.T) {
	for _, src := range []string{
		`package server; import "time"; func f() { _ = time.Now() }`,
		`package server; import "os"; func f() { os.Hostname() }`,
		`package server; import "log/slog"; func f() { slog.Info("x") }`,
		`package server; func (s *Server) f() { s.st.GetJob(nil, 1) }`,
		`package server; func (s *Server) f(m *machineRT) { s.machineProvider(m).Stop(nil, m.handle) }`,
		`package server; import "github.com/burst-sh/burst/internal/agent/runner"; func f() { runner.KillGroup(1, 2) }`,
		`package server; func f() { go func() {}() }`,
		`package server; func (s *Server) f() { s.log.Info("x") }`,
	} {
		if bad := systemCalls(t, "test.go", []byte(src)); len(bad) == 0 {
			t.Errorf("not caught: %s", src)
		}
	}
	if bad := systemCalls(t, "test.go", []byte(`package server; import ("syscall"; "log/slog"); var _, _ = syscall.SIGPIPE, slog.LevelWarn; func f(b *batch) { b.log(slog.LevelInfo, "x") }`)); len(bad) != 0 {
		t.Errorf("constants and the batch's log effect are allowed: %v", bad)
	}
}

// systemCalls lists the forbidden calls in file name (src, or read from
// disk when nil).
func systemCalls(t *testing.T, name string, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	var f *ast.File
	var err error
	if src != nil {
		f, err = parser.ParseFile(fset, name, src, 0)
	} else {
		f, err = parser.ParseFile(fset, name, nil, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{} // local name -> path
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		local := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			local = im.Name.Name
		}
		imports[local] = path
	}
	var bad []string
	report := func(n ast.Node, what string) {
		bad = append(bad, fset.Position(n.Pos()).String()+": "+what)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n, "goroutine started under the lock")
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok {
				if path, ok := imports[id.Name]; ok {
					if forbidden[path] || forbiddenCalls[path+"."+sel.Sel.Name] {
						report(n, "call to "+path+"."+sel.Sel.Name)
					}
					return true
				}
			}
			if forbiddenSelectors[sel.Sel.Name] {
				report(n, "call to ."+sel.Sel.Name)
			}
		case *ast.SelectorExpr:
			// The store, the logger and the home directory, reached from
			// anything (s.st.X, s.log.Info): no control value holds them.
			if x, ok := n.X.(*ast.SelectorExpr); ok && (x.Sel.Name == "st" || x.Sel.Name == "log" || x.Sel.Name == "home") {
				report(n, "use of ."+x.Sel.Name+"."+n.Sel.Name)
			}
		}
		return true
	})
	return bad
}
