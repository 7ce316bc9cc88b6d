package serviceaccount

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

const (
	ns      = "team"
	podName = "web"
	// tokenVolume stands for the generated token volume name in expected pods.
	tokenVolume = "kube-api-access-XXXXX"
)

var generatedVolumeName = regexp.MustCompile(`^kube-api-access-[a-z0-9]{5}$`)

// newPlugin returns the plugin with a lister over cached and a fake client
// serving live, retrying without pause.
func newPlugin(t *testing.T, cached []*corev1.ServiceAccount, live ...runtime.Object) (*Plugin, *fake.Clientset) {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, sa := range cached {
		if err := indexer.Add(sa); err != nil {
			t.Fatalf("adding service account to indexer: %v", err)
		}
	}
	client := fake.NewClientset(live...)
	p := NewServiceAccount()
	p.SetExternalKubeClientSet(client)
	p.serviceAccountLister = corev1listers.NewServiceAccountLister(indexer)
	p.retryInterval = func() time.Duration { return 0 }
	if err := p.ValidateInitialization(); err != nil {
		t.Fatalf("ValidateInitialization: %v", err)
	}
	return p, client
}

func attrs(obj runtime.Object, resource, subresource string, op admission.Operation) admission.Attributes {
	var opts runtime.Object = &metav1.CreateOptions{}
	if op == admission.Update {
		opts = &metav1.UpdateOptions{}
	}
	return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("Pod"), ns, podName,
		corev1.Resource(resource).WithVersion("v1"), subresource, op, opts, false, &user.DefaultInfo{Name: "alice"})
}

func createPod(pod *corev1.Pod) admission.Attributes {
	return attrs(pod, "pods", "", admission.Create)
}

func serviceAccount(name string, mutate ...func(*corev1.ServiceAccount)) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, m := range mutate {
		m(sa)
	}
	return sa
}

func enforcing(secrets ...string) func(*corev1.ServiceAccount) {
	return func(sa *corev1.ServiceAccount) {
		sa.Annotations = map[string]string{EnforceMountableSecretsAnnotation: "true"}
		for _, s := range secrets {
			sa.Secrets = append(sa.Secrets, corev1.ObjectReference{Name: s})
		}
	}
}

// newPod returns a pod with one init container "init" and one container "app".
func newPod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: podName},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "app", Image: "nginx"}},
		},
	}
	for _, m := range mutate {
		m(pod)
	}
	return pod
}

func withSA(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.ServiceAccountName = name }
}

func mirror(p *corev1.Pod) {
	p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "abc"}
}

func withSecretVolume(secret string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "creds",
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}})
	}
}

var tokenMount = corev1.VolumeMount{Name: tokenVolume, ReadOnly: true, MountPath: DefaultAPITokenMountPath}

// mounted adds the expected token volume and mounts to every init and regular container.
func mounted(p *corev1.Pod) {
	for i := range p.Spec.InitContainers {
		p.Spec.InitContainers[i].VolumeMounts = append(p.Spec.InitContainers[i].VolumeMounts, tokenMount)
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = append(p.Spec.Containers[i].VolumeMounts, tokenMount)
	}
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: tokenVolume,
		VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}})
}

// normalizeTokenVolume checks that the generated token volume name has the
// upstream shape and replaces it by tokenVolume.
func normalizeTokenVolume(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	generated := ""
	for i, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumeName+"-") && v.Name != "kube-api-access-abcde" {
			if !generatedVolumeName.MatchString(v.Name) {
				t.Errorf("token volume name %q does not match %s", v.Name, generatedVolumeName)
			}
			generated = v.Name
			pod.Spec.Volumes[i].Name = tokenVolume
		}
	}
	if generated == "" {
		return
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			for j := range cs[i].VolumeMounts {
				if cs[i].VolumeMounts[j].Name == generated {
					cs[i].VolumeMounts[j].Name = tokenVolume
				}
			}
		}
	}
}

