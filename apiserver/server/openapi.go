package server

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	restful "github.com/emicklei/go-restful/v3"
	"github.com/munnerz/goautoneg"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/mux"
	"k8s.io/apiserver/pkg/server/routes"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/skiff-dev/skiff/internal/version"
)

// installLazyOpenAPI serves /openapi/v2 and /openapi/v3 of s, a server
// whose config has SkipOpenAPIInstallation, and builds each document only
// when it is first asked for. It must be called once every API group is
// installed.
//
// k8s.io/apiserver's PrepareRun builds the whole v2 spec and every v3
// group-version spec eagerly, and kube-aggregator's v3 aggregation then
// marshals them all to hash them for the /openapi/v3 index: together about
// a third of the CPU of a start, spent before the server serves, for
// documents that only kubectl explain/apply and client generators read.
// Here the v2 spec is built on the first /openapi/v2 request, and each v3
// group version on the first request for it. The /openapi/v3 index needs
// a hash per group version that changes whenever its spec does; since the
// built-in specs are fixed by the binary and the set of served routes, the
// hash is taken over those (see buildIdentity and routeSignature) instead
// of over the marshalled spec.
//
// The documents are the ones PrepareRun would serve: the v2 spec is built
// with kube-openapi's builder as routes.OpenAPI.InstallV2 does, and each v3
// spec by routes.OpenAPI.InstallV3 itself, run on the one web service.
func installLazyOpenAPI(s *genericapiserver.GenericAPIServer, v2 *common.Config, v3 *common.OpenAPIV3Config) {
	services := s.Handler.GoRestfulContainer.RegisteredWebServices()
	if v2 != nil {
		swagger := cached.Once(cached.Func(func() (*spec.Swagger, string, error) {
			sw, err := builder.BuildOpenAPISpecFromRoutes(restfuladapter.AdaptWebServices(services), v2)
			if err != nil {
				return nil, "", fmt.Errorf("build OpenAPI v2 spec: %w", err)
			}
			sw.Definitions = handler.PruneDefaults(sw.Definitions)
			return sw, "", nil
		}))
		handler.NewOpenAPIServiceLazy(swagger).RegisterOpenAPIVersionedService("/openapi/v2", s.Handler.NonGoRestfulMux)
	}
	if v3 != nil {
		newLazyOpenAPIV3(services, v3).register(s.Handler.NonGoRestfulMux)
	}
}

// lazyOpenAPIV3 serves the /openapi/v3 index and one spec per group
// version, built on first use.
type lazyOpenAPIV3 struct {
	groups   map[string]*lazyV3Group
	index    []byte
	modified time.Time
}

type lazyV3Group struct {
	etag  string
	build func() ([]byte, error)

	once     sync.Once
	json     []byte
	proto    []byte
	err      error
	modified time.Time
}

func newLazyOpenAPIV3(services []*restful.WebService, cfg *common.OpenAPIV3Config) *lazyOpenAPIV3 {
	o := &lazyOpenAPIV3{groups: map[string]*lazyV3Group{}, modified: time.Now()}
	// As InstallV3: one spec per root path, the last web service of a root
	// path winning.
	byPath := map[string]*restful.WebService{}
	for _, ws := range services {
		byPath[strings.TrimPrefix(ws.RootPath(), "/")] = ws
	}
	identity := buildIdentity()
	discovery := handler3.OpenAPIV3Discovery{Paths: map[string]handler3.OpenAPIV3DiscoveryGroupVersion{}}
	for gv, ws := range byPath {
		sum := sha512.Sum512([]byte(identity + "\x00" + gv + "\x00" + routeSignature(ws)))
		g := &lazyV3Group{etag: fmt.Sprintf("%X", sum), build: func() ([]byte, error) { return buildOpenAPIV3(gv, ws, cfg) }}
		o.groups[gv] = g
		discovery.Paths[gv] = handler3.OpenAPIV3DiscoveryGroupVersion{ServerRelativeURL: v3URL(gv, g.etag)}
	}
	// Marshalling a map of a few dozen short entries cannot fail.
	o.index, _ = json.Marshal(discovery)
	return o
}

func (o *lazyOpenAPIV3) register(m *mux.PathRecorderMux) {
	m.Handle("/openapi/v3", http.HandlerFunc(o.serveIndex))
	m.HandlePrefix("/openapi/v3/", http.HandlerFunc(o.serveGroupVersion))
}

func (o *lazyOpenAPIV3) serveIndex(w http.ResponseWriter, r *http.Request) {
	sum := sha512.Sum512(o.index)
	w.Header().Set("Etag", strconv.Quote(fmt.Sprintf("%X", sum)))
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, "/openapi/v3", o.modified, bytes.NewReader(o.index))
}

