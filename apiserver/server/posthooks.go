package server

import (
	"context"
	"net/http"
	"runtime/debug"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// addStartupMemoryHook returns the heap that start-up used and no longer
// needs to the operating system once the server is ready. Building the
// chain (OpenAPI specs, type converters, the bootstrap objects) allocates
// two to three times the heap an idle server keeps live; Go's scavenger
// would hand it back over minutes, so a server that is only waiting would
// hold it all that time. The hook itself returns at once: /readyz does not
// wait for it.
func addStartupMemoryHook(s *genericapiserver.GenericAPIServer) error {
	return addClientHook(s, "skiff/release-startup-memory", func(ctx context.Context, client kubernetes.Interface) error {
		go func() {
			err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				var status int
				client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
				return status == http.StatusOK, nil
			})
			if err != nil {
				return
			}
			debug.FreeOSMemory()
			klog.FromContext(ctx).V(2).Info("Released start-up memory")
		}()
		return nil
	})
}

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
