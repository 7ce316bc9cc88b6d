package bootstraptoken

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
)

// The ClusterRoleBindings kubeadm creates for node bootstrapping, under
// kubeadm's names.
const (
	// KubeletBootstrapBinding lets bootstrap tokens create CSRs.
	KubeletBootstrapBinding = "kubeadm:kubelet-bootstrap"
	// NodeAutoApproveBootstrapBinding lets csrapproving approve the
	// kubelet client CSRs bootstrap tokens create.
	NodeAutoApproveBootstrapBinding = "kubeadm:node-autoapprove-bootstrap"
	// NodeAutoApproveRotationBinding lets csrapproving approve nodes'
	// renewals of their own client certificates.
	NodeAutoApproveRotationBinding = "kubeadm:node-autoapprove-certificate-rotation"
	// ClusterInfoRole is the Role and RoleBinding of kube-public that let
	// anonymous users read cluster-info, and nothing else.
	ClusterInfoRole = "kubeadm:bootstrap-signer-clusterinfo"

	nodeBootstrapperRole  = "system:node-bootstrapper"
	nodeClientRole        = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
	selfNodeClientRole    = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
	nodesGroup            = "system:nodes"
	bootstrapBindingLabel = "skiff.dev/bootstrap-token"
)

// EnsureRBAC creates or completes, idempotently, the bindings that let
// bootstrap tokens of groups (DefaultGroup when none are given) request and
// get kubelet client certificates, and nodes renew theirs. Subjects already
// bound stay bound.
func EnsureRBAC(ctx context.Context, client kubernetes.Interface, groups ...string) error {
	if len(groups) == 0 {
		groups = []string{DefaultGroup}
	}
	var tokenSubjects []rbacv1.Subject
	for _, g := range groups {
		tokenSubjects = append(tokenSubjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: g})
	}
	bindings := []rbacv1.ClusterRoleBinding{
		clusterRoleBinding(KubeletBootstrapBinding, nodeBootstrapperRole, tokenSubjects),
		clusterRoleBinding(NodeAutoApproveBootstrapBinding, nodeClientRole, tokenSubjects),
		clusterRoleBinding(NodeAutoApproveRotationBinding, selfNodeClientRole,
			[]rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: nodesGroup}}),
	}
	for i := range bindings {
		if err := ensureClusterRoleBinding(ctx, client, &bindings[i]); err != nil {
			return err
		}
	}
	return nil
}

func clusterRoleBinding(name, role string, subjects []rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{bootstrapBindingLabel: "true"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}

func ensureClusterRoleBinding(ctx context.Context, client kubernetes.Interface, want *rbacv1.ClusterRoleBinding) error {
	api := client.RbacV1().ClusterRoleBindings()
	_, err := api.Create(ctx, want, metav1.CreateOptions{})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create ClusterRoleBinding %s: %w", want.Name, err)
		}
		return nil
	}
	have, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get ClusterRoleBinding %s: %w", want.Name, err)
	}
	if have.RoleRef != want.RoleRef {
		// roleRef is immutable: replace the binding.
		if err := api.Delete(ctx, want.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replace ClusterRoleBinding %s: %w", want.Name, err)
		}
		if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create ClusterRoleBinding %s: %w", want.Name, err)
		}
		return nil
	}
	missing := false
	for _, s := range want.Subjects {
		if !slices.Contains(have.Subjects, s) {
			have.Subjects = append(have.Subjects, s)
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if _, err := api.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update ClusterRoleBinding %s: %w", want.Name, err)
	}
	return nil
}

// ClusterInfoKubeconfig is the kubeconfig cluster-info publishes: one
// unnamed cluster with the server URL and CA, no users or contexts, as
// kubeadm writes it.
func ClusterInfoKubeconfig(server string, caPEM []byte) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[""] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encode cluster-info kubeconfig: %w", err)
	}
	return out, nil
}

// EnsureClusterInfo creates the unsigned cluster-info ConfigMap in
// kube-public for server and caPEM unless it exists (its signatures are the
// bootstrap signer's to add), and the Role and RoleBinding that let
// system:anonymous get it and nothing else. It is what `kubeadm init`'s
// bootstrap-token phase does.
func EnsureClusterInfo(ctx context.Context, client kubernetes.Interface, server string, caPEM []byte) error {
	kubeconfig, err := ClusterInfoKubeconfig(server, caPEM)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.ConfigMapClusterInfo, Namespace: metav1.NamespacePublic},
		Data:       map[string]string{bootstrapapi.KubeConfigKey: string(kubeconfig)},
	}
	if _, err := client.CoreV1().ConfigMaps(metav1.NamespacePublic).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: ClusterInfoRole, Namespace: metav1.NamespacePublic},
		Rules: []rbacv1.PolicyRule{{
			Verbs:         []string{"get"},
			APIGroups:     []string{""},
			Resources:     []string{"configmaps"},
			ResourceNames: []string{bootstrapapi.ConfigMapClusterInfo},
		}},
	}
	if err := ensureRole(ctx, client, role); err != nil {
		return err
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ClusterInfoRole, Namespace: metav1.NamespacePublic},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ClusterInfoRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user.Anonymous}},
	}
	return ensureRoleBinding(ctx, client, binding)
}

func ensureRole(ctx context.Context, client kubernetes.Interface, want *rbacv1.Role) error {
	api := client.RbacV1().Roles(want.Namespace)
	if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err == nil || !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create Role %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	have, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get Role %s/%s: %w", want.Namespace, want.Name, err)
	}
	if equalRules(have.Rules, want.Rules) {
		return nil
	}
	have.Rules = want.Rules
	if _, err := api.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update Role %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

func equalRules(a, b []rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y rbacv1.PolicyRule) bool {
		return slices.Equal(x.Verbs, y.Verbs) && slices.Equal(x.APIGroups, y.APIGroups) &&
			slices.Equal(x.Resources, y.Resources) && slices.Equal(x.ResourceNames, y.ResourceNames) &&
			slices.Equal(x.NonResourceURLs, y.NonResourceURLs)
	})
}

func ensureRoleBinding(ctx context.Context, client kubernetes.Interface, want *rbacv1.RoleBinding) error {
	api := client.RbacV1().RoleBindings(want.Namespace)
	if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err == nil || !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create RoleBinding %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	have, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get RoleBinding %s/%s: %w", want.Namespace, want.Name, err)
	}
	if have.RoleRef == want.RoleRef && slices.Equal(have.Subjects, want.Subjects) {
		return nil
	}
	if err := api.Delete(ctx, want.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replace RoleBinding %s/%s: %w", want.Namespace, want.Name, err)
	}
	if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create RoleBinding %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}
