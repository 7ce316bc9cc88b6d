package flowcontrol

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/validation/flowcontrol"
	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestBootstrapObjects(t *testing.T) {
	set, err := defaultedBootstrap()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, fs := range set.schemas {
		names["fs/"+fs.Name] = true
		if fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
			t.Errorf("FlowSchema %s lacks the autoupdate annotation", fs.Name)
		}
		vt.Expect(t, flowcontrol.ValidateFlowSchema(fs))
	}
	for _, pl := range set.levels {
		names["pl/"+pl.Name] = true
		vt.Expect(t, flowcontrol.ValidatePriorityLevelConfiguration(pl))
	}
	for _, want := range []string{"fs/exempt", "fs/catch-all", "fs/probes", "fs/system-leader-election", "fs/global-default",
		"pl/exempt", "pl/catch-all", "pl/system", "pl/leader-election", "pl/workload-high", "pl/workload-low", "pl/global-default", "pl/node-high"} {
		if !names[want] {
			t.Errorf("bootstrap configuration lacks %s", want)
		}
	}
	// Every schema names a bootstrap priority level.
	for _, fs := range set.schemas {
		if !names["pl/"+fs.Spec.PriorityLevelConfiguration.Name] {
			t.Errorf("FlowSchema %s references unknown level %q", fs.Name, fs.Spec.PriorityLevelConfiguration.Name)
		}
	}
	FlowSchemas()[0].Name = "changed"
	if FlowSchemas()[0].Name == "changed" {
		t.Error("FlowSchemas() shares objects between calls")
	}
}

func countWrites(client *fake.Clientset) (creates, updates int) {
	for _, a := range client.Actions() {
		switch a.GetVerb() {
		case "create":
			creates++
		case "update":
			updates++
		}
	}
	return creates, updates
}

func TestEnsureCreatesEverythingOnce(t *testing.T) {
	client := fake.NewClientset()
	ctx := context.Background()
	if err := Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	creates, updates := countWrites(client)
	if want := len(FlowSchemas()) + len(PriorityLevels()); creates != want || updates != 0 {
		t.Fatalf("first pass: %d creates, %d updates; want %d creates, none updated", creates, updates, want)
	}
	client.ClearActions()
	if err := Ensure(ctx, client); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if creates, updates := countWrites(client); creates != 0 || updates != 0 {
		t.Fatalf("second pass wrote: %d creates, %d updates", creates, updates)
	}
	// Reads: one LIST per kind, no GET per object.
	reads := map[string]int{}
	for _, a := range client.Actions() {
		reads[a.GetVerb()]++
	}
	if reads["list"] != 2 || reads["get"] != 0 {
		t.Errorf("second pass read with %d lists and %d gets, want 2 lists and no get", reads["list"], reads["get"])
	}
}

func TestEnsureReconcilesExistingObjects(t *testing.T) {
	set, err := defaultedBootstrap()
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *flowcontrolv1.FlowSchema {
		for _, fs := range set.schemas {
			if fs.Name == name {
				return fs.DeepCopy()
			}
		}
		t.Fatalf("no bootstrap schema %s", name)
		return nil
	}
	level := func(name string) *flowcontrolv1.PriorityLevelConfiguration {
		for _, pl := range set.levels {
			if pl.Name == name {
				return pl.DeepCopy()
			}
		}
		t.Fatalf("no bootstrap level %s", name)
		return nil
	}
	// A mandatory schema an administrator edited, with autoupdate off: reset anyway.
	catchAll := schema("catch-all")
	catchAll.Spec.MatchingPrecedence = 9000
	catchAll.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] = "false"
	// The exempt level with tuned shares: kept.
	exempt := level("exempt")
	exempt.Spec.Exempt.NominalConcurrencyShares = ptr.To[int32](7)
	// Suggested objects: opted out, never-edited without annotation, edited without annotation.
	optedOut := schema("probes")
	optedOut.Spec.MatchingPrecedence = 3
	optedOut.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] = "false"
	pristine := schema("global-default")
	pristine.Spec.MatchingPrecedence = 4
	pristine.Annotations = nil
	pristine.Generation = 1
	edited := level("workload-low")
	edited.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](1)
	edited.Annotations = map[string]string{flowcontrolv1.AutoUpdateAnnotationKey: "maybe"}
	edited.Generation = 3

	client := fake.NewClientset(catchAll, exempt, optedOut, pristine, edited)
	ctx := context.Background()
	if err := Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	fsClient, plClient := client.FlowcontrolV1().FlowSchemas(), client.FlowcontrolV1().PriorityLevelConfigurations()
	get := func(name string) *flowcontrolv1.FlowSchema {
		fs, err := fsClient.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	if fs := get("catch-all"); fs.Spec.MatchingPrecedence != 10000 || fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
		t.Errorf("catch-all: precedence %d, annotation %q; want reset to 10000, \"true\"", fs.Spec.MatchingPrecedence, fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey])
	}
	if fs := get("probes"); fs.Spec.MatchingPrecedence != 3 {
		t.Errorf("opted-out probes was updated: precedence %d", fs.Spec.MatchingPrecedence)
	}
	if fs := get("global-default"); fs.Spec.MatchingPrecedence == 4 || fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
		t.Errorf("pristine global-default: precedence %d, annotation %q; want updated and \"true\"", fs.Spec.MatchingPrecedence, fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey])
	}
	pl, err := plClient.Get(ctx, "exempt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *pl.Spec.Exempt.NominalConcurrencyShares != 7 {
		t.Errorf("exempt level's tuned shares were reset to %d", *pl.Spec.Exempt.NominalConcurrencyShares)
	}
	pl, err = plClient.Get(ctx, "workload-low", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *pl.Spec.Limited.NominalConcurrencyShares != 1 || pl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "false" {
		t.Errorf("edited workload-low: shares %d, annotation %q; want kept and \"false\"", *pl.Spec.Limited.NominalConcurrencyShares, pl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey])
	}
}

func TestEnsureRetriesUntilWritesAreAccepted(t *testing.T) {
	client := fake.NewClientset()
	var refusals atomic.Int32
	client.PrependReactor("create", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		if refusals.Add(1) <= 3 {
			return true, nil, apierrors.NewServiceUnavailable("storage is initializing")
		}
		return false, nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	list, err := client.FlowcontrolV1().FlowSchemas().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(FlowSchemas()) {
		t.Errorf("have %d FlowSchemas, want %d", len(list.Items), len(FlowSchemas()))
	}
}

func TestEnsureStopsWithContext(t *testing.T) {
	client := fake.NewClientset()
	for _, verb := range []string{"get", "list"} {
		client.PrependReactor(verb, "*", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewInternalError(errors.New("etcd down"))
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := Ensure(ctx, client)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ensure = %v, want a context deadline error", err)
	}
}
