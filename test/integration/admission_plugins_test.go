package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// plainPod is a pod with no resources, so only admission gives it any.
func plainPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36"}}},
	}
}

// wantForbidden fails unless err is a 403 whose message contains want.
func wantForbidden(t *testing.T, err error, want string) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("error = %v, want Forbidden", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q, want it to contain %q", err.Error(), want)
	}
}

func TestAdmissionLimitRanger(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	c := server.Client()
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "limits"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Default:        corev1.ResourceList{"cpu": mustQuantity("200m"), "memory": mustQuantity("128Mi")},
			DefaultRequest: corev1.ResourceList{"cpu": mustQuantity("100m")},
			Max:            corev1.ResourceList{"cpu": mustQuantity("500m")},
		}}},
	}
	if _, err := c.CoreV1().LimitRanges(ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	pod, err := c.CoreV1().Pods(ns).Create(ctx, plainPod("defaulted"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := pod.Spec.Containers[0].Resources
	if got := res.Limits.Cpu().String(); got != "200m" {
		t.Errorf("limits.cpu = %s, want 200m", got)
	}
	if got := res.Limits.Memory().String(); got != "128Mi" {
		t.Errorf("limits.memory = %s, want 128Mi", got)
	}
	if got := res.Requests.Cpu().String(); got != "100m" {
		t.Errorf("requests.cpu = %s, want 100m", got)
	}
	// LimitRange defaulting makes defaultRequest default to default, so
	// memory is requested too.
	wantNote := "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"
	if got := pod.Annotations["kubernetes.io/limit-ranger"]; got != wantNote {
		t.Errorf("annotation = %q, want %q", got, wantNote)
	}

	big := plainPod("too-big")
	big.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"cpu": mustQuantity("1")}
	_, err = c.CoreV1().Pods(ns).Create(ctx, big, metav1.CreateOptions{})
	wantForbidden(t, err, "maximum cpu usage per Container is 500m, but limit is 1")
}

func TestAdmissionResourceQuota(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	c := server.Client()
	// An object that exists before the quota is counted when the quota's
	// usage is first established.
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"pods":               mustQuantity("2"),
			"requests.cpu":       mustQuantity("1"),
			"count/configmaps":   mustQuantity("2"),
			"services.nodeports": mustQuantity("1"),
		}},
	}
	if _, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"a", "b"} {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, newPod(name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
	}
	_, err := c.CoreV1().Pods(ns).Create(ctx, newPod("c"), metav1.CreateOptions{})
	wantForbidden(t, err, "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2")

	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("second configmap: %v", err)
	}
	_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "third"}}, metav1.CreateOptions{})
	wantForbidden(t, err, "exceeded quota: q, requested: count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2")

	svc := newService("np", corev1.ServiceTypeNodePort)
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "second", Port: 81})
	_, err = c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	wantForbidden(t, err, "exceeded quota: q, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1")

	got, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[corev1.ResourceName]string{"pods": "2", "requests.cpu": "200m", "count/configmaps": "2", "services.nodeports": "0"}
	for name, v := range want {
		if q := got.Status.Used[name]; q.String() != v {
			t.Errorf("status.used[%s] = %s, want %s", name, q.String(), v)
		}
	}
	if !got.Status.Hard.Pods().Equal(mustQuantity("2")) {
		t.Errorf("status.hard = %v, want spec.hard", got.Status.Hard)
	}
}

