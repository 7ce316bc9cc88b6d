package deployment_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/kubectl/pkg/cmd/rollout"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// kubectlFactory is what stock kubectl builds from a kubeconfig pointing at
// the test server, defaulting to namespace ns.
func kubectlFactory(t *testing.T, ns string) cmdutil.Factory {
	t.Helper()
	rc := env.Config
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["skiff"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData, CertificateAuthority: rc.CAFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData,
		ClientCertificate: rc.CertFile, ClientKey: rc.KeyFile, Token: rc.BearerToken,
	}
	cfg.Contexts["skiff"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: "admin", Namespace: ns}
	cfg.CurrentContext = "skiff"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	return cmdutil.NewFactory(cmdutil.NewMatchVersionFlags(flags))
}

// kubectlRolloutStatus runs `kubectl rollout status deployment/<name> --timeout=30s`.
func kubectlRolloutStatus(t *testing.T, f cmdutil.Factory, name string) string {
	t.Helper()
	var out bytes.Buffer
	o := rollout.NewRolloutStatusOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &out})
	o.Timeout = 30 * time.Second
	if err := o.Complete(f, []string{"deployment/" + name}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(); err != nil {
		t.Fatalf("kubectl rollout status: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestKubectlRollout(t *testing.T) {
	ns := namespace(t)
	kubelet(t, ns)
	f := kubectlFactory(t, ns)
	create(t, newDeployment(ns, "web", spec{replicas: 3, image: "nginx:1"}))
	if out := kubectlRolloutStatus(t, f, "web"); !strings.Contains(out, `deployment "web" successfully rolled out`) {
		t.Fatalf("rollout status:\n%s", out)
	}
	setImage(t, ns, "web", "nginx:2")
	if out := kubectlRolloutStatus(t, f, "web"); !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status after image change:\n%s", out)
	}

	// kubectl rollout undo deployment/web
	var out bytes.Buffer
	streams := genericiooptions.IOStreams{Out: &out, ErrOut: &out}
	cmd := rollout.NewCmdRolloutUndo("kubectl", f, streams)
	o := rollout.NewRolloutUndoOptions(streams)
	if err := o.Complete(f, cmd, []string{"deployment/web"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.RunUndo(); err != nil {
		t.Fatalf("kubectl rollout undo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "rolled back") {
		t.Errorf("rollout undo said %q", out.String())
	}
	// rollout status waits for the controller to observe the undo's new
	// generation, then for the rollout back to finish.
	if status := kubectlRolloutStatus(t, f, "web"); !strings.Contains(status, "successfully rolled out") {
		t.Fatalf("rollout status after undo:\n%s", status)
	}
	d, err := env.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1" || d.Status.UpdatedReplicas != 3 || d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Errorf("after undo: image %s, updated %d, revision %q", img, d.Status.UpdatedReplicas, d.Annotations["deployment.kubernetes.io/revision"])
	}
}
