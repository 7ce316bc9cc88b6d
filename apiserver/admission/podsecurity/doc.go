// Package podsecurity provides the PodSecurity admission plugin: the Pod
// Security Standards of k8s.io/pod-security-admission enforced, warned about
// and audited per namespace through the pod-security.kubernetes.io/enforce,
// warn and audit labels (and their -version labels), for pods and for the
// pod templates of workload resources. Without labels a namespace is
// privileged; no users, namespaces or runtime classes are exempt unless the
// plugin's configuration file says so.
package podsecurity
