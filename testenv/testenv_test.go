package testenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/testenv"
)

func start(t *testing.T, env *testenv.Environment) *kubernetes.Clientset {
	t.Helper()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return kubernetes.NewForConfigOrDie(cfg)
}

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok && err == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within 30s (last error: %v)", what, last)
	}
}

// TestCRDsAndUsers installs CRDs from a directory, as envtest does, and
// checks that a user added with AddUser is authenticated but not
// authorized until RBAC grants it.
func TestCRDsAndUsers(t *testing.T) {
	t.Parallel()
	env := &testenv.Environment{CRDDirectoryPaths: []string{"testdata/crds"}, ErrorIfCRDPathMissing: true}
	client := start(t, env)
	ctx := context.Background()
	if len(env.CRDs) != 1 || env.CRDs[0].Name != "widgets.example.skiff.dev" {
		t.Fatalf("installed CRDs = %v, want widgets.example.skiff.dev", env.CRDs)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	widgets := dyn.Resource(schema.GroupVersionResource{Group: "example.skiff.dev", Version: "v1", Resource: "widgets"}).Namespace("default")
	bad := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.skiff.dev/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}, "spec": map[string]any{"size": int64(0)}}}
	if _, err := widgets.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("create a Widget of size 0: err = %v, want Invalid", err)
	}

	userCfg, err := env.AddUser(testenv.User{Name: "alice", Groups: []string{"devs"}}, nil)
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	alice := kubernetes.NewForConfigOrDie(userCfg)
	if _, err := alice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice lists configmaps before any grant: err = %v, want Forbidden", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "devs-view", Namespace: "default"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "devs"}},
	}
	if _, err := client.RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "alice may list configmaps once her group views default", func(ctx context.Context) (bool, error) {
		_, err := alice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
	if _, err := alice.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice creates a configmap with view: err = %v, want Forbidden", err)
	}
}

// TestFakeNodes checks that fake nodes are Ready and run the pods bound to
// them, and finish deleting them.
func TestFakeNodes(t *testing.T) {
	t.Parallel()
	env := &testenv.Environment{FakeNodes: 2}
	client := start(t, env)
	ctx := context.Background()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 2 {
		t.Fatalf("nodes = %v, %v; want 2", nodes, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod runs on node-1", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return false, fmt.Errorf("phase %s, IP %q", p.Status.Phase, p.Status.PodIP)
		}
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready, nil
	})
	if err := client.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the deleted pod is gone", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// TestParallelIsolation starts several environments at once and checks
// that none sees another's objects.
func TestParallelIsolation(t *testing.T) {
	t.Parallel()
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			env := &testenv.Environment{}
			cfg, err := env.Start()
			if err != nil {
				errs <- err
				return
			}
			defer env.Stop()
			client := kubernetes.NewForConfigOrDie(cfg)
			name := fmt.Sprintf("mine-%d", i)
			ctx := context.Background()
			if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				errs <- err
				return
			}
			list, err := client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				errs <- err
				return
			}
			for _, cm := range list.Items {
				if cm.Name != name && cm.Name != "kube-root-ca.crt" {
					errs <- fmt.Errorf("environment %d sees configmap %s", i, cm.Name)
					return
				}
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestGarbageCollectorAndNamespaces checks what stock envtest cannot do:
// with the garbage collector and namespace controller on, an owned object
// goes with its owner and a deleted namespace goes with its content.
func TestGarbageCollectorAndNamespaces(t *testing.T) {
	t.Parallel()
	env := &testenv.Environment{GarbageCollector: true, NamespaceController: true}
	client := start(t, env)
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	owner, err := client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dependent := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dependent", OwnerReferences: []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID},
	}}}
	if _, err := client.CoreV1().Secrets("doomed").Create(ctx, dependent, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().ConfigMaps("doomed").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the owned secret is collected with its owner", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Secrets("doomed").Get(ctx, "dependent", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if _, err := client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the deleted namespace is gone", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// TestSchedulerOnFakeNodes checks that with the scheduler on, an unbound
// pod is bound to one of the fake nodes, which then runs it.
func TestSchedulerOnFakeNodes(t *testing.T) {
	t.Parallel()
	env := &testenv.Environment{Scheduler: true, FakeNodes: 2}
	client := start(t, env)
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod is scheduled onto a fake node and runs", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "pending", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if !strings.HasPrefix(p.Spec.NodeName, "node-") || p.Status.Phase != corev1.PodRunning {
			return false, fmt.Errorf("node %q, phase %s", p.Spec.NodeName, p.Status.Phase)
		}
		return true, nil
	})
}