// v3ContentTypes are the representations handler3 serves, in its order.
var v3ContentTypes = []struct{ subType, contentType string }{
	{"json", "application/json"},
	{"com.github.proto-openapi.spec.v3.v1.0+protobuf", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"},
	{"com.github.proto-openapi.spec.v3@v1.0+protobuf", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"},
}

// serveGroupVersion answers as handler3.HandleGroupVersion does: content
// negotiation between JSON and protobuf, a redirect when the hash asked
// for is not the current one, and immutable caching when it is.
func (o *lazyOpenAPIV3) serveGroupVersion(w http.ResponseWriter, r *http.Request) {
	gv := strings.TrimPrefix(r.URL.Path, "/openapi/v3/")
	g, ok := o.groups[gv]
	if !ok {
		http.NotFound(w, r)
		return
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	w.Header().Add("Vary", "Accept")
	for _, clause := range goautoneg.ParseAccept(accept) {
		for _, ct := range v3ContentTypes {
			if (clause.Type != "application" && clause.Type != "*") || (clause.SubType != ct.subType && clause.SubType != "*") {
				continue
			}
			data, err := g.get(ct.subType != "json")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", ct.contentType)
			w.Header().Set("Etag", strconv.Quote(g.etag))
			if hash := r.URL.Query().Get("hash"); hash != "" {
				if hash != g.etag {
					http.Redirect(w, r, v3URL(gv, g.etag), http.StatusMovedPermanently)
					return
				}
				w.Header().Set("Cache-Control", "public, immutable")
				w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).Format(time.RFC1123))
			}
			http.ServeContent(w, r, "", g.modified, bytes.NewReader(data))
			return
		}
	}
	w.WriteHeader(http.StatusNotAcceptable)
}

// get returns the group version's spec as JSON or protobuf, building both
// on the first call.
func (g *lazyV3Group) get(proto bool) ([]byte, error) {
	g.once.Do(func() {
		g.json, g.err = g.build()
		if g.err == nil {
			g.proto, g.err = handler3.ToV3ProtoBinary(g.json)
		}
		g.modified = time.Now()
	})
	if proto {
		return g.proto, g.err
	}
	return g.json, g.err
}

// buildOpenAPIV3 builds the spec of one group version by running
// routes.OpenAPI.InstallV3 on a container holding only its web service,
// and reading the spec back from the handler it installs.
func buildOpenAPIV3(gv string, ws *restful.WebService, cfg *common.OpenAPIV3Config) ([]byte, error) {
	c := restful.NewContainer()
	c.Add(ws)
	m := mux.NewPathRecorderMux("skiff-openapi-v3-" + gv)
	routes.OpenAPI{V3Config: cfg}.InstallV3(c, m)
	req, err := http.NewRequest(http.MethodGet, "/openapi/v3/"+gv, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	rec := &bufferResponse{header: http.Header{}, status: http.StatusOK}
	m.ServeHTTP(rec, req)
	if rec.status != http.StatusOK {
		return nil, fmt.Errorf("build OpenAPI v3 spec of %s: HTTP %d: %s", gv, rec.status, rec.body.String())
	}
	return rec.body.Bytes(), nil
}

// bufferResponse is an in-memory http.ResponseWriter.
type bufferResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferResponse) Header() http.Header         { return b.header }
func (b *bufferResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferResponse) WriteHeader(status int)      { b.status = status }

func v3URL(gv, etag string) string {
	u := url.URL{Path: path.Join("/openapi/v3", gv), RawQuery: url.Values{"hash": {etag}}.Encode()}
	return u.String()
}

// routeSignature lists a web service's routes (method, path, operation,
// the Go types read and written): with the binary's identity, what its
// OpenAPI spec is built from.
func routeSignature(ws *restful.WebService) string {
	lines := make([]string, 0, len(ws.Routes()))
	for _, r := range ws.Routes() {
		lines = append(lines, fmt.Sprintf("%s %s %s %T %T", r.Method, r.Path, r.Operation, r.ReadSample, r.WriteSample))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// buildIdentity names the running binary: its version, VCS revision and
// the size and modification time of the executable, so that a rebuilt
// binary, whose types and generated definitions may differ, publishes new
// hashes and clients do not keep a cached spec of another build.
var buildIdentity = sync.OnceValue(func() string {
	id := version.GitVersion()
	if info, ok := debug.ReadBuildInfo(); ok {
		id += " " + info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				id += " " + s.Value
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			id += fmt.Sprintf(" %d %d", st.Size(), st.ModTime().UnixNano())
		}
	}
	return id
})
