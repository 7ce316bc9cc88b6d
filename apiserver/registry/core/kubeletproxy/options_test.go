package kubeletproxy

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/utils/ptr"
)

func TestAddConversions(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := AddConversions(scheme); err != nil {
		t.Fatal(err)
	}
	codec := runtime.NewParameterCodec(scheme)
	since := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		name    string
		query   string
		into    runtime.Object
		want    runtime.Object
		wantErr string
	}{
		{name: "log", query: "container=c&follow=true&previous=1&timestamps&sinceTime=2026-01-02T03:04:05Z&tailLines=5&limitBytes=9&insecureSkipTLSVerifyBackend=false&stream=Stderr",
			into: &corev1.PodLogOptions{},
			want: &corev1.PodLogOptions{Container: "c", Follow: true, Previous: true, Timestamps: true, SinceTime: &since,
				TailLines: ptr.To[int64](5), LimitBytes: ptr.To[int64](9), Stream: ptr.To("Stderr")}},
		{name: "log sinceSeconds", query: "sinceSeconds=30&follow=0", into: &corev1.PodLogOptions{},
			want: &corev1.PodLogOptions{SinceSeconds: ptr.To[int64](30)}},
		{name: "log bad number", query: "tailLines=many", into: &corev1.PodLogOptions{}, wantErr: "invalid syntax"},
		{name: "exec", query: "container=c&command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&stderr=false&tty=true",
			into: &corev1.PodExecOptions{},
			want: &corev1.PodExecOptions{Container: "c", Command: []string{"sh", "-c", "echo hi"}, Stdin: true, Stdout: true, TTY: true}},
		{name: "attach", query: "container=c&stdout=1", into: &corev1.PodAttachOptions{},
			want: &corev1.PodAttachOptions{Container: "c", Stdout: true}},
		{name: "portforward", query: "ports=80,443&ports=8080", into: &corev1.PodPortForwardOptions{},
			want: &corev1.PodPortForwardOptions{Ports: []int32{80, 443, 8080}}},
		{name: "portforward bad port", query: "ports=http", into: &corev1.PodPortForwardOptions{}, wantErr: "invalid syntax"},
		{name: "pod proxy", query: "path=/metrics", into: &corev1.PodProxyOptions{}, want: &corev1.PodProxyOptions{Path: "/metrics"}},
		{name: "node proxy", query: "path=/stats/summary", into: &corev1.NodeProxyOptions{}, want: &corev1.NodeProxyOptions{Path: "/stats/summary"}},
		{name: "service proxy", query: "path=/", into: &corev1.ServiceProxyOptions{}, want: &corev1.ServiceProxyOptions{Path: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			err = codec.DecodeParameters(q, corev1.SchemeGroupVersion, tt.into)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.into); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidatePodLogOptions(t *testing.T) {
	tests := []struct {
		name        string
		opts        corev1.PodLogOptions
		allowStream bool
		want        []string
	}{
		{name: "empty"},
		{name: "tail zero", opts: corev1.PodLogOptions{TailLines: ptr.To[int64](0)}},
		{name: "limitBytes zero", opts: corev1.PodLogOptions{LimitBytes: ptr.To[int64](0)},
			want: []string{"limitBytes: Invalid value: 0: must be greater than 0"}},
		{name: "sinceSeconds zero", opts: corev1.PodLogOptions{SinceSeconds: ptr.To[int64](0)},
			want: []string{"sinceSeconds: Invalid value: 0: must be greater than 0"}},
		{name: "both since", opts: corev1.PodLogOptions{SinceSeconds: ptr.To[int64](0), SinceTime: &metav1.Time{}},
			want: []string{"Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"}},
		{name: "stream required", allowStream: true, want: []string{"stream: Required value: must be specified"}},
		{name: "stream unknown", allowStream: true, opts: corev1.PodLogOptions{Stream: ptr.To("Both")},
			want: []string{`stream: Unsupported value: "Both": supported values: "All", "Stdout", "Stderr"`}},
		{name: "stream and tail", allowStream: true, opts: corev1.PodLogOptions{Stream: ptr.To("Stdout"), TailLines: ptr.To[int64](1)},
			want: []string{"Forbidden: `tailLines` and specific `stream` are mutually exclusive for now"}},
		{name: "all and tail", allowStream: true, opts: corev1.PodLogOptions{Stream: ptr.To("All"), TailLines: ptr.To[int64](1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidatePodLogOptions(&tt.opts, tt.allowStream)
			if len(errs) != len(tt.want) {
				t.Fatalf("errors = %v, want %v", errs, tt.want)
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want %q", i, err.Error(), tt.want[i])
				}
			}
		})
	}
}

func TestStreamAuthorizesCreate(t *testing.T) {
	k, pods, nodes := fixture(t)
	var asked []string
	c := k.config()
	c.Authorizer = authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		asked = append(asked, a.GetVerb()+" "+a.GetResource()+"/"+a.GetSubresource())
		if a.GetUser().GetName() == "shell" {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "no create", nil
	})
	r := NewPodExecREST(pods, nodes, c)
	tests := []struct {
		name, user, verb string
		wantAsked        bool
		wantErr          string
	}{
		{name: "spdy POST is a create", user: "viewer", verb: "create"},
		{name: "websocket GET needs create", user: "viewer", verb: "get", wantAsked: true,
			wantErr: `pods "web" is forbidden: no create`},
		{name: "websocket GET allowed", user: "shell", verb: "get", wantAsked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			ctx := genericapirequest.WithUser(ctxIn("default"), &user.DefaultInfo{Name: tt.user})
			ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{IsResourceRequest: true, Verb: tt.verb,
				Namespace: "default", Resource: "pods", Subresource: "exec", Name: "web", APIVersion: "v1"})
			_, err := r.Connect(ctx, "web", &corev1.PodExecOptions{Command: []string{"true"}, Stdout: true}, nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if wantAsked := tt.wantAsked; (len(asked) == 1 && asked[0] == "create pods/exec") != wantAsked {
				t.Errorf("authorizer asked %v, want create pods/exec asked: %v", asked, wantAsked)
			}
		})
	}
}

func TestPodProxyLocation(t *testing.T) {
	withPorts := pod("ported", "n1", "app")
	withPorts.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	withPorts.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.7"}}
	v6 := pod("v6", "n1", "app")
	v6.Status.PodIPs = []corev1.PodIP{{IP: "fd00::7"}}
	local := pod("local", "n1", "app")
	local.Status.PodIPs = []corev1.PodIP{{IP: "127.0.0.1"}}
	pods := objects{"default/ported": withPorts, "default/v6": v6, "default/local": local, "default/none": pod("none", "", "app")}
	tests := []struct{ id, want, wantErr string }{
		{id: "ported", want: "//10.0.0.7:8080"},
		{id: "ported:9090", want: "//10.0.0.7:9090"},
		{id: "https:ported:443", want: "https://10.0.0.7:443"},
		{id: "v6", want: "//[fd00::7]"},
		{id: "local", wantErr: "address not allowed"},
		{id: "none", wantErr: "address not allowed"},
		{id: "x:y:z:w", wantErr: `invalid pod request "x:y:z:w"`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			loc, _, err := podLocation(ctxIn("default"), pods, tt.id, nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.String() != tt.want {
				t.Errorf("location = %s, want %s", loc, tt.want)
			}
		})
	}
}
