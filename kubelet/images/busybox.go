package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultBusyboxBinary is where Debian's busybox-static installs its binary.
const DefaultBusyboxBinary = "/bin/busybox"

// BusyboxOptions tunes Busybox.
type BusyboxOptions struct {
	// Binary is a statically linked busybox; DefaultBusyboxBinary if empty.
	Binary string
	// Cmd is the image's default command; ["sh"] if empty.
	Cmd []string
}

// epoch is the timestamp of every file and of the image, so that the same
// binary always gives the same image digest.
var epoch = time.Unix(0, 0).UTC()

// Busybox builds a one-layer linux/amd64 image holding the busybox binary, a
// symlink per applet (as `busybox --list-full` names them), the usual
// top-level directories and /etc/passwd and /etc/group with root and nobody.
func Busybox(opts BusyboxOptions) (v1.Image, error) {
	if opts.Binary == "" {
		opts.Binary = DefaultBusyboxBinary
	}
	if len(opts.Cmd) == 0 {
		opts.Cmd = []string{"sh"}
	}
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("read busybox binary: %w", err)
	}
	out, err := exec.Command(opts.Binary, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets of %s: %w", opts.Binary, err)
	}
	layerTar, err := busyboxLayer(bin, strings.Fields(string(out)))
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("make busybox layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, fmt.Errorf("append busybox layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = "amd64"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Cmd = opts.Cmd
	cf.Config.WorkingDir = "/"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return img, nil
}

func busyboxLayer(bin []byte, applets []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]int64{
		"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
		"etc": 0o755, "root": 0o700, "home": 0o755, "var": 0o755, "tmp": 0o1777,
		"proc": 0o555, "sys": 0o555, "dev": 0o755, "run": 0o755,
	}
	links := map[string]bool{}
	for _, a := range applets {
		a = strings.TrimPrefix(path.Clean("/"+a), "/")
		if a == "bin/busybox" || a == "" {
			continue
		}
		links[a] = true
		for d := path.Dir(a); d != "."; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	var entries []*tar.Header
	for d, mode := range dirs {
		entries = append(entries, &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode})
	}
	for l := range links {
		entries = append(entries, &tar.Header{Typeflag: tar.TypeSymlink, Name: l, Linkname: "/bin/busybox", Mode: 0o777})
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
		"etc/group":  "root:x:0:\nnobody:x:65534:\n",
	}
	for f, content := range files {
		entries = append(entries, &tar.Header{Typeflag: tar.TypeReg, Name: f, Mode: 0o644, Size: int64(len(content))})
	}
	entries = append(entries, &tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))})
	// Parents sort before their children, so extraction never guesses modes.
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	for _, h := range entries {
		h.ModTime = epoch
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write %s to layer: %w", h.Name, err)
		}
		var body []byte
		switch {
		case h.Name == "bin/busybox":
			body = bin
		case files[h.Name] != "":
			body = []byte(files[h.Name])
		}
		if _, err := tw.Write(body); err != nil {
			return nil, fmt.Errorf("write %s to layer: %w", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish layer: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteDockerArchive writes img tagged ref as a `docker save` style archive.
func WriteDockerArchive(w io.Writer, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return fmt.Errorf("write docker archive of %s: %w", ref, err)
	}
	return nil
}

// WriteOCIArchive writes img as a tar of an OCI image layout whose index
// names it ref (the org.opencontainers.image.ref.name annotation).
func WriteOCIArchive(w io.Writer, ref string, img v1.Image) error {
	dir, err := os.MkdirTemp("", "skiff-oci-")
	if err != nil {
		return fmt.Errorf("create OCI layout dir: %w", err)
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("create OCI layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
	})); err != nil {
		return fmt.Errorf("write image to OCI layout: %w", err)
	}
	tw := tar.NewWriter(w)
	root := os.DirFS(dir)
	if err := tw.AddFS(root); err != nil {
		return fmt.Errorf("tar OCI layout: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar OCI layout: %w", err)
	}
	return nil
}
