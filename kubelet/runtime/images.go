package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	skiffimages "github.com/skiff-dev/skiff/kubelet/images"
)

// Image failure reasons, as the kubelet reports them in container status.
const (
	ReasonErrImagePull      = "ErrImagePull"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	ReasonInvalidImageName  = "InvalidImageName"
)

// ImageError is a failure to make an image available; Reason is the
// upstream waiting reason to report.
type ImageError struct {
	Reason  string
	Message string
	Err     error
}

func (e *ImageError) Error() string { return e.Message }
func (e *ImageError) Unwrap() error { return e.Err }

// Image is an image in containerd's store.
type Image struct {
	// Name is the stored (normalized) reference, e.g. docker.io/library/busybox:1.
	Name string
	// ID is the digest of the image's manifest or index ("sha256:…").
	ID string
	// Size is the size in bytes of the image's content for this platform
	// (what CRI's ImageStatus reports), set by PullImage.
	Size int64
}

// Credentials returns the registry login for host (as in a
// kubernetes.io/dockerconfigjson secret); empty strings mean anonymous.
type Credentials func(host string) (username, secret string, err error)

// NormalizeImageName turns a pod's image field into the stored name:
// docker.io/library/ prefix for short names, :latest when there is no tag
// or digest.
func NormalizeImageName(image string) (string, error) {
	n, err := reference.ParseDockerRef(image)
	if err != nil {
		return "", &ImageError{Reason: ReasonInvalidImageName, Message: fmt.Sprintf("Failed to apply default image tag %q: %v", image, err), Err: err}
	}
	return n.String(), nil
}

// DefaultPullPolicy is the policy the API server defaults an empty one to:
// Always for :latest or untagged images, IfNotPresent otherwise.
func DefaultPullPolicy(image string) corev1.PullPolicy {
	n, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return corev1.PullIfNotPresent
	}
	if _, ok := n.(reference.Digested); ok {
		return corev1.PullIfNotPresent
	}
	if t, ok := n.(reference.Tagged); ok && t.Tag() != "latest" {
		return corev1.PullIfNotPresent
	}
	return corev1.PullAlways
}

