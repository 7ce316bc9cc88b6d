package bootstraptoken

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"
)

const (
	// DefaultGroup is the extra group tokens get unless told otherwise, the
	// one kubeadm's node tokens carry and its RBAC bindings name, so that
	// tokens of either tool join nodes of either.
	DefaultGroup = "system:bootstrappers:kubeadm:default-node-token"
	// DefaultTTL is `skiff token create`'s default lifetime, as kubeadm's.
	DefaultTTL = 24 * time.Hour
	// DefaultDescription is the description of tokens created without one.
	DefaultDescription = ""
)

// DefaultUsages are what a token is for unless told otherwise: signing
// cluster-info (discovery) and authenticating (TLS bootstrap).
var DefaultUsages = []string{"signing", "authentication"}

// Token is one bootstrap token as its Secret holds it.
type Token struct {
	// ID and Secret make the token "<id>.<secret>".
	ID, Secret string
	// Expires is when the token stops working; nil means never.
	Expires *time.Time
	// Description is free text.
	Description string
	// Usages are the token's usage-bootstrap-<usage> keys set to "true",
	// sorted ("authentication", "signing").
	Usages []string
	// Groups are the extra groups it authenticates with, besides
	// system:bootstrappers.
	Groups []string
}

// String is the bearer token, "<id>.<secret>".
func (t Token) String() string { return bootstraputil.TokenFromIDAndSecret(t.ID, t.Secret) }

// CreateOptions describe a new token.
type CreateOptions struct {
	// Token is the "<id>.<secret>" to create; empty means a random one.
	Token string
	// TTL is its lifetime from now; 0 means it never expires.
	TTL time.Duration
	// Description is stored with it.
	Description string
	// Usages default to DefaultUsages.
	Usages []string
	// Groups default to DefaultGroup; each must match
	// system:bootstrappers:[a-z0-9:-]*.
	Groups []string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Create validates o and stores a new token Secret in kube-system.
func Create(ctx context.Context, client kubernetes.Interface, o CreateOptions) (Token, error) {
	tok, err := newToken(o)
	if err != nil {
		return Token{}, err
	}
	secret := tok.ToSecret()
	if _, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return Token{}, fmt.Errorf("a token with ID %q already exists", tok.ID)
		}
		return Token{}, fmt.Errorf("create bootstrap token secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return tok, nil
}

func newToken(o CreateOptions) (Token, error) {
	raw := o.Token
	if raw == "" {
		var err error
		if raw, err = bootstraputil.GenerateBootstrapToken(); err != nil {
			return Token{}, fmt.Errorf("generate token: %w", err)
		}
	}
	if !bootstraputil.IsValidBootstrapToken(raw) {
		return Token{}, fmt.Errorf("the token %q is not of the form [a-z0-9]{6}.[a-z0-9]{16}, e.g. abcdef.0123456789abcdef", raw)
	}
	id, secret, _ := strings.Cut(raw, ".")
	usages := o.Usages
	if usages == nil {
		usages = DefaultUsages
	}
	if err := bootstraputil.ValidateUsages(usages); err != nil {
		return Token{}, err
	}
	if len(usages) == 0 {
		return Token{}, fmt.Errorf("a token needs at least one usage (signing, authentication)")
	}
	groups := o.Groups
	if groups == nil {
		groups = []string{DefaultGroup}
	}
	for _, g := range groups {
		if err := bootstraputil.ValidateBootstrapGroupName(g); err != nil {
			return Token{}, err
		}
	}
	if o.TTL < 0 {
		return Token{}, fmt.Errorf("the TTL must not be negative (0 means the token never expires)")
	}
	tok := Token{ID: id, Secret: secret, Description: o.Description, Usages: sortedUnique(usages), Groups: groups}
	if o.TTL > 0 {
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		exp := now().Add(o.TTL).UTC().Truncate(time.Second)
		tok.Expires = &exp
	}
	return tok, nil
}

// ToSecret is the kube-system Secret that stores t.
func (t Token) ToSecret() *corev1.Secret {
	data := map[string][]byte{
		bootstrapapi.BootstrapTokenIDKey:     []byte(t.ID),
		bootstrapapi.BootstrapTokenSecretKey: []byte(t.Secret),
	}
	if t.Description != "" {
		data[bootstrapapi.BootstrapTokenDescriptionKey] = []byte(t.Description)
	}
	if t.Expires != nil {
		data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(t.Expires.UTC().Format(time.RFC3339))
	}
	for _, u := range t.Usages {
		data[bootstrapapi.BootstrapTokenUsagePrefix+u] = []byte("true")
	}
	if len(t.Groups) > 0 {
		data[bootstrapapi.BootstrapTokenExtraGroupsKey] = []byte(strings.Join(t.Groups, ","))
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bootstraputil.BootstrapTokenSecretName(t.ID), Namespace: metav1.NamespaceSystem},
		Type:       bootstrapapi.SecretTypeBootstrapToken,
		Data:       data,
	}
}

