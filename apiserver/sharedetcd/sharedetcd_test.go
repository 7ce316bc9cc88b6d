package sharedetcd

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/skiff-dev/skiff/apiserver/etcd"
)

// TestSharedClient stores objects of two resources through storages of one
// Clients against a real embedded etcd: both use one client, which is
// closed when the last storage is destroyed.
func TestSharedClient(t *testing.T) {
	srv, err := etcd.New(etcd.Config{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-srv.Done() })

	codec := clientgoscheme.Codecs.LegacyCodec(corev1.SchemeGroupVersion)
	config := func(resource string) *storagebackend.ConfigForResource {
		c := storagebackend.NewDefaultConfig("/registry", codec)
		c.Transport.ServerList = []string{srv.ClientURL()}
		c.CompactionInterval = time.Minute
		return c.ForResource(schema.GroupResource{Resource: resource})
	}
	clients := NewClients()
	newCM := func() runtime.Object { return &corev1.ConfigMap{} }
	newCMList := func() runtime.Object { return &corev1.ConfigMapList{} }
	newSecret := func() runtime.Object { return &corev1.Secret{} }
	newSecretList := func() runtime.Object { return &corev1.SecretList{} }
	cms, destroyCMs, err := clients.raw(config("configmaps"), "/configmaps", nil, newCM, newCMList, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets, destroySecrets, err := clients.withCacher()(config("secrets"), "/secrets", func(obj runtime.Object) (string, error) {
		return storage.NamespaceKeyFunc("/secrets", obj)
	}, newSecret, newSecretList, storage.DefaultNamespaceScopedAttr, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(clients.clients); n != 1 {
		t.Fatalf("%d etcd clients for two resources, want 1", n)
	}

	tests := []struct {
		name  string
		store storage.Interface
		key   string
		obj   runtime.Object
		out   runtime.Object
	}{
		{"configmap", cms, "/configmaps/default/a", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default"}, Data: map[string]string{"k": "v"}}, &corev1.ConfigMap{}},
		{"secret", secrets, "/secrets/default/b", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"}, Data: map[string][]byte{"k": []byte("v")}}, &corev1.Secret{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.store.Create(ctx, tt.key, tt.obj, tt.out, 0); err != nil {
				t.Fatalf("create: %v", err)
			}
			got := tt.out.DeepCopyObject()
			if err := tt.store.Get(ctx, tt.key, storage.GetOptions{}, got); err != nil {
				t.Fatalf("get: %v", err)
			}
			if m, _ := got.(metav1.Object); m.GetResourceVersion() == "" {
				t.Errorf("stored object has no resourceVersion")
			}
		})
	}

	destroyCMs()
	destroyCMs() // destroy functions are called more than once
	if n := len(clients.clients); n != 1 {
		t.Fatalf("%d etcd clients while the secrets storage lives, want 1", n)
	}
	destroySecrets()
	if n := len(clients.clients); n != 0 {
		t.Fatalf("%d etcd clients after every storage was destroyed, want 0", n)
	}
}
