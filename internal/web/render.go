package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StaticPrefix is where Static expects to be mounted, and where the pages
// link their stylesheet, script and icon.
const StaticPrefix = "/ui/static/"

// Renderer renders the dashboard's pages from their views. It is safe for
// concurrent use.
type Renderer struct {
	pages map[string]*template.Template
}

// The pages, each its template file under templates/.
const (
	pageLogin    = "login"
	pageOverview = "overview"
	pageProject  = "project"
	pageClusters = "clusters"
	pageJob      = "job"
	pageError    = "error"
)

// New parses the embedded templates, once for all the renderer's pages.
func New() (*Renderer, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, p := range []string{pageLogin, pageOverview, pageProject, pageClusters, pageJob, pageError} {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: %s: %w", p, err)
		}
		if t, err = t.ParseFS(templateFS, "templates/"+p+".html"); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", p, err)
		}
		// Escape now, so that a template error shows here, not on a request.
		for _, name := range []string{"layout", "main"} {
			if err := t.ExecuteTemplate(io.Discard, name, nil); err != nil && strings.Contains(err.Error(), "html/template") {
				return nil, fmt.Errorf("web: %s: %w", p, err)
			}
		}
		r.pages[p] = t
	}
	return r, nil
}

// Login renders the sign-in page.
func (r *Renderer) Login(w io.Writer, v *LoginView) error {
	return r.render(w, pageLogin, v, v.Fragment)
}

// Overview renders the projects overview (/ui/).
func (r *Renderer) Overview(w io.Writer, v *OverviewView) error {
	return r.render(w, pageOverview, v, v.Fragment)
}

// Project renders one project's page (/ui/projects/NAME).
func (r *Renderer) Project(w io.Writer, v *ProjectView) error {
	return r.render(w, pageProject, v, v.Fragment)
}

// Clusters renders the clusters page (/ui/clusters).
func (r *Renderer) Clusters(w io.Writer, v *ClustersView) error {
	return r.render(w, pageClusters, v, v.Fragment)
}

// Job renders one job's page (/ui/jobs/ID).
func (r *Renderer) Job(w io.Writer, v *JobView) error {
	return r.render(w, pageJob, v, v.Fragment)
}

// Error renders an error page (not found, forbidden, a failure) in the
// dashboard's layout.
func (r *Renderer) Error(w io.Writer, v *ErrorView) error {
	return r.render(w, pageError, v, false)
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes the page, or with fragment only the contents of its
// <main id="live">. It renders into a buffer first, so that a failure
// writes nothing rather than half a page.
func (r *Renderer) render(w io.Writer, page string, v any, fragment bool) error {
	t := r.pages[page]
	if t == nil {
		return fmt.Errorf("web: no page %q", page)
	}
	name := "layout"
	if fragment {
		name = "main"
	}
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	defer func() {
		if b.Cap() <= 1<<20 {
			buffers.Put(b)
		}
	}()
	if err := t.ExecuteTemplate(b, name, v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// staticFile is one embedded static file and its version.
type staticFile struct {
	name string
	data []byte
	etag string // quoted
	hash string // first hex digits of its SHA-256: the ?v= of its links
}

var statics = sync.OnceValue(func() map[string]*staticFile {
	out := map[string]*staticFile{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:])[:12]
		name := strings.TrimPrefix(p, "static/")
		out[name] = &staticFile{name: name, data: data, etag: `"` + h + `"`, hash: h}
		return nil
	})
	return out
})

// asset is the URL of a static file, versioned by its content so that it
// can be cached for good: /ui/static/app.js?v=1a2b3c4d5e6f.
func asset(name string) string {
	if f := statics()[name]; f != nil {
		return StaticPrefix + name + "?v=" + f.hash
	}
	return StaticPrefix + name
}

// Static serves the embedded static files: style.css, app.js and
// favicon.svg. Mount it at /ui/static/ (it strips that prefix itself, and
// also takes paths already stripped of it). The pages link each file with
// ?v= its content's hash: such a request is cached for a year, immutable;
// any other gets the file revalidated by its ETag.
func Static() http.Handler {
	files := statics()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, StaticPrefix)
		name = strings.TrimPrefix(path.Clean("/"+name), "/")
		f := files[name]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == f.hash {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=300, must-revalidate")
		}
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.data))
	})
}
