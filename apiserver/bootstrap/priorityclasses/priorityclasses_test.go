package priorityclasses

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
	"github.com/skiff-dev/skiff/apiserver/validation/scheduling"
)

var priorityClassesResource = schema.GroupResource{Group: schedulingv1.GroupName, Resource: "priorityclasses"}

func TestObjects(t *testing.T) {
	want := map[string]int32{"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
	objs := Objects()
	if len(objs) != len(want) {
		t.Fatalf("Objects() has %d classes, want %d", len(objs), len(want))
	}
	for _, pc := range objs {
		value, ok := want[pc.Name]
		if !ok {
			t.Errorf("unexpected class %q", pc.Name)
			continue
		}
		if pc.Value != value || pc.GlobalDefault || pc.Description == "" {
			t.Errorf("class %q: value %d, globalDefault %v, description %q; want value %d, not default, a description",
				pc.Name, pc.Value, pc.GlobalDefault, pc.Description, value)
		}
		defaulted := pc.DeepCopy()
		defaulted.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
		vt.Expect(t, scheduling.ValidatePriorityClass(defaulted))
	}
	objs[0].Value = 1
	if Objects()[0].Value == 1 {
		t.Error("Objects() shares its values between calls")
	}
}

func TestEnsureCreatesMissing(t *testing.T) {
	existing := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical"}, Value: 2000001000, Description: "kept"}
	client := fake.NewClientset(existing)
	ctx := context.Background()
	for pass := 0; pass < 2; pass++ { // the second pass finds everything present
		if err := Ensure(ctx, client); err != nil {
			t.Fatalf("pass %d: Ensure: %v", pass, err)
		}
	}
	list, err := client.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]schedulingv1.PriorityClass{}
	for _, pc := range list.Items {
		got[pc.Name] = pc
	}
	if len(got) != 2 {
		t.Fatalf("have %d classes, want 2: %v", len(got), got)
	}
	if got["system-node-critical"].Description != "kept" {
		t.Error("Ensure replaced an existing class")
	}
	if got["system-cluster-critical"].Value != 2000000000 {
		t.Errorf("system-cluster-critical value = %d", got["system-cluster-critical"].Value)
	}
	creates := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("Ensure made %d creates over two passes, want 1", creates)
	}
}

func TestEnsureRetriesUntilWritesAreAccepted(t *testing.T) {
	client := fake.NewClientset()
	var refusals atomic.Int32
	client.PrependReactor("create", "priorityclasses", func(clienttesting.Action) (bool, runtime.Object, error) {
		if refusals.Add(1) <= 2 {
			return true, nil, apierrors.NewServiceUnavailable("storage is initializing")
		}
		return false, nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	list, err := client.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Errorf("have %d classes after retries, want 2", len(list.Items))
	}
}

func TestEnsureStopsWithContext(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("get", "priorityclasses", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd down"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := Ensure(ctx, client)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ensure = %v, want a context deadline error", err)
	}
}

func TestEnsureReturnsPermanentErrors(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "priorityclasses", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(priorityClassesResource, "system-node-critical", errors.New("no"))
	})
	err := Ensure(context.Background(), client)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("Ensure = %v, want the Forbidden error", err)
	}
}