func TestAdmitCreate(t *testing.T) {
	defaultSA := serviceAccount(DefaultServiceAccountName)
	tests := []struct {
		name   string
		cached []*corev1.ServiceAccount
		live   []runtime.Object
		pod    *corev1.Pod
		want   *corev1.Pod
	}{{
		name:   "defaults the service account and mounts the token in init and regular containers",
		cached: []*corev1.ServiceAccount{defaultSA},
		pod:    newPod(),
		want:   newPod(withSA(DefaultServiceAccountName), mounted),
	}, {
		name:   "keeps a named service account",
		cached: []*corev1.ServiceAccount{serviceAccount("builder")},
		pod:    newPod(withSA("builder")),
		want:   newPod(withSA("builder"), mounted),
	}, {
		name: "finds a service account missing from the cache through the client",
		live: []runtime.Object{serviceAccount("builder")},
		pod:  newPod(withSA("builder")),
		want: newPod(withSA("builder"), mounted),
	}, {
		name:   "pod disables automount",
		cached: []*corev1.ServiceAccount{defaultSA},
		pod:    newPod(func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr.To(false) }),
		want: newPod(withSA(DefaultServiceAccountName), func(p *corev1.Pod) {
			p.Spec.AutomountServiceAccountToken = ptr.To(false)
		}),
	}, {
		name: "service account disables automount",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, func(sa *corev1.ServiceAccount) {
			sa.AutomountServiceAccountToken = ptr.To(false)
		})},
		pod:  newPod(),
		want: newPod(withSA(DefaultServiceAccountName)),
	}, {
		name: "pod enabling automount wins over the service account",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, func(sa *corev1.ServiceAccount) {
			sa.AutomountServiceAccountToken = ptr.To(false)
		})},
		pod: newPod(func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr.To(true) }),
		want: newPod(withSA(DefaultServiceAccountName), func(p *corev1.Pod) {
			p.Spec.AutomountServiceAccountToken = ptr.To(true)
		}, mounted),
	}, {
		name:   "respects an existing mount at the token path",
		cached: []*corev1.ServiceAccount{defaultSA},
		pod: newPod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "my-token"}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "my-token", MountPath: DefaultAPITokenMountPath}}
		}),
		want: newPod(withSA(DefaultServiceAccountName), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "my-token"}, {Name: tokenVolume,
				VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}}
			p.Spec.InitContainers[0].VolumeMounts = []corev1.VolumeMount{tokenMount}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "my-token", MountPath: DefaultAPITokenMountPath}}
		}),
	}, {
		name:   "adds no volume when every container mounts the token path",
		cached: []*corev1.ServiceAccount{defaultSA},
		pod: newPod(func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Spec.Volumes = []corev1.Volume{{Name: "my-token"}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "my-token", MountPath: DefaultAPITokenMountPath}}
		}),
		want: newPod(withSA(DefaultServiceAccountName), func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Spec.Volumes = []corev1.Volume{{Name: "my-token"}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "my-token", MountPath: DefaultAPITokenMountPath}}
		}),
	}, {
		name:   "reuses an existing token volume",
		cached: []*corev1.ServiceAccount{defaultSA},
		pod: newPod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access-abcde"}}
		}),
		want: newPod(withSA(DefaultServiceAccountName), func(p *corev1.Pod) {
			m := corev1.VolumeMount{Name: "kube-api-access-abcde", ReadOnly: true, MountPath: DefaultAPITokenMountPath}
			p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access-abcde"}}
			p.Spec.InitContainers[0].VolumeMounts = []corev1.VolumeMount{m}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{m}
		}),
	}, {
		name: "copies the service account's image pull secrets",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, func(sa *corev1.ServiceAccount) {
			sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry-a"}, {Name: "registry-b"}}
		})},
		pod: newPod(),
		want: newPod(withSA(DefaultServiceAccountName), mounted, func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry-a"}, {Name: "registry-b"}}
		}),
	}, {
		name: "keeps the pod's own image pull secrets",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, func(sa *corev1.ServiceAccount) {
			sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry-a"}}
		})},
		pod: newPod(func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mine"}} }),
		want: newPod(withSA(DefaultServiceAccountName), mounted, func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mine"}}
		}),
	}, {
		name: "leaves mirror pods alone",
		pod:  newPod(mirror),
		want: newPod(mirror),
	}, {
		name: "allows referenced secrets when the service account enforces mountable secrets",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing("creds"), func(sa *corev1.ServiceAccount) {
			sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
		})},
		pod: newPod(withSecretVolume("creds")),
		want: newPod(withSA(DefaultServiceAccountName), withSecretVolume("creds"), mounted, func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
		}),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPlugin(t, tc.cached, tc.live...)
			pod := tc.pod.DeepCopy()
			if err := p.Admit(context.Background(), createPod(pod), nil); err != nil {
				t.Fatalf("Admit: %v", err)
			}
			normalizeTokenVolume(t, pod)
			if diff := cmp.Diff(tc.want, pod); diff != "" {
				t.Errorf("admitted pod (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenVolumeSource(t *testing.T) {
	src := TokenVolumeSource()
	if got := *src.DefaultMode; got != 0o644 {
		t.Errorf("defaultMode = %o, want 644", got)
	}
	if len(src.Sources) != 3 {
		t.Fatalf("got %d sources, want 3", len(src.Sources))
	}
	token := src.Sources[0].ServiceAccountToken
	if token == nil || token.Path != "token" || token.Audience != "" || ptr.Deref(token.ExpirationSeconds, 0) != 3607 {
		t.Errorf("token projection = %+v, want path token, expiration 3607", token)
	}
	ca := src.Sources[1].ConfigMap
	if ca == nil || ca.Name != "kube-root-ca.crt" || !slices.Equal(ca.Items, []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}) {
		t.Errorf("CA projection = %+v, want kube-root-ca.crt ca.crt", ca)
	}
	want := []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}
	if got := src.Sources[2].DownwardAPI; got == nil || !cmp.Equal(got.Items, want) {
		t.Errorf("downward API projection = %+v, want namespace from metadata.namespace", got)
	}
}

