package controllers

import (
	"context"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Context is what a controller's Setup is given: the shared manager (its
// cache, client and event recorders), a typed clientset for subresources
// (binding, eviction, scale, status of objects outside the cache), and the
// controller manager's options.
type Context struct {
	// Manager is the controller-runtime manager every controller of the
	// process registers with; its cache is shared.
	Manager manager.Manager
	// Client is a typed clientset on the manager's REST config.
	Client kubernetes.Interface
	// RESTConfig is the manager's REST config, for dynamic, metadata and
	// discovery clients.
	RESTConfig *rest.Config
	// Options are the controller manager's settings.
	Options Options
}

// Options are the settings controllers share, each the counterpart of a
// kube-controller-manager flag. The zero value of a field means upstream's
// default; read them through the accessor methods.
type Options struct {
	// ConcurrentSyncs is how many objects each controller reconciles at
	// once (--concurrent-*-syncs; 0 means 5).
	ConcurrentSyncs int
	// RootCAFile is the CA bundle published as kube-root-ca.crt in every
	// namespace (--root-ca-file).
	RootCAFile string
	// ServiceAccountPrivateKeyFile signs legacy service-account token
	// Secrets (--service-account-private-key-file).
	ServiceAccountPrivateKeyFile string
	// ClusterSigningCertFile and ClusterSigningKeyFile are the CA the
	// CSR signing controller signs with (--cluster-signing-cert-file,
	// --cluster-signing-key-file).
	ClusterSigningCertFile string
	ClusterSigningKeyFile  string
	// ClusterSigningDuration is the longest certificate it issues (0 means
	// a year).
	ClusterSigningDuration time.Duration
	// ClusterCIDRs and NodeCIDRMaskSize drive node IPAM (--cluster-cidr,
	// --node-cidr-mask-size); empty means no podCIDR allocation.
	ClusterCIDRs     []string
	NodeCIDRMaskSize int
	// NodeMonitorGracePeriod is how long a node may go without a heartbeat
	// before it is NotReady (0 means 50s, upstream's 1.37 default).
	NodeMonitorGracePeriod time.Duration
	// TerminatedPodGCThreshold is how many terminated pods may exist before
	// the pod GC deletes the oldest (0 means 12500).
	TerminatedPodGCThreshold int
}

// Workers is ConcurrentSyncs with its default applied.
func (o Options) Workers() int {
	if o.ConcurrentSyncs <= 0 {
		return 5
	}
	return o.ConcurrentSyncs
}

// SetupFunc registers one controller with c.Manager. It must not block: the
// controller runs when the manager starts (and, with leader election, only
// while this process leads).
type SetupFunc func(ctx context.Context, c Context) error

// Descriptor names one controller of the controller manager, as
// kube-controller-manager's --controllers flag names them.
type Descriptor struct {
	// Name is the controller's name, e.g. "replicaset".
	Name string
	// Setup registers it.
	Setup SetupFunc
	// DisabledByDefault controllers run only when --controllers names them.
	DisabledByDefault bool
}