func TestAdmissionResourceQuotaScopes(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	c := server.Client()
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "best-effort"},
		Spec: corev1.ResourceQuotaSpec{
			Hard:   corev1.ResourceList{"pods": mustQuantity("1")},
			Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort},
		},
	}
	if _, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods with resources are outside the BestEffort scope.
	for _, name := range []string{"burst-1", "burst-2"} {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, newPod(name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, plainPod("be-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CoreV1().Pods(ns).Create(ctx, plainPod("be-2"), metav1.CreateOptions{})
	wantForbidden(t, err, "exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1")
}

func TestAdmissionPriority(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	c := server.Client()

	pod := plainPod("critical")
	pod.Spec.PriorityClassName = "system-cluster-critical"
	got, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Priority == nil || *got.Spec.Priority != 2000000000 {
		t.Errorf("priority = %v, want 2000000000", got.Spec.Priority)
	}
	if got.Spec.PreemptionPolicy == nil || *got.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("preemptionPolicy = %v, want PreemptLowerPriority", got.Spec.PreemptionPolicy)
	}

	never := corev1.PreemptNever
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-low-"}, Value: 10, PreemptionPolicy: &never}
	pc, err = c.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.SchedulingV1().PriorityClasses().Delete(context.Background(), pc.Name, metav1.DeleteOptions{})
	})
	low := plainPod("low")
	low.Spec.PriorityClassName = pc.Name
	got, err = c.CoreV1().Pods(ns).Create(ctx, low, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Priority != 10 || *got.Spec.PreemptionPolicy != corev1.PreemptNever {
		t.Errorf("priority, policy = %d, %s, want 10, Never", *got.Spec.Priority, *got.Spec.PreemptionPolicy)
	}

	plain, err := c.CoreV1().Pods(ns).Create(ctx, plainPod("plain"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Spec.Priority == nil || *plain.Spec.Priority != 0 {
		t.Errorf("priority without class = %v, want 0", plain.Spec.Priority)
	}

	missing := plainPod("missing")
	missing.Spec.PriorityClassName = "x"
	_, err = c.CoreV1().Pods(ns).Create(ctx, missing, metav1.CreateOptions{})
	wantForbidden(t, err, "no PriorityClass with name x was found")
}

func TestAdmissionRuntimeClass(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	c := server.Client()
	rc := &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-rc-"},
		Handler:    "runc",
		Overhead:   &nodev1.Overhead{PodFixed: corev1.ResourceList{"cpu": mustQuantity("50m")}},
		Scheduling: &nodev1.Scheduling{
			NodeSelector: map[string]string{"sandbox": "runc"},
			Tolerations:  []corev1.Toleration{{Key: "sandbox", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		},
	}
	rc, err := c.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.NodeV1().RuntimeClasses().Delete(context.Background(), rc.Name, metav1.DeleteOptions{}) })

	pod := plainPod("sandboxed")
	pod.Spec.RuntimeClassName = &rc.Name
	got, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Overhead.Cpu().String() != "50m" {
		t.Errorf("overhead = %v, want cpu 50m", got.Spec.Overhead)
	}
	if got.Spec.NodeSelector["sandbox"] != "runc" {
		t.Errorf("nodeSelector = %v, want sandbox=runc", got.Spec.NodeSelector)
	}
	found := false
	for _, tol := range got.Spec.Tolerations {
		found = found || tol.Key == "sandbox"
	}
	if !found {
		t.Errorf("tolerations = %v, want the RuntimeClass's", got.Spec.Tolerations)
	}

	missing := plainPod("missing")
	missing.Spec.RuntimeClassName = ptr.To("nope")
	_, err = c.CoreV1().Pods(ns).Create(ctx, missing, metav1.CreateOptions{})
	wantForbidden(t, err, `pod rejected: RuntimeClass "nope" not found`)
}

func TestAdmissionDefaultTolerationSeconds(t *testing.T) {
	ns := newPodNamespace(t)
	got, err := server.Client().CoreV1().Pods(ns).Create(context.Background(), plainPod("tolerant"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{corev1.TaintNodeNotReady: false, corev1.TaintNodeUnreachable: false}
	for _, tol := range got.Spec.Tolerations {
		if _, ok := want[tol.Key]; ok && tol.Effect == corev1.TaintEffectNoExecute && tol.Operator == corev1.TolerationOpExists &&
			tol.TolerationSeconds != nil && *tol.TolerationSeconds == 300 {
			want[tol.Key] = true
		}
	}
	for key, ok := range want {
		if !ok {
			t.Errorf("no %s:NoExecute toleration for 300s in %v", key, got.Spec.Tolerations)
		}
	}
}

func TestAdmissionTaintNodesByCondition(t *testing.T) {
	ctx := context.Background()
	c := server.Client()
	node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-node-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{}) })
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != corev1.TaintNodeNotReady || node.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Fatalf("taints = %v, want node.kubernetes.io/not-ready:NoSchedule", node.Spec.Taints)
	}
}