// TestRejections checks the Forbidden errors of Admit and Validate on create.
func TestRejections(t *testing.T) {
	forbidden := `pods "web" is forbidden: `
	tokenProjection := func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}}
	}
	tests := []struct {
		name   string
		cached []*corev1.ServiceAccount
		pod    *corev1.Pod
		// validateOnly calls only Validate; otherwise Admit (which validates too).
		validateOnly bool
		wantErr      string
		wantGets     int
	}{{
		name:     "missing default service account, after ten live lookups",
		pod:      newPod(),
		wantErr:  forbidden + `error looking up service account team/default: serviceaccount "default" not found`,
		wantGets: 10,
	}, {
		name:     "missing named service account, after one live lookup",
		cached:   []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName)},
		pod:      newPod(withSA("builder")),
		wantErr:  forbidden + `error looking up service account team/builder: serviceaccount "builder" not found`,
		wantGets: 1,
	}, {
		name:         "validation requires a service account name",
		pod:          newPod(),
		validateOnly: true,
		wantErr:      forbidden + `no service account specified for pod team/web`,
	}, {
		name:    "mirror pod naming a service account",
		pod:     newPod(mirror, withSA(DefaultServiceAccountName)),
		wantErr: forbidden + `a mirror pod may not reference service accounts`,
	}, {
		name:    "mirror pod with a secret volume",
		pod:     newPod(mirror, withSecretVolume("creds")),
		wantErr: forbidden + `a mirror pod may not reference secrets`,
	}, {
		name: "mirror pod with a CSI node publish secret",
		pod: newPod(mirror, func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
				Driver: "d", NodePublishSecretRef: &corev1.LocalObjectReference{Name: "s"}}}}}
		}),
		wantErr: forbidden + `a mirror pod may not reference secrets`,
	}, {
		name: "mirror pod with an init container env secret",
		pod: newPod(mirror, func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Env = []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}),
		wantErr: forbidden + `a mirror pod may not reference secrets`,
	}, {
		name: "mirror pod with an image pull secret",
		pod: newPod(mirror, func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
		}),
		wantErr: forbidden + `a mirror pod may not reference secrets`,
	}, {
		name:    "mirror pod with a projected service account token",
		pod:     newPod(mirror, tokenProjection),
		wantErr: forbidden + `a mirror pod may not use ServiceAccountToken volume projections`,
	}, {
		name:    "unreferenced secret volume",
		cached:  []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing("other"))},
		pod:     newPod(withSecretVolume("creds")),
		wantErr: forbidden + `volume with secret.secretName="creds" is not allowed because service account default does not reference that secret`,
	}, {
		name:   "unreferenced init container env secret",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing())},
		pod: newPod(func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Env = []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}),
		wantErr: forbidden + `init container init with envVar PW referencing secret.secretName="s" is not allowed because service account default does not reference that secret`,
	}, {
		name:   "unreferenced container envFrom secret",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing())},
		pod: newPod(func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
		}),
		wantErr: forbidden + `container app with envFrom referencing secret.secretName="s" is not allowed because service account default does not reference that secret`,
	}, {
		name:   "unreferenced image pull secret",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing())},
		pod: newPod(func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
		}),
		wantErr: forbidden + `imagePullSecrets[0].name="registry" is not allowed because service account default does not reference that imagePullSecret`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, client := newPlugin(t, tc.cached)
			a := createPod(tc.pod.DeepCopy())
			var err error
			if tc.validateOnly {
				err = p.Validate(context.Background(), a, nil)
			} else {
				err = p.Admit(context.Background(), a, nil)
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("got error %v, want %q", err, tc.wantErr)
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("error %v is not Forbidden", err)
			}
			if got := len(client.Actions()); got != tc.wantGets {
				t.Errorf("made %d live lookups, want %d", got, tc.wantGets)
			}
		})
	}
}

