package resourcequota

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/klog/v2"
)

// listerCatchUp bounds the wait for the quota informer to see a status
// this plugin wrote, so the upstream evaluator charges against it.
const listerCatchUp = 5 * time.Second

// needsStatus reports a quota whose status.hard differs from spec.hard or
// lacks usage for a hard resource.
func needsStatus(q *corev1.ResourceQuota) bool {
	if !quota.Equals(q.Spec.Hard, q.Status.Hard) {
		return true
	}
	for name := range q.Spec.Hard {
		if _, ok := q.Status.Used[name]; !ok {
			return true
		}
	}
	return false
}

// syncStatus initializes the status of every quota of namespace that needs
// it, as the quota controller would: status.hard = spec.hard, status.used
// counted from the stored objects (usage of resources whose hard value is
// unchanged is kept, since admission has been charging it).
func (p *Plugin) syncStatus(ctx context.Context, namespace string) error {
	quotas, err := p.lister.ResourceQuotas(namespace).List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list resource quotas: %w", err)
	}
	for _, q := range quotas {
		if !needsStatus(q) {
			continue
		}
		if err := p.initStatus(ctx, q); err != nil {
			return fmt.Errorf("resource quota %s: %w", q.Name, err)
		}
	}
	return nil
}

func (p *Plugin) initStatus(ctx context.Context, cached *corev1.ResourceQuota) error {
	q, err := p.client.CoreV1().ResourceQuotas(cached.Namespace).Get(ctx, cached.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if needsStatus(q) {
		used, err := p.measure(ctx, q)
		if err != nil {
			return err
		}
		q = q.DeepCopy()
		q.Status.Hard = q.Spec.Hard.DeepCopy()
		q.Status.Used = used
		updated, err := p.client.CoreV1().ResourceQuotas(q.Namespace).UpdateStatus(ctx, q, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			// Someone else (another request) got there first; their
			// status stands and is re-checked on the next request.
			return nil
		}
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		klog.FromContext(ctx).V(1).Info("Initialized resource quota status", "namespace", q.Namespace, "resourceQuota", q.Name, "used", updated.Status.Used)
		q = updated
	}
	// Wait for the informer the upstream evaluator reads to see it.
	want := q.ResourceVersion
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, listerCatchUp, true, func(context.Context) (bool, error) {
		seen, err := p.lister.ResourceQuotas(q.Namespace).Get(q.Name)
		if err != nil {
			return false, nil
		}
		return seen.ResourceVersion == want || !needsStatus(seen), nil
	})
}

// measure returns the usage of every hard resource of q: kept from status
// where the hard value did not change, otherwise counted.
func (p *Plugin) measure(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	counted, err := quota.CalculateUsage(q.Namespace, q.Spec.Scopes, q.Spec.Hard, p.registry, q.Spec.ScopeSelector)
	if err != nil {
		return nil, fmt.Errorf("calculate usage: %w", err)
	}
	used := corev1.ResourceList{}
	for name := range q.Spec.Hard {
		if old, ok := q.Status.Used[name]; ok {
			if h, ok := q.Status.Hard[name]; ok && apiequality.Semantic.DeepEqual(h, q.Spec.Hard[name]) {
				used[name] = old
				continue
			}
		}
		if v, ok := counted[name]; ok {
			used[name] = v
			continue
		}
		n, err := p.countOther(ctx, q.Namespace, name)
		if err != nil {
			return nil, err
		}
		used[name] = *resource.NewQuantity(n, resource.DecimalSI)
	}
	return used, nil
}

// countOther counts objects for a count/<resource>[.<group>] name no
// evaluator knows, through the dynamic client; other names count zero.
func (p *Plugin) countOther(ctx context.Context, namespace string, name corev1.ResourceName) (int64, error) {
	s, ok := strings.CutPrefix(string(name), "count/")
	if !ok || p.dynamic == nil || p.restMapper == nil {
		return 0, nil
	}
	gr := schema.ParseGroupResource(s)
	gvr, err := p.restMapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return 0, nil // unknown resources have nothing stored
	}
	list, err := p.dynamic.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", gr, err)
	}
	return int64(len(list.Items)), nil
}

// listLive lists a core/v1 resource through the loopback client, for
// establishing initial usage.
func (p *Plugin) listLive(resourceName, namespace string) ([]runtime.Object, error) {
	if p.client == nil {
		return nil, nil
	}
	ctx := context.Background()
	core := p.client.CoreV1()
	var out []runtime.Object
	switch resourceName {
	case "pods":
		l, err := core.Pods(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "services":
		l, err := core.Services(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "persistentvolumeclaims":
		l, err := core.PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "configmaps":
		l, err := core.ConfigMaps(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "secrets":
		l, err := core.Secrets(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "resourcequotas":
		l, err := core.ResourceQuotas(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "replicationcontrollers":
		l, err := core.ReplicationControllers(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("no lister for %s", resourceName)
	}
	return out, nil
}