// ShouldPull decides whether an image must be pulled under policy, given
// whether it is already present. Never with a missing image is an
// ImageError with reason ErrImageNeverPull.
func ShouldPull(policy corev1.PullPolicy, image string, present bool) (bool, error) {
	if policy == "" {
		policy = DefaultPullPolicy(image)
	}
	switch policy {
	case corev1.PullAlways:
		return true, nil
	case corev1.PullIfNotPresent:
		return !present, nil
	case corev1.PullNever:
		if !present {
			return false, &ImageError{Reason: ReasonErrImageNeverPull,
				Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", image)}
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown image pull policy %q", policy)
}

// GetImage looks an image up by its pod-spec name; a missing image is an
// error for which errdefs.IsNotFound holds.
func (r *Runtime) GetImage(ctx context.Context, image string) (Image, error) {
	name, err := NormalizeImageName(image)
	if err != nil {
		return Image{}, err
	}
	img, err := r.client.ImageService().Get(r.ns(ctx), name)
	if err != nil {
		return Image{}, fmt.Errorf("get image %s: %w", name, err)
	}
	return Image{Name: img.Name, ID: img.Target.Digest.String()}, nil
}

// EnsureImage makes image available under policy, pulling it with creds
// when needed, and unpacks it for the snapshotter.
func (r *Runtime) EnsureImage(ctx context.Context, image string, policy corev1.PullPolicy, creds Credentials) (Image, error) {
	img, err := r.GetImage(ctx, image)
	var ie *ImageError
	if errors.As(err, &ie) {
		return Image{}, err
	}
	if err != nil && !errdefs.IsNotFound(err) {
		return Image{}, err
	}
	present := err == nil
	pull, err := ShouldPull(policy, image, present)
	if err != nil {
		return Image{}, err
	}
	if !pull {
		return img, nil
	}
	return r.PullImage(ctx, image, creds)
}

// PullImage pulls image from its registry through containerd's resolver
// and unpacks it. Failures are ImageErrors with reason ErrImagePull.
func (r *Runtime) PullImage(ctx context.Context, image string, creds Credentials) (Image, error) {
	name, err := NormalizeImageName(image)
	if err != nil {
		return Image{}, err
	}
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: r.registryHosts(creds)})
	img, err := r.client.Pull(r.ns(ctx), name, client.WithResolver(resolver), client.WithPullUnpack,
		client.WithPullSnapshotter(r.cfg.Snapshotter))
	if err != nil {
		return Image{}, &ImageError{Reason: ReasonErrImagePull,
			Message: fmt.Sprintf("Failed to pull image %q: %v", image, err), Err: err}
	}
	size, err := img.Size(r.ns(ctx))
	if err != nil {
		klog.FromContext(ctx).V(1).Info("Size of pulled image unknown", "image", name, "err", err)
	}
	return Image{Name: img.Name(), ID: img.Target().Digest.String(), Size: size}, nil
}

// registryHosts configures registry access as containerd's CRI plugin
// does for a host without a hosts.toml (config.ConfigureHosts, whose
// package Skiff does not build in): HTTPS, except that a loopback registry
// (localhost, 127.0.0.0/8, ::1) is used without verifying its certificate
// and, on a port other than 443 and 80, over HTTPS with a fall-back to
// plain HTTP when it answers TLS with HTTP; port 80 is plain HTTP.
// InsecureRegistries are plain HTTP. docker.io is registry-1.docker.io.
func (r *Runtime) registryHosts(creds Credentials) docker.RegistryHosts {
	return func(host string) ([]docker.RegistryHost, error) {
		rh := docker.RegistryHost{
			Host: host, Scheme: "https", Path: "/v2",
			Capabilities: docker.HostCapabilityPull | docker.HostCapabilityResolve | docker.HostCapabilityReferrers,
		}
		tlsConfig := &tls.Config{}
		fallback := false
		switch {
		case host == "docker.io":
			rh.Host = "registry-1.docker.io"
		case slices.Contains(r.cfg.InsecureRegistries, host):
			rh.Scheme = "http"
		case docker.IsLocalhost(host):
			_, port, _ := net.SplitHostPort(host)
			switch port {
			case "80":
				rh.Scheme = "http"
			case "", "443":
				tlsConfig.InsecureSkipVerify = true
			default:
				tlsConfig.InsecureSkipVerify = true
				fallback = true
			}
		}
		var transport http.RoundTripper = docker.DefaultHTTPTransport(tlsConfig)
		if fallback {
			transport = docker.NewHTTPFallback(transport)
		}
		rh.Client = &http.Client{Transport: transport}
		authOpts := []docker.AuthorizerOpt{docker.WithAuthClient(rh.Client)}
		if creds != nil {
			authOpts = append(authOpts, docker.WithAuthCreds(creds))
		}
		rh.Authorizer = docker.NewDockerAuthorizer(authOpts...)
		return []docker.RegistryHost{rh}, nil
	}
}

// ImportArchive imports a docker (`docker save`) or OCI image archive and
// unpacks every image in it. Docker archive names are normalized
// (local/x:1 becomes docker.io/local/x:1); OCI names are taken from the
// index's org.opencontainers.image.ref.name annotations.
func (r *Runtime) ImportArchive(ctx context.Context, archive io.Reader) ([]Image, error) {
	ctx = r.ns(ctx)
	imgs, err := r.client.Import(ctx, archive, client.WithImportPlatform(platforms.Default()), client.WithImageRefTranslator(func(ref string) string {
		if n, err := NormalizeImageName(ref); err == nil {
			return n
		}
		return ref
	}))
	if err != nil {
		return nil, fmt.Errorf("import image archive: %w", err)
	}
	out := make([]Image, 0, len(imgs))
	for _, im := range imgs {
		if err := client.NewImageWithPlatform(r.client, im, platforms.Default()).Unpack(ctx, r.cfg.Snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", im.Name, err)
		}
		out = append(out, Image{Name: im.Name, ID: im.Target.Digest.String()})
	}
	return out, nil
}

// ImportImage stores a locally built image under ref.
func (r *Runtime) ImportImage(ctx context.Context, ref string, img v1.Image) (Image, error) {
	name, err := NormalizeImageName(ref)
	if err != nil {
		return Image{}, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(skiffimages.WriteDockerArchive(pw, name, img)) }()
	imgs, err := r.ImportArchive(ctx, pr)
	_ = pr.CloseWithError(io.EOF)
	if err != nil {
		return Image{}, err
	}
	for _, im := range imgs {
		if im.Name == name {
			return im, nil
		}
	}
	return Image{}, fmt.Errorf("import %s: archive held %v", name, imgs)
}

// RemoveImage deletes an image by its pod-spec name.
func (r *Runtime) RemoveImage(ctx context.Context, image string) error {
	name, err := NormalizeImageName(image)
	if err != nil {
		return err
	}
	if err := r.client.ImageService().Delete(r.ns(ctx), name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", name, err)
	}
	return nil
}

// ensureSandboxImage makes the sandbox image available, building the
// default one from busybox when it is missing.
func (r *Runtime) ensureSandboxImage(ctx context.Context) (Image, error) {
	img, err := r.GetImage(ctx, r.cfg.SandboxImage)
	if err == nil {
		return img, nil
	}
	if !errdefs.IsNotFound(err) || r.cfg.SandboxImage != DefaultSandboxImage {
		return Image{}, fmt.Errorf("sandbox image: %w", err)
	}
	r.sandboxImageMu.Lock()
	defer r.sandboxImageMu.Unlock()
	if img, err := r.GetImage(ctx, r.cfg.SandboxImage); err == nil {
		return img, nil // built meanwhile
	}
	built, err := skiffimages.Busybox(skiffimages.BusyboxOptions{Cmd: sandboxCommand})
	if err != nil {
		return Image{}, fmt.Errorf("build sandbox image: %w", err)
	}
	return r.ImportImage(ctx, DefaultSandboxImage, built)
}

// sandboxCommand keeps the sandbox alive, exits on SIGTERM and, as PID 1 of
// a shared PID namespace, reaps orphans (ash's wait collects any child).
var sandboxCommand = []string{"/bin/sh", "-c", `trap "exit 0" TERM INT; while :; do sleep 86400 & wait; done`}
