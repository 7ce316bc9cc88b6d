package discoveryset

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Resource is one served resource at its preferred version.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
	Verbs      []string
}

// GVK is the resource's group, version and kind.
func (r Resource) GVK() schema.GroupVersionKind {
	return r.GVR.GroupVersion().WithKind(r.Kind)
}

// HasVerb reports whether the resource supports verb.
func (r Resource) HasVerb(verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// Result is what Discover found.
type Result struct {
	// Resources are the resources found, by GVR.
	Resources map[schema.GroupVersionResource]Resource
	// DiscoveryErr is set when discovery failed, wholly or for some groups
	// (then Resources holds what the other groups served). It is often a
	// *discovery.ErrGroupDiscoveryFailed.
	DiscoveryErr error
	// ParseErr is set when some group versions could not be parsed; their
	// resources are left out.
	ParseErr error
}

// Options select resources.
type Options struct {
	// NamespacedOnly keeps namespaced resources only.
	NamespacedOnly bool
	// Verbs must all be supported.
	Verbs []string
	// Ignored group-resources are left out.
	Ignored map[schema.GroupResource]bool
}

// Discover lists the server's preferred resources that match opts.
// Subresources are never listed.
func Discover(d discovery.DiscoveryInterface, opts Options) Result {
	var lists []*metav1.APIResourceList
	var err error
	if opts.NamespacedOnly {
		lists, err = d.ServerPreferredNamespacedResources()
	} else {
		lists, err = d.ServerPreferredResources()
	}
	res := Result{Resources: map[schema.GroupVersionResource]Resource{}}
	if err != nil {
		res.DiscoveryErr = err
		if lists == nil {
			return res
		}
	}
	res.Resources, res.ParseErr = Filter(lists, opts)
	return res
}

// Filter selects from discovery's resource lists the resources that match
// opts. Group versions that do not parse are skipped and reported.
func Filter(lists []*metav1.APIResourceList, opts Options) (map[schema.GroupVersionResource]Resource, error) {
	out := map[schema.GroupVersionResource]Resource{}
	var errs []error
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			errs = append(errs, fmt.Errorf("couldn't parse GroupVersion %q: %w", l.GroupVersion, err))
			continue
		}
	resources:
		for _, r := range l.APIResources {
			if r.Name == "" || containsSlash(r.Name) {
				continue
			}
			if opts.NamespacedOnly && !r.Namespaced {
				continue
			}
			group, version := gv.Group, gv.Version
			if r.Group != "" {
				group = r.Group
			}
			if r.Version != "" {
				version = r.Version
			}
			if opts.Ignored[schema.GroupResource{Group: group, Resource: r.Name}] {
				continue
			}
			res := Resource{
				GVR:        schema.GroupVersionResource{Group: group, Version: version, Resource: r.Name},
				Kind:       r.Kind,
				Namespaced: r.Namespaced,
				Verbs:      append([]string(nil), r.Verbs...),
			}
			for _, v := range opts.Verbs {
				if !res.HasVerb(v) {
					continue resources
				}
			}
			out[res.GVR] = res
		}
	}
	return out, errors.Join(errs...)
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}
