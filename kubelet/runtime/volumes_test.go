package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// readVolume returns the files a container sees in dir (following the
// user-visible symlinks), skipping the writer's own ..names.
func readVolume(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(rel string)
	walk = func(rel string) {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if rel == "" && strings.HasPrefix(e.Name(), "..") {
				continue
			}
			p := filepath.Join(rel, e.Name())
			fi, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() {
				walk(p)
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			out[p] = string(b) + "|" + fi.Mode().Perm().String()
		}
	}
	walk("")
	return out
}

func TestWriteAtomic(t *testing.T) {
	f := func(data string, mode os.FileMode) FileProjection {
		return FileProjection{Data: []byte(data), Mode: mode}
	}
	tests := []struct {
		name   string
		steps  []map[string]FileProjection
		want   map[string]string
		legacy bool // the dir starts with plain files of the old writer
	}{
		{
			name:  "first write",
			steps: []map[string]FileProjection{{"a": f("1", 0o644), "sub/b": f("2", 0o600)}},
			want:  map[string]string{"a": "1|-rw-r--r--", "sub/b": "2|-rw-------"},
		},
		{
			name:  "update content and mode",
			steps: []map[string]FileProjection{{"a": f("1", 0o644)}, {"a": f("new", 0o400)}},
			want:  map[string]string{"a": "new|-r--------"},
		},
		{
			name:  "key removed",
			steps: []map[string]FileProjection{{"a": f("1", 0o644), "b": f("2", 0o644), "d/c": f("3", 0o644)}, {"b": f("2", 0o644)}},
			want:  map[string]string{"b": "2|-rw-r--r--"},
		},
		{
			name:  "all keys removed",
			steps: []map[string]FileProjection{{"a": f("1", 0o644)}, {}},
			want:  map[string]string{},
		},
		{
			name:  "unclean paths",
			steps: []map[string]FileProjection{{"./a": f("1", 0o644), "d//b": f("2", 0o644)}, {"./a": f("1", 0o644), "d//b": f("2", 0o644)}},
			want:  map[string]string{"a": "1|-rw-r--r--", "d/b": "2|-rw-r--r--"},
		},
		{
			name:   "plain files of the old writer replaced",
			steps:  []map[string]FileProjection{{"a": f("1", 0o644)}},
			want:   map[string]string{"a": "1|-rw-r--r--"},
			legacy: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vol")
			if tc.legacy {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, n := range []string{"a", "stale"} {
					if err := os.WriteFile(filepath.Join(dir, n), []byte("old"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, p := range tc.steps {
				if err := WriteAtomic(dir, p); err != nil {
					t.Fatalf("WriteAtomic: %v", err)
				}
			}
			got := readVolume(t, dir)
			if len(got) != len(tc.want) {
				t.Errorf("files = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			// Layout: ..data links to the only timestamped dir; names link into ..data.
			target, err := os.Readlink(filepath.Join(dir, dataDirName))
			if err != nil || !strings.HasPrefix(target, "..20") {
				t.Fatalf("..data -> %q, %v", target, err)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
				if strings.HasPrefix(e.Name(), "..") {
					continue
				}
				if l, err := os.Readlink(filepath.Join(dir, e.Name())); err != nil || l != filepath.Join(dataDirName, e.Name()) {
					t.Errorf("%s is not a link into ..data: %q, %v", e.Name(), l, err)
				}
			}
			ts := 0
			for _, n := range names {
				if strings.HasPrefix(n, "..20") {
					ts++
				}
			}
			if ts != 1 {
				t.Errorf("dir holds %v, want exactly one timestamped dir", names)
			}
		})
	}
}

func TestWriteAtomicUnchangedIsNoop(t *testing.T) {
	dir := t.TempDir()
	p := map[string]FileProjection{"a": {Data: []byte("x"), Mode: 0o644}}
	if err := WriteAtomic(dir, p); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if err := WriteAtomic(dir, p); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if before != after {
		t.Errorf("unchanged payload rewritten: %s -> %s", before, after)
	}
	p["a"] = FileProjection{Data: []byte("x"), Mode: 0o600}
	if err := WriteAtomic(dir, p); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, dataDirName)); again == after {
		t.Error("a mode change was not written")
	}
}

func TestWriteAtomicRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "/abs", "../up", "a/../../b", "..data", "..x/y"} {
		dir := t.TempDir()
		if err := WriteAtomic(dir, map[string]FileProjection{p: {Data: []byte("x"), Mode: 0o644}}); err == nil {
			t.Errorf("path %q accepted", p)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("path %q: dir written anyway", p)
		}
	}
}

// memObjects is an in-memory ObjectSource for the runtime's own tests.
type memObjects struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	tokenErr   error
	requests   []*authenticationv1.TokenRequest
}

