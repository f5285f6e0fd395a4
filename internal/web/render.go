package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
)

//go:embed static
var staticFS embed.FS

// StaticPrefix is where Static expects to be mounted, and where the pages
// link their stylesheet, script and icon.
const StaticPrefix = "/ui/static/"

//go:generate go run github.com/a-h/templ/cmd/templ@v0.3.1118 generate

// Renderer renders the dashboard's pages from their views. It is safe for
// concurrent use.
type Renderer struct{}

// New returns a renderer. The pages are Go code generated from the
// *.templ files beside this one (templ: go generate), so there is nothing
// to parse at run time and nothing that can fail here.
func New() (*Renderer, error) { return &Renderer{}, nil }

// Login renders the sign-in page.
func (r *Renderer) Login(w io.Writer, v *LoginView) error {
	return r.render(w, &v.Page, "login-page", true, loginMain(v))
}

// Overview renders the projects overview (/ui/).
func (r *Renderer) Overview(w io.Writer, v *OverviewView) error {
	return r.render(w, &v.Page, "app", false, overviewMain(v))
}

// Project renders one project's page (/ui/projects/NAME).
func (r *Renderer) Project(w io.Writer, v *ProjectView) error {
	return r.render(w, &v.Page, "app", false, projectMain(v))
}

// Clusters renders the clusters page (/ui/clusters).
func (r *Renderer) Clusters(w io.Writer, v *ClustersView) error {
	return r.render(w, &v.Page, "app", false, clustersMain(v))
}

// Job renders one job's page (/ui/jobs/ID).
func (r *Renderer) Job(w io.Writer, v *JobView) error {
	return r.render(w, &v.Page, "app", false, jobMain(v))
}

// Error renders an error page (not found, forbidden, a failure) in the
// dashboard's layout. It is never a fragment, and its body is not .app:
// no live refresh, so the error stays until the person goes on.
func (r *Renderer) Error(w io.Writer, v *ErrorView) error {
	p := v.Page
	p.Fragment = false
	return r.render(w, &p, "error-page", false, errorMain(v))
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes the page in the layout, or with p.Fragment only the
// contents of its <main id="live">. It renders into a buffer first, so
// that a failure writes nothing rather than half a page.
func (r *Renderer) render(w io.Writer, p *Page, bodyClass string, signedOut bool, main templ.Component) error {
	c := main
	if !p.Fragment {
		c = layout(p, bodyClass, signedOut, main)
	}
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	defer func() {
		if b.Cap() <= 1<<20 {
			buffers.Put(b)
		}
	}()
	if err := c.Render(context.Background(), b); err != nil {
		return fmt.Errorf("web: render: %w", err)
	}
	if bytes.IndexAny(b.Bytes(), "\x00+") < 0 {
		_, err := w.Write(b.Bytes())
		return err
	}
	_, err := strict.WriteString(w, b.String())
	return err
}

// strict escapes what templ (html.EscapeString) leaves and html/template
// escaped: NUL, which the HTML parser would make U+FFFD, and '+', which
// html/template writes &#43; (a page misread as UTF-7 cannot smuggle
// markup in). It runs over the whole page, which is the same thing: the
// markup has neither (layout.templ writes the icon's type
// image/svg&#43;xml), so each one came from a value; and a page with
// neither, the usual case, is written as it is.
var strict = strings.NewReplacer("\x00", "\uFFFD", "+", "&#43;")

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
