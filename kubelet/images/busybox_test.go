package images

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultBusyboxBinary); err != nil {
		t.Skipf("no busybox binary: %v", err)
	}
}

func TestBusyboxImage(t *testing.T) {
	requireBusybox(t)
	img, err := Busybox(BusyboxOptions{Cmd: []string{"sleep", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.Config.Cmd) != 2 {
		t.Errorf("config = %s/%s cmd %v", cf.OS, cf.Architecture, cf.Config.Cmd)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	found := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		found[h.Name] = h
	}
	for _, want := range []string{"bin/busybox", "bin/sh", "bin/sleep", "etc/passwd", "tmp/"} {
		if found[want] == nil {
			t.Errorf("layer lacks %s", want)
		}
	}
	if h := found["bin/sh"]; h != nil && h.Linkname != "/bin/busybox" {
		t.Errorf("bin/sh links to %q", h.Linkname)
	}

	// Same binary, same digest.
	again, err := Busybox(BusyboxOptions{Cmd: []string{"sleep", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ between builds: %s vs %s", d1, d2)
	}
}

func TestArchivesRoundTrip(t *testing.T) {
	requireBusybox(t)
	img, err := Busybox(BusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var docker bytes.Buffer
	if err := WriteDockerArchive(&docker, "skiff.local/busybox:test", img); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("skiff.local/busybox:test")
	back, err := tarball.Image(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(docker.Bytes())), nil
	}, &tag)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()
	got, err := back.ConfigName()
	if err != nil || got != want {
		t.Errorf("config digest after docker round trip = %s, %v; want %s", got, err, want)
	}

	var oci bytes.Buffer
	if err := WriteOCIArchive(&oci, "skiff.local/busybox:test", img); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	tr := tar.NewReader(&oci)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	for _, n := range []string{"oci-layout", "index.json"} {
		if !names[n] {
			t.Errorf("OCI archive lacks %s (has %v)", n, names)
		}
	}
}
