package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
)

// TestEveryBuiltinGroupIsServed checks discovery lists each GA resource
// kube-apiserver 1.37 serves by default, with its subresources.
func TestEveryBuiltinGroupIsServed(t *testing.T) {
	dc := discovery.NewDiscoveryClientForConfigOrDie(server.Config)
	want := map[string][]string{
		"v1": {"bindings", "componentstatuses", "configmaps", "endpoints", "events", "limitranges",
			"namespaces", "namespaces/finalize", "namespaces/status", "nodes", "nodes/proxy", "nodes/status",
			"persistentvolumeclaims", "persistentvolumeclaims/status", "persistentvolumes", "persistentvolumes/status",
			"pods", "pods/attach", "pods/binding", "pods/ephemeralcontainers", "pods/eviction", "pods/exec", "pods/log",
			"pods/portforward", "pods/proxy", "pods/resize", "pods/status", "podtemplates",
			"replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
			"resourcequotas", "resourcequotas/status", "secrets", "serviceaccounts", "serviceaccounts/token",
			"services", "services/proxy", "services/status"},
		"apps/v1":                         {"deployments", "deployments/status", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale", "daemonsets", "daemonsets/status", "controllerrevisions"},
		"batch/v1":                        {"jobs", "jobs/status", "cronjobs", "cronjobs/status"},
		"autoscaling/v2":                  {"horizontalpodautoscalers", "horizontalpodautoscalers/status"},
		"autoscaling/v1":                  {"horizontalpodautoscalers", "horizontalpodautoscalers/status"},
		"policy/v1":                       {"poddisruptionbudgets", "poddisruptionbudgets/status"},
		"discovery.k8s.io/v1":             {"endpointslices"},
		"networking.k8s.io/v1":            {"ingresses", "ingresses/status", "ingressclasses", "networkpolicies", "servicecidrs", "servicecidrs/status", "ipaddresses"},
		"storage.k8s.io/v1":               {"storageclasses", "csidrivers", "csinodes", "csistoragecapacities", "volumeattachments", "volumeattachments/status", "volumeattributesclasses"},
		"scheduling.k8s.io/v1":            {"priorityclasses"},
		"node.k8s.io/v1":                  {"runtimeclasses"},
		"certificates.k8s.io/v1":          {"certificatesigningrequests", "certificatesigningrequests/status", "certificatesigningrequests/approval", "clustertrustbundles", "podcertificaterequests", "podcertificaterequests/status"},
		"flowcontrol.apiserver.k8s.io/v1": {"flowschemas", "flowschemas/status", "prioritylevelconfigurations", "prioritylevelconfigurations/status"},
		"resource.k8s.io/v1":              {"deviceclasses", "devicetaintrules", "devicetaintrules/status", "resourceclaims", "resourceclaims/status", "resourceclaimtemplates", "resourceslices"},
		"events.k8s.io/v1":                {"events"},
		"storagemigration.k8s.io/v1":      {"storageversionmigrations", "storageversionmigrations/status"},
	}
	for gv, resources := range want {
		list, err := dc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			t.Errorf("discovery of %s: %v", gv, err)
			continue
		}
		var got []string
		for _, r := range list.APIResources {
			got = append(got, r.Name)
		}
		for _, r := range resources {
			if !slices.Contains(got, r) {
				t.Errorf("%s does not list %s (lists %v)", gv, r, got)
			}
		}
	}
}

func TestDeploymentScaleSubresource(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	deployments := server.Client().AppsV1().Deployments(ns)
	labels := map[string]string{"app": "web"}
	d, err := deployments.Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	if d.Generation != 1 {
		t.Errorf("generation after create = %d, want 1", d.Generation)
	}
	scale, err := deployments.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if scale.Spec.Replicas != 2 || scale.Status.Selector != "app=web" {
		t.Fatalf("scale = %+v, want 2 replicas and selector app=web", scale)
	}
	staleRV := scale.ResourceVersion
	scale.Spec.Replicas = 5
	if _, err := deployments.UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	d, err = deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 5 || d.Generation != 2 {
		t.Errorf("after scaling: replicas %d generation %d, want 5 and 2", *d.Spec.Replicas, d.Generation)
	}
	scale.Spec.Replicas = -1
	scale.ResourceVersion = ""
	_, err = deployments.UpdateScale(ctx, "web", scale, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("negative scale: err = %v, want Invalid", err)
	}
	// A stale resourceVersion in the Scale conflicts.
	stale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, ResourceVersion: staleRV}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}
	if _, err := deployments.UpdateScale(ctx, "web", stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale scale update: err = %v, want Conflict", err)
	}
}

// TestEventsCohabit checks that an Event written through events.k8s.io/v1
// is the same object core/v1 reads, each API in its own shape.
func TestEventsCohabit(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	client := server.Client()
	_, err := client.EventsV1().Events(ns).Create(ctx, &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "started"},
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: "skiff.dev/test",
		ReportingInstance:   "test-1",
		Action:              "Start",
		Reason:              "Started",
		Note:                "container started",
		Type:                corev1.EventTypeNormal,
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create events.k8s.io event: %v", err)
	}
	core, err := client.CoreV1().Events(ns).Get(ctx, "started", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read it through core/v1: %v", err)
	}
	if core.Message != "container started" || core.InvolvedObject.Name != "p" || core.ReportingController != "skiff.dev/test" {
		t.Errorf("core/v1 view = %+v", core)
	}
	list, err := client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=p,reportingController=skiff.dev/test"})
	if err != nil {
		t.Fatalf("list with events.k8s.io field selector: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Note != "container started" {
		t.Errorf("field-selected list = %+v, want the one event", list.Items)
	}
	// events.k8s.io/v1 requires the fields new-style events carry.
	_, err = client.EventsV1().Events(ns).Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("incomplete event: err = %v, want Invalid", err)
	}
}

// TestComponentStatuses checks the legacy componentstatuses probe etcd
// now, and report the controller manager and scheduler (not running here)
// as unhealthy.
func TestComponentStatuses(t *testing.T) {
	ctx := context.Background()
	cs := server.Client().CoreV1().ComponentStatuses()
	etcd, err := cs.Get(ctx, "etcd-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get etcd-0: %v", err)
	}
	if c := etcd.Conditions; len(c) != 1 || c[0].Type != corev1.ComponentHealthy || c[0].Status != corev1.ConditionTrue || c[0].Message != "ok" {
		t.Errorf("etcd-0 conditions = %+v, want Healthy True ok", c)
	}
	list, err := cs.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	got := map[string]corev1.ConditionStatus{}
	for _, s := range list.Items {
		got[s.Name] = s.Conditions[0].Status
	}
	if got["scheduler"] != corev1.ConditionFalse || got["controller-manager"] != corev1.ConditionFalse || got["etcd-0"] != corev1.ConditionTrue {
		t.Errorf("statuses = %v", got)
	}
	if _, err := cs.Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unknown component: err = %v, want NotFound", err)
	}
}
