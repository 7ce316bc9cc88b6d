package podsecurity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/component-base/compatibility"
	"k8s.io/component-base/metrics/legacyregistry"
	psaadmission "k8s.io/pod-security-admission/admission"
	psaconfig "k8s.io/pod-security-admission/admission/api/load"
	psaapi "k8s.io/pod-security-admission/api"
	psametrics "k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "PodSecurity"

// Register adds the plugin to plugins. Its optional configuration file is
// a PodSecurityConfiguration (defaults and exemptions).
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(config io.Reader) (admission.Interface, error) {
		return New(config)
	})
}

var (
	recorder     *psametrics.PrometheusRecorder
	recorderOnce sync.Once
)

// metricsRecorder registers pod security's metrics once per process.
func metricsRecorder() psametrics.Recorder {
	recorderOnce.Do(func() {
		recorder = psametrics.NewPrometheusRecorder(psaapi.GetAPIVersion())
		recorder.MustRegister(legacyregistry.MustRegister)
	})
	return recorder
}

// Plugin adapts pod-security-admission's Admission to k8s.io/apiserver.
type Plugin struct {
	*admission.Handler

	client          kubernetes.Interface
	namespaceLister corev1listers.NamespaceLister
	podLister       corev1listers.PodLister
	sawVersion      bool
	emulation       *psaapi.Version

	delegate *psaadmission.Admission
}

var (
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
	_ initializer.WantsEffectiveVersion            = (*Plugin)(nil)
)

// New returns the plugin configured from config (nil or empty for the
// defaults: privileged, latest, no exemptions).
func New(config io.Reader) (*Plugin, error) {
	cfg, err := psaconfig.LoadFromReader(config)
	if err != nil {
		return nil, fmt.Errorf("load %s configuration: %w", PluginName, err)
	}
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		delegate: &psaadmission.Admission{
			Configuration:    cfg,
			Metrics:          metricsRecorder(),
			PodSpecExtractor: psaadmission.DefaultPodSpecExtractor{},
		},
	}, nil
}

// SetExternalKubeInformerFactory takes the namespace and pod listers from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	namespaces := f.Core().V1().Namespaces()
	p.namespaceLister = namespaces.Lister()
	p.podLister = f.Core().V1().Pods().Lister()
	p.SetReadyFunc(namespaces.Informer().HasSynced)
	p.complete()
}

// SetExternalKubeClientSet sets the client for namespaces the informer has
// not seen yet.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) {
	p.client = c
	p.complete()
}

// InspectEffectiveVersion evaluates "latest" as the emulated Kubernetes
// version when the server emulates an older one.
func (p *Plugin) InspectEffectiveVersion(v compatibility.EffectiveVersion) {
	p.sawVersion = true
	bin, emu := v.BinaryVersion(), v.EmulationVersion()
	if bin.Major() != emu.Major() || bin.Minor() != emu.Minor() {
		e := psaapi.MajorMinorVersion(int(emu.Major()), int(emu.Minor()))
		p.emulation = &e
	}
	p.complete()
}

// complete builds the delegate's API access and evaluator once all inputs
// are known.
func (p *Plugin) complete() {
	if p.namespaceLister == nil || p.podLister == nil || p.client == nil || !p.sawVersion {
		return
	}
	if p.delegate.PodLister == nil {
		p.delegate.PodLister = psaadmission.PodListerFromInformer(p.podLister)
	}
	if p.delegate.NamespaceGetter == nil {
		p.delegate.NamespaceGetter = psaadmission.NamespaceGetterFromListerAndClient(p.namespaceLister, p.client)
	}
	if p.delegate.Evaluator == nil {
		ev, err := policy.NewEvaluator(policy.DefaultChecks(), p.emulation)
		if err != nil {
			// Only an inconsistent check registry can fail here.
			panic(fmt.Errorf("build pod security evaluator: %w", err))
		}
		p.delegate.Evaluator = ev
	}
}

// ValidateInitialization completes and checks the delegate's configuration.
func (p *Plugin) ValidateInitialization() error {
	if !p.sawVersion {
		return fmt.Errorf("%s did not see effective version", PluginName)
	}
	if err := p.delegate.CompleteConfiguration(); err != nil {
		return fmt.Errorf("%s configuration error: %w", PluginName, err)
	}
	if err := p.delegate.ValidateConfiguration(); err != nil {
		return fmt.Errorf("%s invalid: %w", PluginName, err)
	}
	return nil
}

var namespacesResource = schema.GroupResource{Resource: "namespaces"}

// Validate evaluates pods, pod-template resources and namespace label
// changes; warnings go to the client, audit annotations to the audit log.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	gr := a.GetResource().GroupResource()
	if gr != namespacesResource && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	result := p.delegate.Validate(ctx, attributes{a})
	for _, w := range result.Warnings {
		warning.AddWarning(ctx, "", w)
	}
	if len(result.AuditAnnotations) > 0 {
		kv := make([]string, 0, 2*len(result.AuditAnnotations))
		for k, v := range result.AuditAnnotations {
			kv = append(kv, psaapi.AuditAnnotationPrefix+k, v)
		}
		audit.AddAuditAnnotations(ctx, kv...)
	}
	if result.Allowed {
		return nil
	}
	denied := admission.NewForbidden(a, errors.New("Not allowed by PodSecurity"))
	var status *apierrors.StatusError
	if errors.As(denied, &status) && result.Result != nil {
		r := result.Result
		if r.Message != "" {
			status.ErrStatus.Message = r.Message
		}
		if r.Reason != "" {
			status.ErrStatus.Reason = r.Reason
		}
		if r.Details != nil {
			status.ErrStatus.Details = r.Details
		}
		if r.Code != 0 {
			status.ErrStatus.Code = r.Code
		}
	}
	return denied
}

// attributes presents admission.Attributes as pod security's Attributes.
// Skiff's objects are already the v1 types it expects.
type attributes struct{ admission.Attributes }

var _ psaapi.Attributes = attributes{}

func (a attributes) GetObject() (runtime.Object, error)    { return a.Attributes.GetObject(), nil }
func (a attributes) GetOldObject() (runtime.Object, error) { return a.Attributes.GetOldObject(), nil }
func (a attributes) GetOperation() admissionv1.Operation {
	return admissionv1.Operation(a.Attributes.GetOperation())
}
func (a attributes) GetUserName() string {
	if u := a.GetUserInfo(); u != nil {
		return u.GetName()
	}
	return ""
}
