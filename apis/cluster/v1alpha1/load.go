package v1alpha1

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Load reads a cluster config file (YAML or JSON), rejecting unknown fields,
// defaults it and validates it. Errors name the file and the fields to fix.
func Load(path string) (*Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster config: %w", err)
	}
	c, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Decode parses, defaults and validates a cluster config document.
func Decode(data []byte) (*Cluster, error) {
	c := &Cluster{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("invalid cluster config: %s", strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: "))
	}
	if c.APIVersion == "" || c.Kind == "" {
		return nil, fmt.Errorf("invalid cluster config: apiVersion and kind are required (apiVersion: %s, kind: Cluster)", SchemeGroupVersion)
	}
	SetDefaults_Cluster(c)
	if errs := ValidateCluster(c); len(errs) > 0 {
		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		return nil, errors.New("invalid cluster config: " + strings.Join(msgs, "; "))
	}
	return c, nil
}

// Default returns the defaulted config of a cluster with the given node
// counts, as `skiff up --control-planes M --nodes N` makes without a file:
// M control-plane nodes followed by N-M workers (N counts every node).
func Default(controlPlanes, nodes int) *Cluster {
	c := &Cluster{}
	for i := 0; i < nodes || i < controlPlanes; i++ {
		role := WorkerRole
		if i < controlPlanes {
			role = ControlPlaneRole
		}
		c.Nodes = append(c.Nodes, Node{Role: role})
	}
	SetDefaults_Cluster(c)
	return c
}
