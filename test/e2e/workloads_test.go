package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestKubectlWorkloads runs stock kubectl workflows on the built-in
// workload and service types and checks kubectl shows them as upstream's
// server makes it show them (no controllers run here, so status columns
// stay at zero).
func TestKubectlWorkloads(t *testing.T) {
	s := startAPIServer(t, t.TempDir(), freePort(t))
	for name, kubectl := range kubectls() {
		t.Run(name, func(t *testing.T) {
			ns := "workloads-" + strings.ReplaceAll(strings.TrimPrefix(name, "/usr/bin/"), " ", "-")
			run := kubectlRunner(kubectl, s.kubeconfig())
			steps := []kubectlStep{
				{name: "namespace", args: []string{"create", "namespace", ns}, want: []string{`created`}},
				{name: "default service account", args: []string{"-n", ns, "create", "serviceaccount", "default"}, want: []string{`serviceaccount/default created`}},
				{name: "create deployment", args: []string{"-n", ns, "create", "deployment", "web", "--image=busybox:1.36", "--replicas=2"}, want: []string{`deployment.apps/web created`}},
				{name: "get deployment", args: []string{"-n", ns, "get", "deploy", "web"}, want: []string{`NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE`, `web\s+0/2\s+0\s+0\s+`}},
				{name: "deployment defaults", args: []string{"-n", ns, "get", "deploy", "web", "-o", "jsonpath={.spec.strategy.type} {.spec.strategy.rollingUpdate.maxSurge} {.spec.revisionHistoryLimit} {.spec.progressDeadlineSeconds}"}, want: []string{`^RollingUpdate 25% 10 600$`}},
				{name: "scale", args: []string{"-n", ns, "scale", "deployment", "web", "--replicas=3"}, want: []string{`deployment.apps/web scaled`}},
				{name: "scaled", args: []string{"-n", ns, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"}, want: []string{`^3 2$`}},
				{name: "expose", args: []string{"-n", ns, "expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=NodePort"}, want: []string{`service/web exposed`}},
				{name: "get service", args: []string{"-n", ns, "get", "svc", "web"}, want: []string{`NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE`, `web\s+NodePort\s+10\.0\.0\.\d+\s+<none>\s+80:3\d{4}/TCP\s+`}},
				{name: "kubernetes service", args: []string{"-n", "default", "get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"}, want: []string{`^10\.0\.0\.1$`}},
				{name: "run pod", args: []string{"-n", ns, "run", "box", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600"}, want: []string{`pod/box created`}},
				{name: "get pods wide", args: []string{"-n", ns, "get", "pods", "-o", "wide"}, want: []string{`NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES`, `box\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>`}},
				{name: "describe pod", args: []string{"-n", ns, "describe", "pod", "box"}, want: []string{`Name:\s+box`, `Status:\s+Pending`, `QoS Class:\s+BestEffort`, `Image:\s+busybox:1.36`}},
				{name: "event", args: []string{"-n", ns, "create", "-f", "-"}, stdinFrom: func() string {
					uid, err := run("", "-n", ns, "get", "pod", "box", "-o", "jsonpath={.metadata.uid}")
					if err != nil {
						t.Fatalf("uid of pod box: %v: %s", err, uid)
					}
					return boxEvent(ns, strings.TrimSpace(uid))
				}, want: []string{`event/box.1 created`}},
				{name: "events by field", args: []string{"-n", ns, "get", "events", "--field-selector", "involvedObject.kind=Pod,involvedObject.name=box,type=Warning"}, want: []string{`LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE`, `Warning\s+FailedScheduling\s+pod/box\s+0/0 nodes are available`}},
				{name: "describe pod events", args: []string{"-n", ns, "describe", "pod", "box"}, want: []string{`Events:`, `Warning\s+FailedScheduling\s+.*default-scheduler\s+0/0 nodes are available`}},
				{name: "pod field selector", args: []string{"-n", ns, "get", "pods", "--field-selector", "status.phase=Pending,spec.restartPolicy=Never", "-o", "name"}, want: []string{`^pod/box$`}},
				{name: "create job", args: []string{"-n", ns, "create", "job", "once", "--image=busybox:1.36", "--", "true"}, want: []string{`job.batch/once created`}},
				{name: "job selector", args: []string{"-n", ns, "get", "job", "once", "-o", "jsonpath={.spec.template.metadata.labels.batch\\.kubernetes\\.io/job-name}"}, want: []string{`^once$`}},
				{name: "create cronjob", args: []string{"-n", ns, "create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *", "--", "true"}, want: []string{`cronjob.batch/tick created`}},
				{name: "get cronjob", args: []string{"-n", ns, "get", "cronjob", "tick"}, want: []string{`NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE`, `tick\s+\*/5 \* \* \* \*\s+<none>\s+False\s+0\s+<none>`}},
				{name: "bad cronjob", args: []string{"-n", ns, "create", "cronjob", "bad", "--image=busybox:1.36", "--schedule=not a schedule"}, want: []string{`spec.schedule`}, wantErr: true},
				{name: "create pdb", args: []string{"-n", ns, "create", "pdb", "web", "--selector=app=web", "--min-available=1"}, want: []string{`poddisruptionbudget.policy/web created`}},
				{name: "autoscale", args: []string{"-n", ns, "autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80"}, want: []string{`horizontalpodautoscaler.autoscaling/web autoscaled`}},
				{name: "get hpa", args: []string{"-n", ns, "get", "hpa", "web"}, want: []string{`NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE`, `web\s+Deployment/web\s+`}},
				{name: "priority classes", args: []string{"get", "priorityclass", "system-node-critical", "-o", "jsonpath={.value}"}, want: []string{`^2000001000$`}},
				{name: "flow schemas", args: []string{"get", "flowschema", "exempt", "-o", "name"}, want: []string{`^flowschema.flowcontrol.apiserver.k8s.io/exempt$`}},
				{name: "explain", args: []string{"explain", "deployment.spec.strategy"}, want: []string{`GROUP:\s+apps`, `KIND:\s+Deployment`, `FIELD:\s+strategy`}},
				{name: "api-resources apps", args: []string{"api-resources", "--api-group=apps"}, want: []string{`deployments\s+deploy\s+apps/v1\s+true\s+Deployment`, `statefulsets\s+sts\s+apps/v1\s+true\s+StatefulSet`}},
				{name: "get all", args: []string{"-n", ns, "get", "all", "-o", "name"}, want: []string{`^pod/box$`, `^service/web$`, `^deployment.apps/web$`, `^job.batch/once$`, `^cronjob.batch/tick$`, `^horizontalpodautoscaler.autoscaling/web$`}},
			}
			runKubectlSteps(t, run, steps)
		})
	}
}

// boxEvent is a core/v1 Event about the pod "box" (uid) of ns, as a
// scheduler would record it.
func boxEvent(ns, uid string) string {
	now := time.Now().UTC().Format(time.RFC3339)
	return `apiVersion: v1
kind: Event
metadata:
  name: box.1
involvedObject:
  apiVersion: v1
  kind: Pod
  name: box
  namespace: ` + ns + `
  uid: ` + uid + `
reason: FailedScheduling
message: "0/0 nodes are available: no nodes registered."
type: Warning
source:
  component: default-scheduler
firstTimestamp: "` + now + `"
lastTimestamp: "` + now + `"
count: 1
`
}
