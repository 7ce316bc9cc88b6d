package datasource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// Objects are Services and EndpointSlices, as a list or a watch would give
// them.
type Objects struct {
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
}

// DecodeYAML reads a multi-document YAML stream of Services and
// EndpointSlices; other kinds are an error.
func DecodeYAML(r io.Reader) (Objects, error) {
	var objs Objects
	dec := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return objs, fmt.Errorf("read YAML: %w", err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return objs, fmt.Errorf("decode YAML: %w", err)
		}
		switch {
		case meta.Kind == "" && meta.APIVersion == "":
			continue // a document of comments only
		case meta.APIVersion == "v1" && meta.Kind == "Service":
			svc := &corev1.Service{}
			if err := yaml.UnmarshalStrict(doc, svc); err != nil {
				return objs, fmt.Errorf("decode Service: %w", err)
			}
			objs.Services = append(objs.Services, svc)
		case meta.APIVersion == "discovery.k8s.io/v1" && meta.Kind == "EndpointSlice":
			es := &discoveryv1.EndpointSlice{}
			if err := yaml.UnmarshalStrict(doc, es); err != nil {
				return objs, fmt.Errorf("decode EndpointSlice: %w", err)
			}
			objs.EndpointSlices = append(objs.EndpointSlices, es)
		default:
			return objs, fmt.Errorf("unsupported object %s %s", meta.APIVersion, meta.Kind)
		}
	}
}

// Apply writes objects into t as the informers will: each Service with
// UpsertService, each EndpointSlice with UpsertBackends keyed by the
// slice's name. An object that does not convert is skipped and reported in
// the returned error; the others are still applied.
func Apply(t *tables.Tables, objs Objects) error {
	var errs []error
	for _, s := range objs.Services {
		svc, err := ServiceFromKube(s)
		if err == nil {
			err = t.UpsertService(svc)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err))
		}
	}
	for _, es := range objs.EndpointSlices {
		name, bs, err := BackendsFromKube(es)
		if err == nil {
			err = t.UpsertBackends(name, es.Name, bs)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
