package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// kubectls are the kubectl binaries the scenarios run with: Skiff's own
// (upstream k8s.io/kubectl built in) and, when installed, the machine's.
func kubectls() map[string][]string {
	k := map[string][]string{"skiff kubectl": {skiffBinary, "kubectl"}}
	if _, err := os.Stat("/usr/bin/kubectl"); err == nil {
		k["/usr/bin/kubectl"] = []string{"/usr/bin/kubectl"}
	}
	return k
}

const widgetConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: applied
  labels:
    app: demo
data:
  color: blue
`

// TestKubectlScenarios runs stock kubectl workflows against `skiff
// apiserver` and checks their output as a kubectl user would see it.
func TestKubectlScenarios(t *testing.T) {
	s := startAPIServer(t, t.TempDir(), freePort(t))
	for name, kubectl := range kubectls() {
		t.Run(name, func(t *testing.T) {
			ns := "scenario-" + strings.ReplaceAll(strings.TrimPrefix(name, "/usr/bin/"), " ", "-")
			run := kubectlRunner(kubectl, s.kubeconfig())
			steps := []kubectlStep{
				{name: "version", args: []string{"version"}, want: []string{`Server Version: v1\.37\.2\+skiff\.`}},
				{name: "create namespace", args: []string{"create", "namespace", ns}, want: []string{`namespace/` + ns + ` created`}},
				{name: "create configmap", args: []string{"-n", ns, "create", "configmap", "cm1", "--from-literal=a=1"}, want: []string{`configmap/cm1 created`}},
				{name: "get wide", args: []string{"-n", ns, "get", "cm", "cm1", "-o", "wide"}, want: []string{`NAME\s+DATA\s+AGE`, `cm1\s+1\s+`}},
				{name: "get jsonpath", args: []string{"-n", ns, "get", "configmap", "cm1", "-o", "jsonpath={.data.a}"}, want: []string{`^1$`}},
				{name: "get yaml", args: []string{"-n", ns, "get", "configmap", "cm1", "-o", "yaml"}, want: []string{`kind: ConfigMap`, `resourceVersion: "\d+"`, `uid: `}},
				{name: "apply client-side", args: []string{"-n", ns, "apply", "-f", "-"}, stdin: widgetConfigMap, want: []string{`configmap/applied created`}},
				{name: "diff shows change", args: []string{"-n", ns, "diff", "-f", "-"}, stdin: strings.Replace(widgetConfigMap, "blue", "green", 1), want: []string{`-  color: blue`, `\+  color: green`}, wantErr: true},
				{name: "apply server-side", args: []string{"-n", ns, "apply", "--server-side", "--field-manager=e2e", "--force-conflicts", "-f", "-"}, stdin: strings.Replace(widgetConfigMap, "blue", "green", 1), want: []string{`configmap/applied serverside-applied`}},
				{name: "managed fields", args: []string{"-n", ns, "get", "cm", "applied", "--show-managed-fields", "-o", "yaml"}, want: []string{`manager: e2e`, `operation: Apply`}},
				{name: "patch merge", args: []string{"-n", ns, "patch", "cm", "applied", "--type=merge", "-p", `{"data":{"size":"L"}}`}, want: []string{`configmap/applied patched`}},
				{name: "label selector", args: []string{"-n", ns, "get", "cm", "-l", "app=demo", "-o", "name"}, want: []string{`^configmap/applied$`}},
				{name: "field selector", args: []string{"-n", ns, "get", "cm", "--field-selector", "metadata.name=cm1", "-o", "name"}, want: []string{`^configmap/cm1$`}},
				{name: "describe", args: []string{"-n", ns, "describe", "configmap", "applied"}, want: []string{`Name:\s+applied`, `Labels:\s+app=demo`, `color:`}},
				{name: "explain", args: []string{"explain", "configmap.data"}, want: []string{`KIND:\s+ConfigMap`, `FIELD:\s+data`}},
				{name: "auth can-i", args: []string{"auth", "can-i", "create", "configmaps", "-n", ns}, want: []string{`^yes$`}},
				{name: "invalid name", args: []string{"-n", ns, "create", "configmap", "Bad_Name"}, want: []string{`is invalid|must consist of lower case`}, wantErr: true},
				{name: "not found", args: []string{"-n", ns, "get", "configmap", "nope"}, want: []string{`Error from server \(NotFound\): configmaps "nope" not found`}, wantErr: true},
				{name: "api-resources", args: []string{"api-resources", "--api-group="}, want: []string{`configmaps\s+cm\s+v1\s+true\s+ConfigMap`, `namespaces\s+ns\s+v1\s+false\s+Namespace`}},
				{name: "delete wait", args: []string{"-n", ns, "delete", "configmap", "cm1", "--wait=true", "--timeout=30s"}, want: []string{`configmap "cm1" deleted`}},
				{name: "delete namespace", args: []string{"delete", "namespace", ns, "--wait=false"}, want: []string{`namespace "` + ns + `" deleted`}},
				{name: "namespace terminating", args: []string{"get", "namespace", ns, "-o", "jsonpath={.status.phase}"}, want: []string{`^Terminating$`}},
			}
			runKubectlSteps(t, run, steps)
		})
	}
}

// TestKubectlWatch runs `kubectl get -w` and checks that an object created
// after the watch started shows up in its output.
func TestKubectlWatch(t *testing.T) {
	s := startAPIServer(t, t.TempDir(), freePort(t))
	for name, kubectl := range kubectls() {
		t.Run(name, func(t *testing.T) {
			env := append(os.Environ(), "KUBECONFIG="+s.kubeconfig())
			mk := func(cm string) {
				cmd := exec.Command(kubectl[0], append(kubectl[1:], "create", "configmap", cm)...)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("create %s: %v\n%s", cm, err, out)
				}
			}
			prefix := strings.NewReplacer("/", "", " ", "-").Replace(name)
			mk(prefix + "-before")
			watch := exec.Command(kubectl[0], append(kubectl[1:], "get", "configmaps", "-w", "--request-timeout=60s")...)
			watch.Env = env
			out := &syncBuffer{}
			watch.Stdout, watch.Stderr = out, out
			if err := watch.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = watch.Process.Kill(); _ = watch.Wait() }()
			seen := func(s string) func(context.Context) (bool, error) {
				return func(context.Context) (bool, error) { return strings.Contains(out.String(), s), nil }
			}
			if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, seen(prefix+"-before")); err != nil {
				t.Fatalf("watch never listed the existing ConfigMap:\n%s", out.String())
			}
			mk(prefix + "-after")
			if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, seen(prefix+"-after")); err != nil {
				t.Fatalf("watch never showed the ConfigMap created after it started:\n%s", out.String())
			}
		})
	}
}