func TestPermissiveServiceAccountAllowsAnySecret(t *testing.T) {
	for _, annotation := range []string{"", "false", "not-a-bool"} {
		t.Run("annotation="+annotation, func(t *testing.T) {
			sa := serviceAccount(DefaultServiceAccountName)
			if annotation != "" {
				sa.Annotations = map[string]string{EnforceMountableSecretsAnnotation: annotation}
			}
			p, _ := newPlugin(t, []*corev1.ServiceAccount{sa})
			if err := p.Admit(context.Background(), createPod(newPod(withSecretVolume("creds"))), nil); err != nil {
				t.Errorf("Admit: %v", err)
			}
		})
	}
}

func TestEphemeralContainers(t *testing.T) {
	debug := func(env []corev1.EnvVar, envFrom []corev1.EnvFromSource) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", Env: env, EnvFrom: envFrom}}}
		}
	}
	secretEnv := []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
	secretEnvFrom := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
	forbidden := `pods "web" is forbidden: `
	tests := []struct {
		name    string
		cached  []*corev1.ServiceAccount
		pod     *corev1.Pod
		wantErr string
	}{{
		name:   "permissive service account",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName)},
		pod:    newPod(withSA(DefaultServiceAccountName), debug(secretEnv, secretEnvFrom)),
	}, {
		name:   "referenced secret",
		cached: []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing("s"))},
		pod:    newPod(withSA(DefaultServiceAccountName), debug(secretEnv, secretEnvFrom)),
	}, {
		name:    "unreferenced env secret",
		cached:  []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing())},
		pod:     newPod(withSA(DefaultServiceAccountName), debug(secretEnv, nil)),
		wantErr: forbidden + `ephemeral container debug with envVar PW referencing secret.secretName="s" is not allowed because service account default does not reference that secret`,
	}, {
		name:    "unreferenced envFrom secret",
		cached:  []*corev1.ServiceAccount{serviceAccount(DefaultServiceAccountName, enforcing())},
		pod:     newPod(withSA(DefaultServiceAccountName), debug(nil, secretEnvFrom)),
		wantErr: forbidden + `ephemeral container debug with envFrom referencing secret.secretName="s" is not allowed because service account default does not reference that secret`,
	}, {
		name:    "no service account",
		pod:     newPod(debug(nil, nil)),
		wantErr: forbidden + `no service account specified for pod team/web`,
	}, {
		name:    "missing service account",
		pod:     newPod(withSA("builder"), debug(nil, nil)),
		wantErr: forbidden + `error looking up service account team/builder: serviceaccount "builder" not found`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPlugin(t, tc.cached)
			pod := tc.pod.DeepCopy()
			a := attrs(pod, "pods", "ephemeralcontainers", admission.Update)
			if err := p.Admit(context.Background(), a, nil); err != nil {
				t.Fatalf("Admit: %v", err)
			}
			if diff := cmp.Diff(tc.pod, pod); diff != "" {
				t.Errorf("Admit changed the pod (-want +got):\n%s", diff)
			}
			err := p.Validate(context.Background(), a, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr || !apierrors.IsForbidden(err) {
				t.Errorf("got error %v, want Forbidden %q", err, tc.wantErr)
			}
		})
	}
}

