// Package componentstatus serves the legacy, read-only componentstatuses
// resource as kube-apiserver does: every GET or LIST probes the control
// plane now — each etcd server of the storage, and the controller manager
// and scheduler health endpoints on their default local secure ports —
// and reports one Healthy condition each.
package componentstatus

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
)

const probeTimeout = 20 * time.Second

// Default local secure ports of kube-controller-manager and kube-scheduler.
const (
	controllerManagerPort = 10257
	schedulerPort         = 10259
)

// check probes one component: its condition status, message and error.
type check func(ctx context.Context) (corev1.ConditionStatus, string, string)

// REST serves componentstatuses.
type REST struct {
	rest.TableConvertor
	checks map[string]check
}

var (
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// New probes the etcd servers of storage and the local controller manager
// and scheduler.
func New(storage storagebackend.Config, tables rest.TableConvertor) *REST {
	insecure := &http.Client{Timeout: probeTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	checks := map[string]check{
		"controller-manager": httpCheck(insecure, fmt.Sprintf("https://127.0.0.1:%d/healthz", controllerManagerPort)),
		"scheduler":          httpCheck(insecure, fmt.Sprintf("https://127.0.0.1:%d/healthz", schedulerPort)),
	}
	for i, server := range storage.Transport.ServerList {
		cfg := storage
		cfg.Transport.ServerList = []string{server}
		checks[fmt.Sprintf("etcd-%d", i)] = etcdCheck(cfg)
	}
	if tables == nil {
		tables = rest.NewDefaultTableConvertor(corev1.Resource("componentstatuses"))
	}
	return &REST{TableConvertor: tables, checks: checks}
}

func httpCheck(client *http.Client, url string) check {
	return func(ctx context.Context) (corev1.ConditionStatus, string, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return corev1.ConditionUnknown, "", fmt.Sprintf("failed to construct probe request: %v", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return corev1.ConditionFalse, err.Error(), ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 10*1024))
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return corev1.ConditionFalse, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), ""
		}
		return corev1.ConditionTrue, string(body), ""
	}
}

func etcdCheck(cfg storagebackend.Config) check {
	return func(ctx context.Context) (corev1.ConditionStatus, string, string) {
		prober, err := factory.CreateProber(cfg)
		if err != nil {
			return corev1.ConditionFalse, "", err.Error()
		}
		defer prober.Close()
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		if err := prober.Probe(ctx); err != nil {
			return corev1.ConditionFalse, "", err.Error()
		}
		return corev1.ConditionTrue, "ok", ""
	}
}

// New implements rest.Storage.
func (r *REST) New() runtime.Object { return &corev1.ComponentStatus{} }

// NewList implements rest.Lister.
func (r *REST) NewList() runtime.Object { return &corev1.ComponentStatusList{} }

// Destroy implements rest.Storage.
func (r *REST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *REST) NamespaceScoped() bool { return false }

// ShortNames implements rest.ShortNamesProvider.
func (r *REST) ShortNames() []string { return []string{"cs"} }

// GetSingularName implements rest.SingularNameProvider.
func (r *REST) GetSingularName() string { return "componentstatus" }

// Get implements rest.Getter.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	c, ok := r.checks[name]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("componentstatus"), name)
	}
	return status(ctx, name, c), nil
}

// List implements rest.Lister, probing every component in parallel; label
// and field selectors apply to the names.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	label, field := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		label = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		field = options.FieldSelector
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = &corev1.ComponentStatusList{}
	)
	for name, c := range r.checks {
		if !field.Matches(fields.Set{"metadata.name": name}) || !label.Matches(labels.Set{}) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := status(ctx, name, c)
			mu.Lock()
			out.Items = append(out.Items, *s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out, nil
}

func status(ctx context.Context, name string, c check) *corev1.ComponentStatus {
	st, msg, errMsg := c(ctx)
	return &corev1.ComponentStatus{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Conditions: []corev1.ComponentCondition{{Type: corev1.ComponentHealthy, Status: st, Message: msg, Error: errMsg}},
	}
}
