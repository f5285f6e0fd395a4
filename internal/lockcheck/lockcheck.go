// Package lockcheck finds system calls made while a mutex is held: it
// follows every call a package makes between locking a struct's mutex
// field and unlocking it, through the whole call graph (closures,
// interfaces and other packages of the module included, goroutines
// excluded), and reports each call that reaches the operating system (a
// file, a socket, a process, the logger, the database) with the path that
// leads there.
//
// The server's rule is that nothing under its lock waits on the world: it
// changes memory, and the shell does the I/O after releasing the lock. The
// rule is checked by TestServerLock in this package, which runs this
// analysis over internal/server.
package lockcheck

import (
	"fmt"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/callgraph/vta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// Config says what to check.
type Config struct {
	Dir     string // where to load from (a directory of the module)
	Package string // import path of the package whose lock is checked
	Module  string // calls are followed into packages under this path; others are leaves or pure
	Field   string // the mutex field's name ("mu")
}

// Violation is one call path from a locked region to the operating system.
type Violation struct {
	Path []string // functions, from the one that holds the lock to the system call
}

func (v Violation) String() string { return strings.Join(v.Path, " -> ") }

// Check loads the package and its dependencies and returns what it finds.
func Check(c Config) ([]Violation, error) {
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Dir: c.Dir}
	pkgs, err := packages.Load(cfg, c.Package)
	if err != nil {
		return nil, err
	}
	if n := packages.PrintErrors(pkgs); n > 0 {
		return nil, fmt.Errorf("%d errors loading %s", n, c.Package)
	}
	prog, _ := ssautil.AllPackages(pkgs, ssa.InstantiateGenerics)
	prog.Build()
	cg := vta.CallGraph(ssautil.AllFunctions(prog), nil)
	a := &analysis{c: c, cg: cg, seen: map[*ssa.Function]bool{}, from: map[*ssa.Function]*ssa.Function{}, found: map[string]Violation{}, rel: map[*ssa.Function]bool{}}
	var roots []*ssa.Function
	for fn := range cg.Nodes {
		if fn != nil && fn.Pkg != nil && fn.Pkg.Pkg.Path() == c.Package {
			roots = append(roots, fn)
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].String() < roots[j].String() })
	for _, fn := range roots {
		a.scan(fn, false)
	}
	out := make([]Violation, 0, len(a.found))
	for _, v := range a.found {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

type analysis struct {
	c     Config
	cg    *callgraph.Graph
	seen  map[*ssa.Function]bool          // functions already walked as entered with the lock held
	from  map[*ssa.Function]*ssa.Function // who first called a function with the lock held
	found map[string]Violation
	rel   map[*ssa.Function]bool // releases, worked out once per function
}

// scan walks fn's blocks with a may-hold dataflow: a block holds the lock
// if any predecessor ends holding it. Every call made while it is held is
// followed with the lock held at entry.
func (a *analysis) scan(fn *ssa.Function, heldAtEntry bool) {
	if len(fn.Blocks) == 0 {
		return
	}
	in, _ := a.flow(fn, heldAtEntry)
	var held []ssa.CallInstruction
	for _, b := range fn.Blocks {
		h := in[b.Index]
		for _, ins := range b.Instrs {
			if call, ok := ins.(ssa.CallInstruction); ok && h {
				if _, isGo := ins.(*ssa.Go); !isGo && a.lockOp(call) == 0 {
					held = append(held, call)
				}
			}
			h = a.step(ins, h)
		}
	}
	if len(held) == 0 {
		return
	}
	sites := map[ssa.CallInstruction]bool{}
	for _, c := range held {
		sites[c] = true
	}
	node := a.cg.Nodes[fn]
	if node == nil {
		return
	}
	for _, e := range node.Out {
		if !sites[e.Site] || e.Callee.Func == nil {
			continue
		}
		a.enter(fn, e.Callee.Func)
	}
}

// flow is the lock state at the start and end of each of fn's blocks.
func (a *analysis) flow(fn *ssa.Function, heldAtEntry bool) (in, out []bool) {
	in = make([]bool, len(fn.Blocks))
	out = make([]bool, len(fn.Blocks))
	for changed := true; changed; {
		changed = false
		for _, b := range fn.Blocks {
			h := b.Index == 0 && heldAtEntry
			for _, p := range b.Preds {
				h = h || out[p.Index]
			}
			in[b.Index] = h
			for _, ins := range b.Instrs {
				h = a.step(ins, h)
			}
			if h != out[b.Index] {
				out[b.Index], changed = h, true
			}
		}
	}
	return in, out
}

// releases reports whether fn, entered with the lock held, always returns
// without it (a function that commits and unlocks, such as the server's
// apply): its caller no longer holds the lock after the call.
func (a *analysis) releases(fn *ssa.Function) bool {
	if r, ok := a.rel[fn]; ok {
		return r
	}
	a.rel[fn] = false // while it is worked out (recursion): it keeps the lock
	if len(fn.Blocks) == 0 || !strings.HasPrefix(pkgOf(fn), a.c.Module) {
		return false
	}
	_, out := a.flow(fn, true)
	r, returns := true, 0
	for _, b := range fn.Blocks {
		if len(b.Instrs) == 0 {
			continue
		}
		if _, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok {
			returns++
			r = r && !out[b.Index]
		}
	}
	r = r && returns > 0
	a.rel[fn] = r
	return r
}

// enter follows a call made with the lock held.
func (a *analysis) enter(caller, fn *ssa.Function) {
	if _, ok := a.from[fn]; !ok {
		a.from[fn] = caller
	}
	if a.leaf(fn) {
		path := []string{a.short(fn)}
		for p, n := caller, 0; p != nil && n < 40; p, n = a.from[p], n+1 {
			path = append([]string{a.short(p)}, path...)
			if a.from[p] == p {
				break
			}
		}
		v := Violation{Path: path}
		if _, dup := a.found[v.String()]; !dup {
			a.found[v.String()] = v
		}
		return
	}
	if a.seen[fn] {
		return
	}
	if p := pkgOf(fn); p == "" || !strings.HasPrefix(p, a.c.Module) {
		return // the standard library's pure parts (fmt, sort, time's arithmetic) are not followed
	}
	a.seen[fn] = true
	a.scan(fn, true)
}

// step is the lock state after ins.
func (a *analysis) step(ins ssa.Instruction, held bool) bool {
	call, ok := ins.(*ssa.Call)
	if !ok {
		return held // a deferred Unlock releases only at return
	}
	switch a.lockOp(call) {
	case 1:
		return true
	case -1:
		return false
	}
	if f := call.Common().StaticCallee(); held && f != nil && a.releases(f) {
		return false
	}
	return held
}

// lockOp: 1 for Lock of the checked field, -1 for its Unlock, 0 otherwise.
func (a *analysis) lockOp(call ssa.CallInstruction) int {
	com := call.Common()
	callee := com.StaticCallee()
	if callee == nil || len(com.Args) == 0 {
		return 0
	}
	name := callee.String()
	op := 0
	switch name {
	case "(*sync.Mutex).Lock", "(*sync.RWMutex).Lock":
		op = 1
	case "(*sync.Mutex).Unlock", "(*sync.RWMutex).Unlock":
		op = -1
	default:
		return 0
	}
	fa, ok := com.Args[0].(*ssa.FieldAddr)
	if !ok {
		return 0
	}
	st, ok := fa.X.Type().Underlying().(*types.Pointer)
	if !ok {
		return 0
	}
	s, ok := st.Elem().Underlying().(*types.Struct)
	if !ok || s.Field(fa.Field).Name() != a.c.Field {
		return 0
	}
	if n, ok := st.Elem().(*types.Named); !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != a.c.Package {
		return 0
	}
	return op
}

// leaf: a function that reaches the operating system or may block on it.
func (a *analysis) leaf(f *ssa.Function) bool {
	p := pkgOf(f)
	if p == "" {
		return false
	}
	s := f.String()
	switch p {
	case "syscall", "internal/poll", "os", "os/exec", "os/user", "os/signal", "net", "net/http", "log", "log/slog",
		"database/sql", "internal/syscall/unix":
		return true
	case "time":
		return strings.HasSuffix(s, ".Sleep")
	case "path/filepath":
		for _, n := range []string{"EvalSymlinks", "Walk", "Glob", "Abs"} {
			if strings.HasSuffix(s, "."+n) {
				return true
			}
		}
	}
	if strings.HasPrefix(p, a.c.Module) && strings.HasSuffix(p, "/internal/store") && strings.Contains(s, "(*") &&
		strings.Contains(s, ".Store).") {
		for _, n := range memoryOnly {
			if strings.HasSuffix(s, ".Store)."+n) {
				return false
			}
		}
		return true
	}
	return false
}

// memoryOnly are the store's methods that touch memory alone, which the
// server may call under its lock: handing a write to the group commit (a
// send on its queue, which the writer drains even while a full disk holds
// a batch), the file's name, and the last full-disk hold's times (an
// atomic load).
var memoryOnly = []string{"Enqueue", "enqueue", "Path", "LastHold"}

// pkgOf is the import path of the package f (or the generic function it
// instantiates, or the function it is a closure of) belongs to; "" for
// synthetic wrappers.
func pkgOf(f *ssa.Function) string {
	for f != nil {
		if o := f.Origin(); o != nil {
			f = o
		}
		if f.Pkg != nil {
			return f.Pkg.Pkg.Path()
		}
		f = f.Parent()
	}
	return ""
}

func (a *analysis) short(f *ssa.Function) string {
	return strings.ReplaceAll(f.String(), a.c.Module+"/", "")
}
