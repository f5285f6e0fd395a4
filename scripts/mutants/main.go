// Command mutants checks that a package's unit tests notice a change to its
// policy: it makes one small change at a time to the files it is given (a
// mutant: < for <=, == for !=, && for ||, ++ for --, and the reverse), runs
// the package's tests against it, and reports each mutant the tests let
// live. A mutant is compiled through `go test -overlay`, so the files on
// disk are never changed; a run stopped by Ctrl-C or SIGTERM removes its
// temporary copies too.
//
// Not every survivor is a missing test: a mutant can be equivalent (d > 0
// and d >= 0 when d is never 0 there), or touch only a log line. Each
// survivor is a line to read, not a failure.
//
// Usage:
//
//	go run ./scripts/mutants [-run REGEXP] [-skip REGEXP] [-timeout 5m] FILE.go...
//
// The files must be of one package; its tests run with -failfast, and -run
// and -skip narrow them as go test's do (the control plane's slow disk-hold
// tests: -skip 'Hold|Outage'). It prints one line per mutant and a count;
// it exits 1 if a mutant survived, 2 if the tests fail without any mutant.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// swaps are the operators a mutant exchanges.
var swaps = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LAND: token.LOR, token.LOR: token.LAND,
	token.INC: token.DEC, token.DEC: token.INC,
}

// mutant is one operator at Offset in a file, to be replaced by To.
type mutant struct {
	File     string
	Line     int
	Offset   int
	From, To token.Token
}

func main() {
	run := flag.String("run", "", "run only the tests matching this (go test -run)")
	skip := flag.String("skip", "", "skip the tests matching this (go test -skip)")
	timeout := flag.Duration("timeout", 5*time.Minute, "the longest one mutant's tests may take (a mutant that loops forever)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/mutants [-run RE] [-skip RE] FILE.go...")
		os.Exit(2)
	}
	files := flag.Args()
	dir := filepath.Dir(files[0])
	for _, f := range files {
		if filepath.Dir(f) != dir || strings.HasSuffix(f, "_test.go") {
			fail("%s: give files of one package, not its tests", f)
		}
	}
	var ms []mutant
	for _, f := range files {
		ms = append(ms, mutantsOf(f)...)
	}
	args := []string{"test", "-count=1", "-failfast"}
	if *run != "" {
		args = append(args, "-run", *run)
	}
	if *skip != "" {
		args = append(args, "-skip", *skip)
	}
	pkg := "./" + filepath.ToSlash(dir)
	if out, err := goTest(context.Background(), append(args, pkg), *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "the tests fail without any mutant:\n%s", out)
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	killed, lived := 0, 0
	for i, m := range ms {
		verdict, err := try(ctx, m, tmp, args, pkg, *timeout)
		if ctx.Err() != nil {
			os.RemoveAll(tmp)
			fail("stopped after %d of %d mutants: %d killed, %d survived", i, len(ms), killed, lived)
		}
		if err != nil {
			os.RemoveAll(tmp)
			fail("%v", err)
		}
		switch verdict {
		case "killed":
			killed++
		case "survived":
			lived++
		}
		fmt.Printf("%4d/%d %-8s %s:%d %s -> %s\n", i+1, len(ms), verdict, m.File, m.Line, m.From, m.To)
	}
	fmt.Printf("%d mutants: %d killed, %d survived, %d not compiled\n", len(ms), killed, lived, len(ms)-killed-lived)
	os.RemoveAll(tmp) // before os.Exit, which runs no deferred call
	if lived > 0 {
		os.Exit(1)
	}
}

// mutantsOf lists file's mutants in order, leaving out those inside a
// call that only logs or formats (b.log, slog, fmt.*, Errorf): changing
// them changes words, not what happens.
func mutantsOf(file string) []mutant {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		fail("%v", err)
	}
	var out []mutant
	var wording []ast.Node // the calls being walked that only say something
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return true
		}
		for len(wording) > 0 && !(wording[len(wording)-1].Pos() <= n.Pos() && n.End() <= wording[len(wording)-1].End()) {
			wording = wording[:len(wording)-1]
		}
		add := func(pos token.Pos, op token.Token) {
			if to, ok := swaps[op]; ok && len(wording) == 0 {
				p := fset.Position(pos)
				out = append(out, mutant{File: file, Line: p.Line, Offset: p.Offset, From: op, To: to})
			}
		}
		switch x := n.(type) {
		case *ast.CallExpr:
			if saysOnly(x) {
				wording = append(wording, x)
			}
		case *ast.BinaryExpr:
			add(x.OpPos, x.Op)
		case *ast.IncDecStmt:
			add(x.TokPos, x.Tok)
		}
		return true
	})
	sort.Slice(out, func(i, k int) bool { return out[i].Offset < out[k].Offset })
	return out
}

// saysOnly says whether call only logs or formats words.
func saysOnly(call *ast.CallExpr) bool {
	var name string
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		name = fn.Name
	case *ast.SelectorExpr:
		if id, ok := fn.X.(*ast.Ident); ok && (id.Name == "fmt" || id.Name == "slog") {
			return true
		}
		name = fn.Sel.Name
	}
	switch name {
	case "log", "Log", "Logf", "Errorf", "Warn", "Info", "Debug", "Error":
		return true
	}
	return false
}

// try compiles and tests the package with m applied through an overlay.
func try(ctx context.Context, m mutant, tmp string, args []string, pkg string, timeout time.Duration) (string, error) {
	src, err := os.ReadFile(m.File)
	if err != nil {
		return "", err
	}
	from := m.From.String()
	if !bytes.HasPrefix(src[m.Offset:], []byte(from)) {
		return "", fmt.Errorf("%s:%d: %s not at its place", m.File, m.Line, from)
	}
	mutated := append(append(append([]byte{}, src[:m.Offset]...), m.To.String()...), src[m.Offset+len(from):]...)
	abs, err := filepath.Abs(m.File)
	if err != nil {
		return "", err
	}
	repl := filepath.Join(tmp, filepath.Base(m.File))
	if err := os.WriteFile(repl, mutated, 0o644); err != nil {
		return "", err
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": {abs: repl}})
	if err != nil {
		return "", err
	}
	ovPath := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return "", err
	}
	a := append(append([]string{}, args...), "-overlay", ovPath, pkg)
	out, err := goTest(ctx, a, timeout)
	switch {
	case err == nil:
		return "survived", nil
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return "no-build", nil // a mutant the compiler refuses (++ on a non-number, ...)
	}
	return "killed", nil
}

// goTest runs go with args, its output and whether it failed.
func goTest(parent context.Context, args []string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return out, fmt.Errorf("timed out after %s", timeout) // a mutant that never ends is killed
	}
	return out, err
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "mutants: "+format+"\n", a...)
	os.Exit(2)
}