func TestAdmissionStorageDefaultsAndProtection(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	c := server.Client()
	sc := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{GenerateName: "it-default-", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "example.com/none",
	}
	sc, err := c.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.StorageV1().StorageClasses().Delete(context.Background(), sc.Name, metav1.DeleteOptions{})
	})

	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": mustQuantity("1Gi")}},
		},
	}
	// The informer may not have seen the new class yet: retry with fresh
	// claims until one is defaulted.
	var got *corev1.PersistentVolumeClaim
	attempt := 0
	poll(t, func() bool {
		attempt++
		claim := pvc.DeepCopy()
		claim.Name = fmt.Sprintf("data-%d", attempt)
		created, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unprotect(c, "persistentvolumeclaims", ns, created.Name) })
		got = created
		return got.Spec.StorageClassName != nil && *got.Spec.StorageClassName == sc.Name
	})
	if !contains(strings.Join(got.Finalizers, ","), "kubernetes.io/pvc-protection") {
		t.Errorf("claim finalizers = %v, want kubernetes.io/pvc-protection", got.Finalizers)
	}

	explicit := pvc.DeepCopy()
	explicit.Name = "explicit"
	explicit.Spec.StorageClassName = ptr.To("")
	got, err = c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, explicit, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unprotect(c, "persistentvolumeclaims", ns, "explicit") })
	if *got.Spec.StorageClassName != "" {
		t.Errorf("explicit empty class became %q", *got.Spec.StorageClassName)
	}

	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-pv-"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{"storage": mustQuantity("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/it-pv"}},
		},
	}
	pv, err = c.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unprotect(c, "persistentvolumes", "", pv.Name) })
	if !contains(strings.Join(pv.Finalizers, ","), "kubernetes.io/pv-protection") {
		t.Errorf("volume finalizers = %v, want kubernetes.io/pv-protection", pv.Finalizers)
	}
}

// unprotect drops the protection finalizers (no protection controller
// runs here) and deletes the object.
func unprotect(c kubernetes.Interface, resource, ns, name string) {
	ctx := context.Background()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if resource == "persistentvolumes" {
		_, _ = c.CoreV1().PersistentVolumes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		_ = c.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{})
		return
	}
	_, _ = c.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	_ = c.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, name, metav1.DeleteOptions{})
}

// warnings collects the warnings a client receives.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

func TestAdmissionPodSecurity(t *testing.T) {
	ctx := context.Background()
	c := server.Client()
	labelled := func(labels map[string]string) string {
		ns := newPodNamespace(t)
		patch := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}
		cur, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range patch.Labels {
			cur.Labels[k] = v
		}
		if _, err := c.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return ns
	}
	privileged := func(name string) *corev1.Pod {
		p := plainPod(name)
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		return p
	}

	enforced := labelled(map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	_, err := c.CoreV1().Pods(enforced).Create(ctx, privileged("denied"), metav1.CreateOptions{})
	wantForbidden(t, err, `violates PodSecurity "restricted:latest": privileged (container "app" must not set securityContext.privileged=true)`)

	warned := labelled(map[string]string{"pod-security.kubernetes.io/warn": "restricted"})
	w := &warnings{}
	cfg := rest.CopyConfig(server.Config)
	cfg.WarningHandler = w
	wc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.CoreV1().Pods(warned).Create(ctx, privileged("warned"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("warn-only namespace refused the pod: %v", err)
	}
	if !contains(w.all(), `would violate PodSecurity "restricted:latest"`) {
		t.Errorf("warnings = %q, want a PodSecurity restricted warning", w.all())
	}

	// Without labels a namespace is privileged.
	open := newPodNamespace(t)
	if _, err := c.CoreV1().Pods(open).Create(ctx, privileged("allowed"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("unlabelled namespace refused a privileged pod: %v", err)
	}

	// Labelling a namespace with pods that violate the level warns. The
	// plugin finds the pods in its informer cache, which may not have the
	// new pod yet: until it warns, take the label off and put it on again.
	w2 := &warnings{}
	cfg2 := rest.CopyConfig(server.Config)
	cfg2.WarningHandler = w2
	wc2, err := kubernetes.NewForConfig(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	want := `existing pods in namespace "` + open + `" violate the new PodSecurity enforce level "baseline:latest"`
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, level := range []string{"", "baseline"} {
			cur, err := wc2.CoreV1().Namespaces().Get(ctx, open, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if level == "" {
				delete(cur.Labels, "pod-security.kubernetes.io/enforce")
			} else {
				cur.Labels["pod-security.kubernetes.io/enforce"] = level
			}
			if _, err := wc2.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				return false, err
			}
		}
		return contains(w2.all(), want), nil
	})
	if err != nil {
		t.Errorf("warnings = %q, want the existing-pods warning (%v)", w2.all(), err)
	}
}