// FromSecret reads a token Secret; it fails on Secrets that are not
// well-formed bootstrap tokens.
func FromSecret(s *corev1.Secret) (Token, error) {
	if s.Type != bootstrapapi.SecretTypeBootstrapToken {
		return Token{}, fmt.Errorf("secret %s/%s is of type %q, not %q", s.Namespace, s.Name, s.Type, bootstrapapi.SecretTypeBootstrapToken)
	}
	id := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenIDKey)
	if nameID, ok := bootstrapsecretutil.ParseName(s.Name); !ok || nameID != id {
		return Token{}, fmt.Errorf("secret %s/%s: name does not match its token-id %q", s.Namespace, s.Name, id)
	}
	tok := Token{
		ID:          id,
		Secret:      bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenSecretKey),
		Description: bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenDescriptionKey),
	}
	if !bootstraputil.IsValidBootstrapToken(tok.String()) {
		return Token{}, fmt.Errorf("secret %s/%s does not hold a valid token", s.Namespace, s.Name)
	}
	if raw := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenExpirationKey); raw != "" {
		exp, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return Token{}, fmt.Errorf("secret %s/%s: expiration %q is not RFC 3339: %w", s.Namespace, s.Name, raw, err)
		}
		tok.Expires = &exp
	}
	for k, v := range s.Data {
		if u, ok := strings.CutPrefix(k, bootstrapapi.BootstrapTokenUsagePrefix); ok && string(v) == "true" {
			tok.Usages = append(tok.Usages, u)
		}
	}
	sort.Strings(tok.Usages)
	groups, err := bootstrapsecretutil.GetGroups(s)
	if err != nil {
		return Token{}, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	// GetGroups includes system:bootstrappers; Groups are the extra ones.
	for _, g := range groups {
		if g != bootstrapapi.BootstrapDefaultGroup {
			tok.Groups = append(tok.Groups, g)
		}
	}
	return tok, nil
}

// List returns the bootstrap tokens of kube-system, sorted by ID; Secrets of
// the bootstrap type that are not valid tokens are skipped.
func List(ctx context.Context, client kubernetes.Interface) ([]Token, error) {
	secrets, err := client.CoreV1().Secrets(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		FieldSelector: "type=" + string(bootstrapapi.SecretTypeBootstrapToken),
	})
	if err != nil {
		return nil, fmt.Errorf("list bootstrap token secrets: %w", err)
	}
	var out []Token
	for i := range secrets.Items {
		// The field selector may not be supported by every server.
		if secrets.Items[i].Type != bootstrapapi.SecretTypeBootstrapToken {
			continue
		}
		if t, err := FromSecret(&secrets.Items[i]); err == nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Delete deletes the token of idOrToken ("<id>" or "<id>.<secret>").
func Delete(ctx context.Context, client kubernetes.Interface, idOrToken string) error {
	id := idOrToken
	if bootstraputil.IsValidBootstrapToken(idOrToken) {
		id, _, _ = strings.Cut(idOrToken, ".")
	}
	if !bootstraputil.IsValidBootstrapTokenID(id) {
		return fmt.Errorf("%q is neither a token ID ([a-z0-9]{6}) nor a token ([a-z0-9]{6}.[a-z0-9]{16})", idOrToken)
	}
	name := bootstraputil.BootstrapTokenSecretName(id)
	if err := client.CoreV1().Secrets(metav1.NamespaceSystem).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("there is no bootstrap token with ID %q", id)
		}
		return fmt.Errorf("delete bootstrap token secret %s/%s: %w", metav1.NamespaceSystem, name, err)
	}
	return nil
}

// PrintList writes tokens in kubeadm's `token list` columns.
func PrintList(w io.Writer, tokens []Token, now time.Time) error {
	tw := tabwriter.NewWriter(w, 10, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "TOKEN\tTTL\tEXPIRES\tUSAGES\tDESCRIPTION\tEXTRA GROUPS")
	for _, t := range tokens {
		ttl, expires := "<forever>", "<never>"
		if t.Expires != nil {
			ttl = duration.ShortHumanDuration(t.Expires.Sub(now))
			expires = t.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t, ttl, expires, orNone(strings.Join(t.Usages, ",")), orNone(t.Description), orNone(strings.Join(t.Groups, ",")))
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
