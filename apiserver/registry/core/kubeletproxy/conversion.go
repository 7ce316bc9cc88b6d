package kubeletproxy

import (
	"net/url"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
)

// AddConversions registers on s how query parameters decode into the
// subresources' options (PodLogOptions, PodExecOptions, PodAttachOptions,
// PodPortForwardOptions and the three proxy options), as upstream's
// generated url.Values conversions do. The API server's parameter codec
// needs them: without them every request to these subresources fails to
// decode its query.
func AddConversions(s *runtime.Scheme) error {
	for _, c := range []struct {
		into runtime.Object
		fn   conversion.ConversionFunc
	}{
		{&corev1.PodLogOptions{}, func(a, b interface{}, _ conversion.Scope) error {
			return decodeLogOptions(*a.(*url.Values), b.(*corev1.PodLogOptions))
		}},
		{&corev1.PodExecOptions{}, func(a, b interface{}, _ conversion.Scope) error {
			q, out := query(*a.(*url.Values)), b.(*corev1.PodExecOptions)
			*out = corev1.PodExecOptions{TypeMeta: out.TypeMeta,
				Stdin: q.flag("stdin"), Stdout: q.flag("stdout"), Stderr: q.flag("stderr"), TTY: q.flag("tty"),
				Container: q.str("container"), Command: q["command"]}
			return nil
		}},
		{&corev1.PodAttachOptions{}, func(a, b interface{}, _ conversion.Scope) error {
			q, out := query(*a.(*url.Values)), b.(*corev1.PodAttachOptions)
			*out = corev1.PodAttachOptions{TypeMeta: out.TypeMeta,
				Stdin: q.flag("stdin"), Stdout: q.flag("stdout"), Stderr: q.flag("stderr"), TTY: q.flag("tty"),
				Container: q.str("container")}
			return nil
		}},
		{&corev1.PodPortForwardOptions{}, func(a, b interface{}, s conversion.Scope) error {
			q, out := query(*a.(*url.Values)), b.(*corev1.PodPortForwardOptions)
			*out = corev1.PodPortForwardOptions{TypeMeta: out.TypeMeta}
			if ports, ok := q["ports"]; ok {
				return metav1.Convert_Slice_string_To_Slice_int32(&ports, &out.Ports, s)
			}
			return nil
		}},
		{&corev1.PodProxyOptions{}, func(a, b interface{}, _ conversion.Scope) error {
			out := b.(*corev1.PodProxyOptions)
			*out = corev1.PodProxyOptions{TypeMeta: out.TypeMeta, Path: query(*a.(*url.Values)).str("path")}
			return nil
		}},
		{&corev1.NodeProxyOptions{}, func(a, b interface{}, _ conversion.Scope) error {
			out := b.(*corev1.NodeProxyOptions)
			*out = corev1.NodeProxyOptions{TypeMeta: out.TypeMeta, Path: query(*a.(*url.Values)).str("path")}
			return nil
		}},
		{&corev1.ServiceProxyOptions{}, func(a, b interface{}, _ conversion.Scope) error {
			out := b.(*corev1.ServiceProxyOptions)
			*out = corev1.ServiceProxyOptions{TypeMeta: out.TypeMeta, Path: query(*a.(*url.Values)).str("path")}
			return nil
		}},
	} {
		if err := s.AddConversionFunc((*url.Values)(nil), c.into, c.fn); err != nil {
			return err
		}
	}
	return nil
}

// decodeLogOptions fills out from the query q.
func decodeLogOptions(v url.Values, out *corev1.PodLogOptions) error {
	q := query(v)
	*out = corev1.PodLogOptions{TypeMeta: out.TypeMeta,
		Container: q.str("container"), Follow: q.flag("follow"), Previous: q.flag("previous"),
		Timestamps: q.flag("timestamps"), InsecureSkipTLSVerifyBackend: q.flag("insecureSkipTLSVerifyBackend")}
	for key, into := range map[string]**int64{"sinceSeconds": &out.SinceSeconds, "tailLines": &out.TailLines, "limitBytes": &out.LimitBytes} {
		if values, ok := q[key]; ok {
			if err := runtime.Convert_Slice_string_To_Pointer_int64(&values, into, nil); err != nil {
				return err
			}
		}
	}
	if values, ok := q["sinceTime"]; ok {
		if err := metav1.Convert_Slice_string_To_Pointer_v1_Time(&values, &out.SinceTime, nil); err != nil {
			return err
		}
	}
	if values, ok := q["stream"]; ok && len(values) > 0 {
		stream := values[0]
		out.Stream = &stream
	}
	return nil
}

// query reads query parameters as upstream's generated conversions do: the
// first value of a key counts, and a flag is true unless absent, "0" or
// "false".
type query url.Values

func (q query) str(key string) string {
	var s string
	values := q[key]
	_ = runtime.Convert_Slice_string_To_string(&values, &s, nil)
	return s
}

func (q query) flag(key string) bool {
	var b bool
	values := q[key]
	_ = runtime.Convert_Slice_string_To_bool(&values, &b, nil)
	return b
}
