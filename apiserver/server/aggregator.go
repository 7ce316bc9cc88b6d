package server

import (
	"fmt"
	"strings"
	"sync"

	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	apiregistrationclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/typed/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/controllers/autoregister"
)

// apiServicePriority orders groups and versions in discovery.
type apiServicePriority struct{ group, version int32 }

// builtinPriorities are kube-apiserver's discovery priorities for the
// built-in group versions, so `kubectl api-resources` lists them in kube's
// order.
var builtinPriorities = map[schema.GroupVersion]apiServicePriority{
	{Group: "", Version: "v1"}:                             {18000, 1},
	{Group: "apps", Version: "v1"}:                         {17800, 15},
	{Group: "events.k8s.io", Version: "v1"}:                {17750, 15},
	{Group: "authentication.k8s.io", Version: "v1"}:        {17700, 15},
	{Group: "authorization.k8s.io", Version: "v1"}:         {17600, 15},
	{Group: "autoscaling", Version: "v2"}:                  {17500, 30},
	{Group: "autoscaling", Version: "v1"}:                  {17500, 15},
	{Group: "batch", Version: "v1"}:                        {17400, 15},
	{Group: "certificates.k8s.io", Version: "v1"}:          {17300, 15},
	{Group: "networking.k8s.io", Version: "v1"}:            {17200, 15},
	{Group: "policy", Version: "v1"}:                       {17100, 15},
	{Group: "rbac.authorization.k8s.io", Version: "v1"}:    {17000, 15},
	{Group: "storage.k8s.io", Version: "v1"}:               {16800, 15},
	{Group: "apiextensions.k8s.io", Version: "v1"}:         {16700, 15},
	{Group: "admissionregistration.k8s.io", Version: "v1"}: {16700, 15},
	{Group: "scheduling.k8s.io", Version: "v1"}:            {16600, 15},
	{Group: "coordination.k8s.io", Version: "v1"}:          {16500, 15},
	{Group: "node.k8s.io", Version: "v1"}:                  {16300, 15},
	{Group: "discovery.k8s.io", Version: "v1"}:             {16200, 15},
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}: {16100, 21},
	{Group: "resource.k8s.io", Version: "v1"}:              {15900, 15},
	{Group: "storagemigration.k8s.io", Version: "v1"}:      {15800, 15},
	// Served in-process; metrics-server's APIService has these priorities.
	{Group: "metrics.k8s.io", Version: "v1beta1"}: {100, 100},
}

// newAggregator puts kube-aggregator in front of delegate and keeps an
// APIService for every built-in group version and every CRD version.
func newAggregator(c *aggregatorapiserver.Config, delegate *genericapiserver.GenericAPIServer, crds apiextensionsinformers.CustomResourceDefinitionInformer) (*aggregatorapiserver.APIAggregator, error) {
	agg, err := c.Complete().NewWithDelegate(delegate)
	if err != nil {
		return nil, fmt.Errorf("create kube-aggregator: %w", err)
	}
	client, err := apiregistrationclient.NewForConfig(c.GenericConfig.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("create apiregistration client: %w", err)
	}
	autoReg := autoregister.NewAutoRegisterController(agg.APIRegistrationInformers.Apiregistration().V1().APIServices(), client)
	for _, path := range delegate.ListedPaths() {
		gv, ok := listedGroupVersion(path)
		if !ok {
			continue
		}
		p, ok := builtinPriorities[gv]
		if !ok {
			klog.Background().V(1).Info("No discovery priority for group version; not registering an APIService", "groupVersion", gv)
			continue
		}
		autoReg.AddAPIServiceToSyncOnStart(localAPIService(gv, p))
		if c.GenericConfig.AggregatedDiscoveryGroupManager != nil {
			c.GenericConfig.AggregatedDiscoveryGroupManager.SetGroupVersionPriority(metav1.GroupVersion(gv), int(p.group), int(p.version))
		}
	}
	crdReg := newCRDRegistration(crds, autoReg)
	err = agg.GenericAPIServer.AddPostStartHook("kube-apiserver-autoregistration", func(hc genericapiserver.PostStartHookContext) error {
		go func() {
			// Register the CRDs' group versions before the first sync, so
			// that it does not delete their APIServices.
			if !cache.WaitForCacheSync(hc.Done(), crds.Informer().HasSynced) {
				return
			}
			crdReg.sync()
			autoReg.Run(5, hc.Done())
		}()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return agg, nil
}

// listedGroupVersion parses "/api/v1" and "/apis/<group>/<version>".
func listedGroupVersion(path string) (schema.GroupVersion, bool) {
	if path == "/api/v1" {
		return schema.GroupVersion{Version: "v1"}, true
	}
	parts := strings.Split(path, "/")
	if len(parts) != 4 || parts[1] != "apis" {
		return schema.GroupVersion{}, false
	}
	return schema.GroupVersion{Group: parts[2], Version: parts[3]}, true
}

func localAPIService(gv schema.GroupVersion, p apiServicePriority) *apiregistrationv1.APIService {
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: gv.Version + "." + gv.Group},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: gv.Group, Version: gv.Version,
			GroupPriorityMinimum: p.group, VersionPriority: p.version,
		},
	}
}

// crdRegistration keeps one local APIService per served CRD group version,
// as upstream's crdregistration controller does.
type crdRegistration struct {
	crds    apiextensionsinformers.CustomResourceDefinitionInformer
	autoReg interface {
		AddAPIServiceToSync(*apiregistrationv1.APIService)
		RemoveAPIServiceToSync(string)
	}
	mu         sync.Mutex
	registered sets.Set[schema.GroupVersion]
}

func newCRDRegistration(crds apiextensionsinformers.CustomResourceDefinitionInformer, autoReg autoregister.AutoAPIServiceRegistration) *crdRegistration {
	r := &crdRegistration{crds: crds, autoReg: autoReg, registered: sets.New[schema.GroupVersion]()}
	sync := func(any) { r.sync() }
	_, _ = crds.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    sync,
		UpdateFunc: func(_, obj any) { r.sync() },
		DeleteFunc: sync,
	})
	return r
}

// sync registers the group versions every CRD serves and removes those no
// CRD serves any more.
func (r *crdRegistration) sync() {
	if !r.crds.Informer().HasSynced() {
		return
	}
	all, err := r.crds.Lister().List(labels.Everything())
	if err != nil {
		klog.Background().Error(err, "Listing CRDs for APIService registration failed")
		return
	}
	want := sets.New[schema.GroupVersion]()
	for _, crd := range all {
		for _, v := range crd.Spec.Versions {
			if v.Served {
				want.Insert(schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name})
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for gv := range want {
		// CRDs get a low group priority; versions sort kube-like within it.
		r.autoReg.AddAPIServiceToSync(localAPIService(gv, apiServicePriority{group: 1000, version: 100}))
	}
	for gv := range r.registered.Difference(want) {
		r.autoReg.RemoveAPIServiceToSync(gv.Version + "." + gv.Group)
	}
	r.registered = want
}
