package kubeletproxy

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericrest "k8s.io/apiserver/pkg/registry/generic/rest"
	"k8s.io/apiserver/pkg/registry/rest"
)

// PodLogREST serves GET pods/{name}/log: the container's log, streamed from
// the kubelet's /containerLogs endpoint as text/plain.
type PodLogREST struct {
	pods    rest.Getter
	kubelet *kubelet
}

var (
	_ rest.GetterWithOptions = &PodLogREST{}
	_ rest.StorageMetadata   = &PodLogREST{}
)

// NewPodLogREST returns the pods/log storage; pods and nodes are the pod and
// node storages (anything whose Get returns *corev1.Pod and *corev1.Node).
func NewPodLogREST(pods, nodes rest.Getter, c Config) *PodLogREST {
	return &PodLogREST{pods: pods, kubelet: newKubelet(nodes, c)}
}

// New implements rest.Storage; as upstream, the "object" is a pod.
func (r *PodLogREST) New() runtime.Object { return &corev1.Pod{} }

// Destroy implements rest.Storage; the pod storage owns the store.
func (r *PodLogREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *PodLogREST) NamespaceScoped() bool { return true }

// NewGetOptions implements rest.GetterWithOptions.
func (r *PodLogREST) NewGetOptions() (runtime.Object, bool, string) {
	return &corev1.PodLogOptions{}, false, ""
}

// ProducesMIMETypes implements rest.StorageMetadata: logs are text/plain.
func (r *PodLogREST) ProducesMIMETypes(verb string) []string { return []string{"text/plain"} }

// ProducesObject implements rest.StorageMetadata: a string, for OpenAPI.
func (r *PodLogREST) ProducesObject(verb string) interface{} { return "" }

// OverrideMetricsVerb reports log reads as CONNECT in request metrics, as
// upstream does.
func (r *PodLogREST) OverrideMetricsVerb(oldVerb string) string {
	if oldVerb == "GET" {
		return "CONNECT"
	}
	return oldVerb
}

// Get implements rest.GetterWithOptions: it validates the options and
// returns a streamer of the kubelet's log of the container. A pod no node
// runs yet has an empty log.
func (r *PodLogREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts, ok := options.(*corev1.PodLogOptions)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	if r.kubelet.splitStreams && opts.Stream == nil {
		all := corev1.LogStreamAll
		opts.Stream = &all
	}
	if errs := ValidatePodLogOptions(opts, r.kubelet.splitStreams); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodLogOptions").GroupKind(), name, errs)
	}
	pod, err := getPod(ctx, r.pods, name)
	if err != nil {
		return nil, err
	}
	container, err := chooseContainer(pod, opts.Container)
	if err != nil {
		return nil, err
	}
	streamer := &genericrest.LocationStreamer{
		ContentType:     "text/plain",
		Flush:           opts.Follow,
		ResponseChecker: genericrest.NewGenericHttpResponseChecker(corev1.Resource("pods/log"), name),
		RedirectChecker: genericrest.PreventRedirects,
	}
	if pod.Spec.NodeName == "" {
		return streamer, nil
	}
	conn, err := r.kubelet.connect(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	streamer.Location = conn.url(fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container), logQuery(opts, r.kubelet.splitStreams))
	streamer.Transport = conn.transport
	if opts.InsecureSkipTLSVerifyBackend {
		streamer.Transport = conn.insecure
	}
	return streamer, nil
}

// logQuery is the kubelet's query for opts: only the options set.
func logQuery(opts *corev1.PodLogOptions, splitStreams bool) url.Values {
	q := url.Values{}
	setFlag := func(key string, on bool) {
		if on {
			q.Set(key, "true")
		}
	}
	setInt := func(key string, v *int64) {
		if v != nil {
			q.Set(key, strconv.FormatInt(*v, 10))
		}
	}
	setFlag("follow", opts.Follow)
	setFlag("previous", opts.Previous)
	setFlag("timestamps", opts.Timestamps)
	setInt("sinceSeconds", opts.SinceSeconds)
	if opts.SinceTime != nil {
		q.Set("sinceTime", opts.SinceTime.Format(time.RFC3339))
	}
	setInt("tailLines", opts.TailLines)
	setInt("limitBytes", opts.LimitBytes)
	if splitStreams && opts.Stream != nil {
		q.Set("stream", *opts.Stream)
	}
	return q
}

// logStreams are the values PodLogOptions.stream may take.
var logStreams = []string{corev1.LogStreamAll, corev1.LogStreamStdout, corev1.LogStreamStderr}

// ValidatePodLogOptions returns the errors of opts, as upstream's
// validation of the same name; allowStream says whether opts.stream may be
// (and then must be) set.
func ValidatePodLogOptions(opts *corev1.PodLogOptions, allowStream bool) field.ErrorList {
	var errs field.ErrorList
	if opts.TailLines != nil && *opts.TailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *opts.TailLines, apimachineryvalidation.IsNegativeErrorMsg))
	}
	if opts.LimitBytes != nil && *opts.LimitBytes < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *opts.LimitBytes, "must be greater than 0"))
	}
	if opts.SinceSeconds != nil && opts.SinceTime != nil {
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	} else if opts.SinceSeconds != nil && *opts.SinceSeconds < 1 {
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *opts.SinceSeconds, "must be greater than 0"))
	}
	switch {
	case !allowStream && opts.Stream != nil:
		errs = append(errs, field.Forbidden(field.NewPath("stream"), "may not be specified"))
	case !allowStream:
	case opts.Stream == nil:
		errs = append(errs, field.Required(field.NewPath("stream"), "must be specified"))
	default:
		valid := false
		for _, s := range logStreams {
			valid = valid || *opts.Stream == s
		}
		if !valid {
			errs = append(errs, field.NotSupported(field.NewPath("stream"), *opts.Stream, logStreams))
		}
		if *opts.Stream != corev1.LogStreamAll && opts.TailLines != nil {
			errs = append(errs, field.Forbidden(field.NewPath(""), "`tailLines` and specific `stream` are mutually exclusive for now"))
		}
	}
	return errs
}
