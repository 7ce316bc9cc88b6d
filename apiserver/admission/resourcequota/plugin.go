package resourcequota

import (
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	upstream "k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota/validation"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = upstream.PluginName

var quotasResource = schema.GroupResource{Resource: "resourcequotas"}

// evaluatorWorkers is how many goroutines evaluate quota, as kube-apiserver.
const evaluatorWorkers = 5

// Register adds the ResourceQuota plugin to plugins. Its optional
// configuration file is upstream's ResourceQuotaConfiguration (limited
// resources).
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(config io.Reader) (admission.Interface, error) {
		cfg, err := upstream.LoadConfiguration(config)
		if err != nil {
			return nil, fmt.Errorf("load %s configuration: %w", PluginName, err)
		}
		if cfg != nil {
			if errs := validation.ValidateConfiguration(cfg); len(errs) != 0 {
				return nil, errs.ToAggregate()
			}
		}
		inner, err := upstream.NewResourceQuota(cfg, evaluatorWorkers)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", PluginName, err)
		}
		p := &Plugin{QuotaAdmission: inner}
		p.configuration = NewConfiguration(p.listLive)
		p.registry = generic.NewRegistry(p.configuration.Evaluators())
		return p, nil
	})
}

// Plugin is upstream's quota admission (usage check against status.hard,
// status.used updated through the loopback client with optimistic
// concurrency) with Skiff's quota configuration, plus what the quota
// controller would otherwise do first: a quota whose status does not yet
// reflect its spec gets status.hard from spec.hard and status.used counted
// from the namespace's objects before the request is evaluated.
type Plugin struct {
	*upstream.QuotaAdmission
	configuration quota.Configuration
	registry      quota.Registry

	client     kubernetes.Interface
	dynamic    dynamic.Interface
	restMapper meta.RESTMapper
	lister     corev1listers.ResourceQuotaLister
}

var (
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ initializer.WantsDynamicClient               = (*Plugin)(nil)
	_ initializer.WantsRESTMapper                  = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// SetDrainedNotification passes stopCh to the upstream plugin, then hands it
// Skiff's quota configuration, which it needs stopCh for.
func (p *Plugin) SetDrainedNotification(stopCh <-chan struct{}) {
	p.QuotaAdmission.SetDrainedNotification(stopCh)
	p.QuotaAdmission.SetQuotaConfiguration(p.configuration)
}

// SetExternalKubeClientSet sets the loopback client for both halves.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) {
	p.client = c
	p.QuotaAdmission.SetExternalKubeClientSet(c)
}

// SetExternalKubeInformerFactory sets the quota lister for both halves.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	p.lister = f.Core().V1().ResourceQuotas().Lister()
	p.QuotaAdmission.SetExternalKubeInformerFactory(f)
}

// SetDynamicClient sets the client that counts resources outside core/v1.
func (p *Plugin) SetDynamicClient(d dynamic.Interface) { p.dynamic = d }

// SetRESTMapper sets the mapper that finds the version to count a
// count/<resource>.<group> quota resource in.
func (p *Plugin) SetRESTMapper(m meta.RESTMapper) { p.restMapper = m }

// Validate brings the namespace's quotas' status up to their spec, then
// lets the upstream evaluator check and charge the request.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	// Requests on quotas themselves (among them this plugin's own status
	// writes) never trigger initialization.
	if ns := a.GetNamespace(); ns != "" && a.GetResource().GroupResource() != quotasResource && p.lister != nil && p.client != nil {
		if err := p.syncStatus(ctx, ns); err != nil {
			return admission.NewForbidden(a, fmt.Errorf("unable to initialize resource quota status: %w", err))
		}
	}
	return p.QuotaAdmission.Validate(ctx, a, o)
}