// TestIgnored checks requests the plugin leaves alone even though the pod's
// service account does not exist.
func TestIgnored(t *testing.T) {
	tests := []struct {
		name  string
		attrs func(*corev1.Pod) admission.Attributes
	}{{
		name:  "other resource",
		attrs: func(p *corev1.Pod) admission.Attributes { return attrs(p, "services", "", admission.Create) },
	}, {
		name:  "status subresource",
		attrs: func(p *corev1.Pod) admission.Attributes { return attrs(p, "pods", "status", admission.Update) },
	}, {
		name:  "binding subresource",
		attrs: func(p *corev1.Pod) admission.Attributes { return attrs(p, "pods", "binding", admission.Create) },
	}, {
		name:  "pod update",
		attrs: func(p *corev1.Pod) admission.Attributes { return attrs(p, "pods", "", admission.Update) },
	}, {
		name: "not a pod object",
		attrs: func(*corev1.Pod) admission.Attributes {
			return attrs(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: podName}}, "pods", "", admission.Create)
		},
	}, {
		name:  "no object",
		attrs: func(*corev1.Pod) admission.Attributes { return attrs(nil, "pods", "", admission.Create) },
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, client := newPlugin(t, nil)
			pod := newPod()
			a := tc.attrs(pod)
			if err := p.Admit(context.Background(), a, nil); err != nil {
				t.Errorf("Admit: %v", err)
			}
			if err := p.Validate(context.Background(), a, nil); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if diff := cmp.Diff(newPod(), pod); diff != "" {
				t.Errorf("pod changed (-want +got):\n%s", diff)
			}
			if n := len(client.Actions()); n != 0 {
				t.Errorf("made %d API calls, want none", n)
			}
		})
	}
}

func TestHandles(t *testing.T) {
	p := NewServiceAccount()
	for op, want := range map[admission.Operation]bool{
		admission.Create: true, admission.Update: true, admission.Delete: false, admission.Connect: false,
	} {
		if got := p.Handles(op); got != want {
			t.Errorf("Handles(%s) = %t, want %t", op, got, want)
		}
	}
}

func TestRegisterAndInitialize(t *testing.T) {
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	tests := []struct {
		name    string
		init    admission.PluginInitializer
		wantErr string
	}{{
		name: "client and informers",
		init: initializer.New(client, nil, factory, nil, nil, nil, nil, nil),
	}, {
		name:    "no client",
		init:    initializer.New(nil, nil, factory, nil, nil, nil, nil, nil),
		wantErr: `failed to initialize admission plugin "ServiceAccount": missing client`,
	}, {
		name:    "no informers",
		init:    initializer.New(client, nil, nil, nil, nil, nil, nil, nil),
		wantErr: `failed to initialize admission plugin "ServiceAccount": missing serviceAccountLister`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plugins := admission.NewPlugins()
			Register(plugins)
			if got := plugins.Registered(); !slices.Equal(got, []string{PluginName}) {
				t.Fatalf("registered %v, want [%s]", got, PluginName)
			}
			plugin, err := plugins.InitPlugin(PluginName, nil, tc.init)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("InitPlugin: %v", err)
			}
			if _, ok := plugin.(*Plugin); !ok {
				t.Errorf("plugin is %T, want *Plugin", plugin)
			}
		})
	}
}