func (m *memObjects) GetConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if cm, ok := m.configMaps[name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
}

func (m *memObjects) GetSecret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := m.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
}

func (m *memObjects) CreateToken(_ context.Context, ns, sa string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	if m.tokenErr != nil {
		return nil, m.tokenErr
	}
	m.requests = append(m.requests, req)
	out := req.DeepCopy()
	out.Status.Token = "token-of-" + ns + "/" + sa
	return out, nil
}

func TestProjectedVolume(t *testing.T) {
	objs := &memObjects{
		configMaps: map[string]*corev1.ConfigMap{"kube-root-ca.crt": {Data: map[string]string{"ca.crt": "CA", "other": "x"}}},
		secrets:    map[string]*corev1.Secret{"s": {Data: map[string][]byte{"k": []byte("v")}}},
	}
	r := &Runtime{cfg: Config{Objects: objs}, podsDir: t.TempDir()}
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace, pod.UID = "p", "ns", "uid-1"
	pod.Spec.ServiceAccountName = "sa"
	vol := corev1.Volume{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](0o644),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"},
				Items: []corev1.KeyToPath{{Key: "k", Path: "dir/k", Mode: ptr.To[int32](0o400)}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: ptr.To(true)}},
		},
	}}}
	pod.Spec.Volumes = []corev1.Volume{vol}
	if err := r.SetUpVolumes(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	dir := r.volumeDir(pod.UID, &vol)
	if !strings.HasSuffix(dir, filepath.Join(projectedPlugin, vol.Name)) {
		t.Errorf("volume dir = %s", dir)
	}
	want := map[string]string{"token": "token-of-ns/sa|-rw-r--r--", "ca.crt": "CA|-rw-r--r--", "namespace": "ns|-rw-r--r--", "dir/k": "v|-r--------"}
	got := readVolume(t, dir)
	if len(got) != len(want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(objs.requests) != 1 {
		t.Fatalf("token requests = %d", len(objs.requests))
	}
	spec := objs.requests[0].Spec
	if ref := spec.BoundObjectRef; ref == nil || ref.Kind != "Pod" || ref.Name != "p" || ref.UID != "uid-1" ||
		spec.Audiences != nil || *spec.ExpirationSeconds != 3607 {
		t.Errorf("token request spec = %+v (ref %+v)", spec, spec.BoundObjectRef)
	}

	// A failing refresh reports every source's error and keeps the files.
	objs.tokenErr = errors.New("server down")
	delete(objs.configMaps, "kube-root-ca.crt")
	err := r.SetUpVolumes(context.Background(), pod)
	for _, msg := range []string{`MountVolume.SetUp failed for volume "kube-api-access-abcde"`, "server down", `configmap "kube-root-ca.crt" not found`} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("error %v does not say %q", err, msg)
		}
	}
	if after := readVolume(t, dir); len(after) != len(want) || after["token"] != want["token"] {
		t.Errorf("files after a failed refresh = %v", after)
	}
}

func TestConfigMapVolumeUpdates(t *testing.T) {
	objs := &memObjects{configMaps: map[string]*corev1.ConfigMap{"cm": {Data: map[string]string{"a": "1", "b": "2"}}}}
	r := &Runtime{cfg: Config{Objects: objs}, podsDir: t.TempDir()}
	pod := &corev1.Pod{}
	pod.Namespace, pod.UID = "ns", "uid-2"
	vol := corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, DefaultMode: ptr.To[int32](0o640)}}}
	pod.Spec.Volumes = []corev1.Volume{vol}
	dir := r.volumeDir(pod.UID, &vol)
	steps := []struct {
		data map[string]string
		want []string
	}{
		{map[string]string{"a": "1", "b": "2"}, []string{"a=1|-rw-r-----", "b=2|-rw-r-----"}},
		{map[string]string{"a": "changed"}, []string{"a=changed|-rw-r-----"}},
		{map[string]string{"a": "changed", "c": "3"}, []string{"a=changed|-rw-r-----", "c=3|-rw-r-----"}},
	}
	for i, st := range steps {
		objs.configMaps["cm"] = &corev1.ConfigMap{Data: st.data}
		if err := r.SetUpVolumes(context.Background(), pod); err != nil {
			t.Fatal(err)
		}
		var got []string
		for k, v := range readVolume(t, dir) {
			got = append(got, k+"="+v)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(st.want, ",") {
			t.Errorf("step %d: files = %v, want %v", i, got, st.want)
		}
	}
}
