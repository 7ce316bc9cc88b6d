package status

import (
	"context"
	"errors"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestSetPodStatusRequests: a write from the kubelet's current copy of the
// pod is one UpdateStatus (no GET); from a stale copy the server refuses it
// (Conflict) and the pod is read again; either way the server ends up with
// the new phase.
func TestSetPodStatusRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stale bool
		want  []string
	}{
		{name: "current copy", want: []string{"update/status"}},
		{name: "stale copy", stale: true, want: []string{"update/status", "get/", "update/status"}},
		{name: "no resourceVersion", want: []string{"get/", "update/status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			stored := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", ResourceVersion: "1"},
				Status: corev1.PodStatus{Phase: corev1.PodPending}}
			client := fake.NewClientset(stored)
			// The fake tracker keeps resourceVersions as given: act as
			// the API server does, refusing stale ones and bumping it.
			rv := 1
			client.PrependReactor("update", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
				obj := a.(clienttesting.UpdateAction).GetObject().(*corev1.Pod)
				if obj.ResourceVersion != "" && obj.ResourceVersion != strconv.Itoa(rv) {
					return true, nil, apierrors.NewConflict(corev1.Resource("pods"), obj.Name, errors.New("stale"))
				}
				rv++
				obj.ResourceVersion = strconv.Itoa(rv)
				return false, nil, nil
			})
			cur, err := client.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mine := cur.DeepCopy()
			switch {
			case tc.stale:
				// Someone else changes the pod after the kubelet's copy.
				other := cur.DeepCopy()
				other.Labels = map[string]string{"changed": "yes"}
				if _, err := client.CoreV1().Pods("ns").Update(ctx, other, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			case tc.name == "no resourceVersion":
				mine.ResourceVersion = ""
			}
			client.ClearActions()
			written, err := NewManager(client).SetPodStatus(ctx, mine, corev1.PodStatus{Phase: corev1.PodRunning})
			if err != nil || !written {
				t.Fatalf("SetPodStatus = %v, %v; want written", written, err)
			}
			var got []string
			for _, a := range client.Actions() {
				got = append(got, a.GetVerb()+"/"+subresource(a))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("requests = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("requests = %v, want %v", got, tc.want)
				}
			}
			final, err := client.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{})
			if err != nil || final.Status.Phase != corev1.PodRunning {
				t.Fatalf("server's pod = %+v, %v; want Running", final.Status, err)
			}
		})
	}
}

func subresource(a clienttesting.Action) string {
	return a.GetSubresource()
}
