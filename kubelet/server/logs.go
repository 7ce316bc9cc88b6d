package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

func (s *Server) getPods(w http.ResponseWriter, r *http.Request) {
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, p := range s.cfg.Pods.GetPods() {
		list.Items = append(list.Items, *p)
	}
	b, err := json.Marshal(&list)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// containerSpecExists reports whether the pod spec has a container (of any
// kind) named name.
func containerSpecExists(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// attempts returns the runtime's containers named name of pod, oldest
// attempt first.
func (s *Server) attempts(ctx context.Context, pod *corev1.Pod, name string) ([]*runtime.ContainerStatus, error) {
	all, err := s.cfg.Runtime.ListPodContainers(ctx, pod.UID)
	if err != nil {
		return nil, err
	}
	var out []*runtime.ContainerStatus
	for _, c := range all {
		if c.Name == name {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].RestartCount != out[j].RestartCount {
			return out[i].RestartCount < out[j].RestartCount
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out, nil
}

// parseLogOptions decodes the containerLogs query as PodLogOptions; ok is
// false when a parameter does not parse.
func parseLogOptions(q url.Values, now time.Time) (*corev1.PodLogOptions, bool) {
	o := &corev1.PodLogOptions{}
	boolParam := func(name string, dst *bool) bool {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return false
			}
			*dst = b
		}
		return true
	}
	intParam := func(name string) (*int64, bool) {
		v := q.Get(name)
		if v == "" {
			return nil, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false
		}
		return &n, true
	}
	// Backwards compatibility: "tail" as tailLines, "all" meaning no limit.
	if tail := q.Get("tail"); tail != "" {
		q = cloneValues(q)
		q.Set("tailLines", tail)
		if tail == "all" {
			q.Del("tailLines")
		}
	}
	ok := boolParam("follow", &o.Follow) && boolParam("previous", &o.Previous) &&
		boolParam("timestamps", &o.Timestamps) && boolParam("insecureSkipTLSVerifyBackend", &o.InsecureSkipTLSVerifyBackend)
	if !ok {
		return nil, false
	}
	o.Container = q.Get("container")
	if o.SinceSeconds, ok = intParam("sinceSeconds"); !ok {
		return nil, false
	}
	if o.TailLines, ok = intParam("tailLines"); !ok {
		return nil, false
	}
	if o.LimitBytes, ok = intParam("limitBytes"); !ok {
		return nil, false
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, false
		}
		mt := metav1.NewTime(t)
		o.SinceTime = &mt
	}
	if v := q.Get("stream"); v != "" {
		o.Stream = &v
	}
	return o, true
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// validLogOptions applies upstream's PodLogOptions validation.
func validLogOptions(o *corev1.PodLogOptions) bool {
	switch {
	case o.TailLines != nil && *o.TailLines < 0,
		o.LimitBytes != nil && *o.LimitBytes < 1,
		o.SinceSeconds != nil && *o.SinceSeconds < 1,
		o.SinceSeconds != nil && o.SinceTime != nil:
		return false
	}
	return true
}

func (s *Server) getContainerLogs(w http.ResponseWriter, r *http.Request) {
	ns, podName, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	switch {
	case podName == "":
		writeError(w, http.StatusBadRequest, `{"message": "Missing podID."}`)
		return
	case name == "":
		writeError(w, http.StatusBadRequest, `{"message": "Missing container name."}`)
		return
	case ns == "":
		writeError(w, http.StatusBadRequest, `{"message": "Missing podNamespace."}`)
		return
	}
	opts, ok := parseLogOptions(r.URL.Query(), time.Now())
	if !ok {
		writeError(w, http.StatusBadRequest, `{"message": "Unable to decode query."}`)
		return
	}
	if !validLogOptions(opts) {
		writeError(w, http.StatusUnprocessableEntity, `{"message": "Invalid request."}`)
		return
	}
	if opts.Stream != nil && *opts.Stream != corev1.LogStreamAll {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unable to return the given log stream: %q. Please enable PodLogsQuerySplitStreams feature gate in kubelet", *opts.Stream))
		return
	}
	pod, ok := s.cfg.Pods.GetPodByName(ns, podName)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("pod %q does not exist", podName))
		return
	}
	if !containerSpecExists(pod, name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("container %q not found in pod %q", name, podName))
		return
	}
	ctx := r.Context()
	atts, err := s.attempts(ctx, pod, name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var c *runtime.ContainerStatus
	switch {
	case opts.Previous && len(atts) < 2:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("previous terminated container %q in pod %q not found", name, podName))
		return
	case opts.Previous:
		c = atts[len(atts)-2]
	case len(atts) == 0:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", name, podName))
		return
	default:
		c = atts[len(atts)-1]
	}
	fw := &flushWriter{w: w}
	if f, ok := w.(http.Flusher); ok {
		fw.f = f
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	lo := runtime.NewLogOptions(opts, time.Now())
	if opts.Previous {
		lo.Follow = false // an exited attempt writes no more
	}
	if err := s.cfg.Runtime.ReadLogs(ctx, c.ID, c.LogPath, lo, fw, fw); err != nil {
		if !fw.wrote {
			writeError(w, http.StatusBadRequest, err.Error())
		}
		return
	}
	if !fw.wrote {
		w.WriteHeader(http.StatusOK)
	}
}

// flushWriter flushes after every write, so followed logs stream.
type flushWriter struct {
	w     io.Writer
	f     http.Flusher
	wrote bool
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	fw.wrote = true
	n, err := fw.w.Write(p)
	if err == nil && fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}
