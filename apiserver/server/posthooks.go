package server

import (
	"context"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/bootstrap/kubernetesservice"
	"github.com/skiff-dev/skiff/internal/exepages"
)

// addStartupMemoryHook returns the heap that start-up used and no longer
// needs to the operating system once the server is ready. Building the
// chain (OpenAPI specs, type converters, the bootstrap objects) allocates
// two to three times the heap an idle server keeps live; Go's scavenger
// would hand it back over minutes, so a server that is only waiting would
// hold it all that time. ready is called first (it ends the start-up GC
// tuning, see beginStartupGC), also when the server does not get ready.
// The hook itself returns at once: /readyz does not wait for it.
//
// Start-up does not end at /readyz: for a few seconds after it the
// controllers of the chain make their first syncs and the bootstrap
// reconcilers their first passes. Once startupTail has passed, the hook
// returns the garbage of those to the OS too, and drops the process's
// mappings of the executable's code and read-only data (package exepages):
// the pages stay in the page cache and are faulted back in on use, so that
// the file-backed RSS of a waiting server is the part of the binary it
// keeps using. That changes the RssFile figure only, not the anonymous
// memory; both are done once, not periodically.
func addStartupMemoryHook(s *genericapiserver.GenericAPIServer, ready func()) error {
	return addClientHook(s, "skiff/release-startup-memory", func(ctx context.Context, client kubernetes.Interface) error {
		go func() {
			err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				var status int
				client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
				return status == http.StatusOK, nil
			})
			ready()
			if err != nil {
				return
			}
			debug.FreeOSMemory()
			logger := klog.FromContext(ctx)
			logger.V(2).Info("Released start-up memory")
			select {
			case <-ctx.Done():
				return
			case <-time.After(startupTail):
			}
			debug.FreeOSMemory()
			released, err := exepages.Release()
			if err != nil {
				// Only the RSS figure is at stake.
				logger.V(1).Info("Dropping the executable's start-up page mappings failed", "err", err)
				return
			}
			var kib uint64
			for _, m := range released {
				kib += m.RSSKiB
			}
			logger.V(2).Info("Dropped the executable's start-up page mappings", "mappings", len(released), "residentKiB", kib)
		}()
		return nil
	})
}

// startupTail is how long after /readyz the first syncs of the chain's
// controllers take; measured on the project's machine: ~80% of the
// executable's pages mapped in the first minute after /readyz were mapped
// in its first 5 s.
const startupTail = 10 * time.Second

// addLoopbackComponents starts o.LoopbackComponents once the server runs.
func addLoopbackComponents(s *genericapiserver.GenericAPIServer, components map[string]func(context.Context, *rest.Config) error) error {
	for name, run := range components {
		err := s.AddPostStartHook("skiff/"+name, func(hc genericapiserver.PostStartHookContext) error {
			cfg := rest.CopyConfig(hc.LoopbackClientConfig)
			go func() {
				if err := run(hc, cfg); err != nil && hc.Err() == nil {
					klog.FromContext(hc).Error(err, "In-process component failed", "component", name)
				}
			}()
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// kubernetesServiceHook is the name kube-apiserver gives the post-start
// and pre-shutdown hooks of its kubernetes Service controller.
const kubernetesServiceHook = "bootstrap-controller"

// addKubernetesServiceHooks runs the kubernetes Service reconciler from a
// post-start hook (config is read then: the port is the listener's) and,
// from the pre-shutdown hook of the same name, takes this server out of
// the Service's endpoints while it still serves, as kube-apiserver does.
func addKubernetesServiceHooks(s *genericapiserver.GenericAPIServer, config func() (kubernetesservice.Config, error), interval time.Duration) error {
	var (
		mu         sync.Mutex
		reconciler *kubernetesservice.Reconciler
	)
	err := addClientHook(s, kubernetesServiceHook, func(ctx context.Context, client kubernetes.Interface) error {
		c, err := config()
		if err != nil {
			return err
		}
		r := kubernetesservice.New(client, c)
		mu.Lock()
		reconciler = r
		mu.Unlock()
		return r.Run(ctx, interval)
	})
	if err != nil {
		return err
	}
	return s.AddPreShutdownHook(kubernetesServiceHook, func() error {
		mu.Lock()
		r := reconciler
		mu.Unlock()
		if r == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.RemoveSelf(ctx); err != nil {
			// Not fatal: the other servers drop this one once its lease
			// expires.
			klog.FromContext(ctx).Error(err, "Removing this API server from the kubernetes Service's endpoints failed")
		}
		return nil
	})
}
