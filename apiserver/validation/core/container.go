package core

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// containerCtx is what the checks of one container need to know of its pod.
type containerCtx struct {
	opts          *podOptions
	volumes       map[string]corev1.VolumeSource
	podClaimNames sets.Set[string]
	gracePeriod   *int64
	restartPolicy corev1.RestartPolicy
	os            *corev1.PodOS
	hostUsers     bool
}

const notForPlainInitMsg = "may not be set for init containers without restartPolicy=Always"

var (
	supportedPortProtocols       = sets.New(corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)
	supportedPullPolicies        = sets.New(corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)
	supportedHTTPSchemes         = sets.New(corev1.URISchemeHTTP, corev1.URISchemeHTTPS)
	supportedResizeResources     = sets.New(corev1.ResourceCPU, corev1.ResourceMemory)
	supportedResizePolicies      = sets.New(corev1.NotRequired, corev1.RestartContainer)
	supportedContainerRestarts   = sets.New(corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyOnFailure)
	supportedRestartRuleOps      = sets.New(corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn)
	supportedRestartRuleActions  = sets.New(corev1.ContainerRestartRuleActionRestart, corev1.ContainerRestartRuleActionRestartAllContainers)
	supportedStopSignalsWindows  = sets.New(corev1.SIGKILL, corev1.SIGTERM)
	supportedTerminationMessages = []corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}
)

// supportedStopSignalsLinux lists every signal a Linux container may stop
// with: all the signals the API names.
var supportedStopSignalsLinux = sets.New(
	corev1.SIGABRT, corev1.SIGALRM, corev1.SIGBUS, corev1.SIGCHLD, corev1.SIGCLD, corev1.SIGCONT, corev1.SIGFPE,
	corev1.SIGHUP, corev1.SIGILL, corev1.SIGINT, corev1.SIGIO, corev1.SIGIOT, corev1.SIGKILL, corev1.SIGPIPE,
	corev1.SIGPOLL, corev1.SIGPROF, corev1.SIGPWR, corev1.SIGQUIT, corev1.SIGSEGV, corev1.SIGSTKFLT, corev1.SIGSTOP,
	corev1.SIGSYS, corev1.SIGTERM, corev1.SIGTRAP, corev1.SIGTSTP, corev1.SIGTTIN, corev1.SIGTTOU, corev1.SIGURG,
	corev1.SIGUSR1, corev1.SIGUSR2, corev1.SIGVTALRM, corev1.SIGWINCH, corev1.SIGXCPU, corev1.SIGXFSZ,
	corev1.SIGRTMIN, corev1.SIGRTMINPLUS1, corev1.SIGRTMINPLUS2, corev1.SIGRTMINPLUS3, corev1.SIGRTMINPLUS4,
	corev1.SIGRTMINPLUS5, corev1.SIGRTMINPLUS6, corev1.SIGRTMINPLUS7, corev1.SIGRTMINPLUS8, corev1.SIGRTMINPLUS9,
	corev1.SIGRTMINPLUS10, corev1.SIGRTMINPLUS11, corev1.SIGRTMINPLUS12, corev1.SIGRTMINPLUS13, corev1.SIGRTMINPLUS14,
	corev1.SIGRTMINPLUS15, corev1.SIGRTMAXMINUS14, corev1.SIGRTMAXMINUS13, corev1.SIGRTMAXMINUS12,
	corev1.SIGRTMAXMINUS11, corev1.SIGRTMAXMINUS10, corev1.SIGRTMAXMINUS9, corev1.SIGRTMAXMINUS8,
	corev1.SIGRTMAXMINUS7, corev1.SIGRTMAXMINUS6, corev1.SIGRTMAXMINUS5, corev1.SIGRTMAXMINUS4,
	corev1.SIGRTMAXMINUS3, corev1.SIGRTMAXMINUS2, corev1.SIGRTMAXMINUS1, corev1.SIGRTMAX,
)

// ephemeralContainerFields are the fields of EphemeralContainerCommon an
// ephemeral container may set; the others are reserved to the pod's own
// containers.
var ephemeralContainerFields = sets.New(
	"Name", "Image", "Command", "Args", "WorkingDir", "EnvFrom", "Env", "VolumeMounts", "VolumeDevices",
	"TerminationMessagePath", "TerminationMessagePolicy", "ImagePullPolicy", "SecurityContext",
	"Stdin", "StdinOnce", "TTY",
)

// validateContainers validates the regular containers of a pod spec: at
// least one, unique names, and host ports unique across them.
func validateContainers(containers []corev1.Container, cc *containerCtx, fldPath *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range containers {
		c := &containers[i]
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(c, cc, p)...)
		// Clashes with init and ephemeral containers are reported there.
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else {
			names.Insert(c.Name)
		}
		errs = append(errs, validateProbesAndLifecycle(c, cc, p)...)
		errs = append(errs, validateContainerRestartRules(c.RestartPolicy, c.RestartPolicyRules, p)...)
	}
	return append(errs, checkHostPortConflicts(containers, fldPath)...)
}

// validateInitContainers validates the init containers of a pod spec,
// including sidecars (restartPolicy Always), which alone may have probes and
// lifecycle hooks.
func validateInitContainers(inits, regular []corev1.Container, cc *containerCtx, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range regular {
		names.Insert(c.Name)
	}
	for i := range inits {
		c := &inits[i]
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(c, cc, p)...)
		errs = append(errs, validateInitRestartPolicy(c.RestartPolicy, c.RestartPolicyRules, p)...)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways

		// Clashes with ephemeral containers are reported there.
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else if c.Name != "" {
			names.Insert(c.Name)
		}
		// Init containers run one by one: each only needs its own host
		// ports unique.
		errs = append(errs, checkHostPortConflicts([]corev1.Container{*c}, fldPath)...)

		if sidecar {
			errs = append(errs, validateProbesAndLifecycle(c, cc, p)...)
		} else {
			for _, f := range []struct {
				name string
				set  bool
			}{
				{"lifecycle", c.Lifecycle != nil}, {"livenessProbe", c.LivenessProbe != nil},
				{"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil},
			} {
				if f.set {
					errs = append(errs, field.Forbidden(p.Child(f.name), notForPlainInitMsg))
				}
			}
			if !cc.opts.allowRestartContainerForPlainInit {
				for j, rp := range c.ResizePolicy {
					if rp.RestartPolicy == corev1.RestartContainer {
						errs = append(errs, field.Invalid(p.Child("resizePolicy").Index(j).Child("restartPolicy"), rp.RestartPolicy, "must not be set to 'RestartContainer' for non-sidecar initContainers"))
					}
				}
			}
		}
	}
	return errs
}

// validateEphemeralContainers validates the ephemeral containers of a pod
// spec: names unique across every kind of container, targets that name a
// pod container, and only the fields ephemeral containers may set.
func validateEphemeralContainers(ephemeral []corev1.EphemeralContainer, regular, inits []corev1.Container, cc *containerCtx, fldPath *field.Path) field.ErrorList {
	if len(ephemeral) == 0 {
		return nil
	}
	var errs field.ErrorList
	podNames, allNames := sets.New[string](), sets.New[string]()
	for _, list := range [][]corev1.Container{regular, inits} {
		for _, c := range list {
			podNames.Insert(c.Name)
			allNames.Insert(c.Name)
		}
	}
	for i := range ephemeral {
		ec := &ephemeral[i]
		p := fldPath.Index(i)
		c := (*corev1.Container)(&ec.EphemeralContainerCommon)
		errs = append(errs, validateContainerCommon(c, cc, p)...)
		errs = append(errs, validateImageWhitespace(c.Image, p)...)
		if allNames.Has(ec.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), ec.Name))
		} else {
			allNames.Insert(ec.Name)
		}
		if ec.TargetContainerName != "" && !podNames.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), ec.TargetContainerName))
		}
		errs = append(errs, forbidUnlistedFields(ec.EphemeralContainerCommon, ephemeralContainerFields, "cannot be set for an Ephemeral Container", p)...)
		for j, m := range ec.VolumeMounts {
			mp := p.Child("volumeMounts").Index(j)
			if m.SubPath != "" {
				errs = append(errs, field.Forbidden(mp.Child("subPath"), "cannot be set for an Ephemeral Container"))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Forbidden(mp.Child("subPathExpr"), "cannot be set for an Ephemeral Container"))
			}
		}
	}
	return errs
}

// forbidUnlistedFields reports each field of the struct value that is set
// but not in allowed, at its JSON-style name under fldPath.
func forbidUnlistedFields(value any, allowed sets.Set[string], detail string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed.Has(f.Name) || v.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		errs = append(errs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), detail))
	}
	return errs
}

// validateImageWhitespace is the rule pods (not templates) add: an image
// without surrounding whitespace.
func validateImageWhitespace(image string, p *field.Path) field.ErrorList {
	if len(image) != len(strings.TrimSpace(image)) {
		return field.ErrorList{field.Invalid(p.Child("image"), image, "must not have leading or trailing whitespace")}
	}
	return nil
}

// validateContainerCommon validates what every kind of container shares.
func validateContainerCommon(c *corev1.Container, cc *containerCtx, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Label(c.Name, p.Child("name"))...)
	}
	// Upstream keeps whitespace-only images valid in templates.
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(p.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy, supportedTerminationMessages))
	}
	mountPaths := make(map[string]string, len(c.VolumeMounts))
	for _, m := range c.VolumeMounts {
		mountPaths[m.Name] = m.MountPath
	}
	devicePaths := make(map[string]string, len(c.VolumeDevices))
	for _, d := range c.VolumeDevices {
		devicePaths[d.Name] = d.DevicePath
	}
	errs = append(errs, ValidateContainerPorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, devicePaths, cc.volumes, c, p.Child("volumeMounts"))...)
	errs = append(errs, validateVolumeDevices(c.VolumeDevices, mountPaths, cc.volumes, p.Child("volumeDevices"))...)
	errs = append(errs, validatePullPolicy(c.ImagePullPolicy, p.Child("imagePullPolicy"))...)
	errs = append(errs, ValidateContainerResourceRequirements(&c.Resources, cc.podClaimNames, p.Child("resources"))...)
	errs = append(errs, validateResizePolicy(c.ResizePolicy, p.Child("resizePolicy"), cc.restartPolicy)...)
	return append(errs, ValidateSecurityContext(c.SecurityContext, p.Child("securityContext"), cc.hostUsers)...)
}

// validateProbesAndLifecycle validates the probes and hooks regular
// containers and sidecars may have.
func validateProbesAndLifecycle(c *corev1.Container, cc *containerCtx, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Lifecycle != nil {
		errs = append(errs, validateLifecycle(c.Lifecycle, cc, p.Child("lifecycle"))...)
	}
	if c.LivenessProbe != nil {
		errs = append(errs, validateProbe(c.LivenessProbe, cc, p.Child("livenessProbe"))...)
		if c.LivenessProbe.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(p.Child("livenessProbe", "successThreshold"), c.LivenessProbe.SuccessThreshold, "must be 1"))
		}
	}
	if c.ReadinessProbe != nil {
		errs = append(errs, validateProbe(c.ReadinessProbe, cc, p.Child("readinessProbe"))...)
		if c.ReadinessProbe.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(p.Child("readinessProbe", "terminationGracePeriodSeconds"), c.ReadinessProbe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	if c.StartupProbe != nil {
		errs = append(errs, validateProbe(c.StartupProbe, cc, p.Child("startupProbe"))...)
		if c.StartupProbe.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(p.Child("startupProbe", "successThreshold"), c.StartupProbe.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

// ValidateContainerPorts validates the ports of a container at fldPath:
// unique valid names, valid container and host port numbers, a supported
// protocol.
func ValidateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		if port.Name != "" {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(p.Child("name"), port.Name, msg))
				}
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(p.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(p.Child("hostPort"), port.HostPort, msg))
			}
		}
		errs = append(errs, ValidatePortProtocol(port.Protocol, p.Child("protocol"))...)
	}
	return errs
}

// ValidatePortProtocol validates a port's protocol: set, and TCP, UDP or
// SCTP.
func ValidatePortProtocol(protocol corev1.Protocol, fldPath *field.Path) field.ErrorList {
	if protocol == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if !supportedPortProtocols.Has(protocol) {
		return field.ErrorList{field.NotSupported(fldPath, protocol, sets.List(supportedPortProtocols))}
	}
	return nil
}

// ValidatePortNumOrName validates a port given as a number (1-65535) or as
// an IANA service name.
func ValidatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(fldPath, port.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(fldPath, port.StrVal, msg))
		}
	default:
		errs = append(errs, field.InternalError(fldPath, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return errs
}

// AccumulateUniqueHostPorts reports each host port of containers (under
// fldPath) that is already in seen, as "<protocol>/<hostIP>/<port>", and adds
// the others to seen.
func AccumulateUniqueHostPorts(containers []corev1.Container, seen sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for ci, c := range containers {
		for pi, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				errs = append(errs, field.Duplicate(fldPath.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			} else {
				seen.Insert(key)
			}
		}
	}
	return errs
}

func checkHostPortConflicts(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	return AccumulateUniqueHostPorts(containers, sets.New[string](), fldPath)
}

func validatePullPolicy(policy corev1.PullPolicy, fldPath *field.Path) field.ErrorList {
	switch {
	case policy == "":
		return field.ErrorList{field.Required(fldPath, "")}
	case !supportedPullPolicies.Has(policy):
		return field.ErrorList{field.NotSupported(fldPath, policy, sets.List(supportedPullPolicies))}
	}
	return nil
}

// validateResizePolicy validates how a container takes resizes: each
// resource once, cpu or memory, a supported policy, and no restarts in a pod
// that never restarts.
func validateResizePolicy(policies []corev1.ContainerResizePolicy, fldPath *field.Path, podRestart corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[corev1.ResourceName]()
	for i, rp := range policies {
		if seen.Has(rp.ResourceName) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), rp.ResourceName))
		}
		seen.Insert(rp.ResourceName)
		// Upstream reports these at the list.
		switch {
		case rp.ResourceName == "":
			errs = append(errs, field.Required(fldPath, ""))
		case !supportedResizeResources.Has(rp.ResourceName):
			errs = append(errs, field.NotSupported(fldPath, rp.ResourceName, sets.List(supportedResizeResources)))
		}
		switch {
		case rp.RestartPolicy == "":
			errs = append(errs, field.Required(fldPath, ""))
		case !supportedResizePolicies.Has(rp.RestartPolicy):
			errs = append(errs, field.NotSupported(fldPath, rp.RestartPolicy, sets.List(supportedResizePolicies)))
		}
		if podRestart == corev1.RestartPolicyNever && rp.RestartPolicy != corev1.NotRequired {
			errs = append(errs, field.Invalid(fldPath, rp.RestartPolicy, "must be 'NotRequired' when pod `restartPolicy` is 'Never'"))
		}
	}
	return errs
}

// validateInitRestartPolicy validates the restart policy and rules of an
// init container.
func validateInitRestartPolicy(policy *corev1.ContainerRestartPolicy, rules []corev1.ContainerRestartRule, p *field.Path) field.ErrorList {
	if policy == nil {
		if len(rules) > 0 {
			return field.ErrorList{field.Required(p.Child("restartPolicy"), "must specify restartPolicy when restart rules are used")}
		}
		return nil
	}
	return validateContainerRestartRules(policy, rules, p)
}

// validateContainerRestartRules validates a container's restartPolicy and
// restartPolicyRules (container restart rules are beta and on).
func validateContainerRestartRules(policy *corev1.ContainerRestartPolicy, rules []corev1.ContainerRestartRule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case policy == nil && len(rules) == 0:
		return nil
	case policy == nil:
		errs = append(errs, field.Required(p.Child("restartPolicy"), "must specify restartPolicy when restart rules are used"))
	case !supportedContainerRestarts.Has(*policy):
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *policy, sets.List(supportedContainerRestarts)))
	}
	rulesPath := p.Child("restartPolicyRules")
	if len(rules) > 20 {
		errs = append(errs, field.TooMany(rulesPath, len(rules), 20))
	}
	for i, rule := range rules {
		rp := rulesPath.Index(i)
		if !supportedRestartRuleActions.Has(rule.Action) {
			errs = append(errs, field.NotSupported(rp.Child("action"), rule.Action, sets.List(supportedRestartRuleActions)))
		}
		if rule.ExitCodes == nil {
			errs = append(errs, field.Required(rp.Child("exitCodes"), "must be specified"))
			continue
		}
		if !supportedRestartRuleOps.Has(rule.ExitCodes.Operator) {
			errs = append(errs, field.NotSupported(rp.Child("exitCodes", "operator"), rule.ExitCodes.Operator, sets.List(supportedRestartRuleOps)))
		}
		if len(rule.ExitCodes.Values) > 255 {
			errs = append(errs, field.TooMany(rp.Child("exitCodes", "values"), len(rule.ExitCodes.Values), 255))
		}
	}
	return errs
}

// handler is the union of the probe and lifecycle handler types.
type handler struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

func validateProbe(probe *corev1.Probe, cc *containerCtx, p *field.Path) field.ErrorList {
	h := probe.ProbeHandler
	errs := validateHandler(handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, grpc: h.GRPC}, cc, p)
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"initialDelaySeconds", probe.InitialDelaySeconds}, {"timeoutSeconds", probe.TimeoutSeconds},
		{"periodSeconds", probe.PeriodSeconds}, {"successThreshold", probe.SuccessThreshold},
		{"failureThreshold", probe.FailureThreshold},
	} {
		errs = append(errs, validateNonnegative(int64(f.value), p.Child(f.name))...)
	}
	if g := probe.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	return errs
}

func validateLifecycle(l *corev1.Lifecycle, cc *containerCtx, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, hook := range []struct {
		name string
		h    *corev1.LifecycleHandler
	}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
		if hook.h != nil {
			errs = append(errs, validateHandler(handler{exec: hook.h.Exec, httpGet: hook.h.HTTPGet, tcpSocket: hook.h.TCPSocket, sleep: hook.h.Sleep}, cc, p.Child(hook.name))...)
		}
	}
	if l.StopSignal != nil {
		sp := p.Child("stopSignal")
		switch {
		case cc.os == nil:
			errs = append(errs, field.Forbidden(sp, "may not be set for containers with empty `spec.os.name`"))
		case cc.os.Name == corev1.Windows && !supportedStopSignalsWindows.Has(*l.StopSignal):
			errs = append(errs, field.NotSupported(sp, l.StopSignal, sets.List(supportedStopSignalsWindows)))
		case cc.os.Name == corev1.Linux && !supportedStopSignalsLinux.Has(*l.StopSignal):
			errs = append(errs, field.NotSupported(sp, l.StopSignal, sets.List(supportedStopSignalsLinux)))
		}
	}
	return errs
}

// validateHandler validates a probe or hook: exactly one action, valid.
func validateHandler(h handler, cc *containerCtx, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	count := 0
	one := func(set bool, name string, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if count > 0 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 handler type"))
			return
		}
		count++
		errs = append(errs, check(p.Child(name))...)
	}
	one(h.exec != nil, "exec", func(fp *field.Path) field.ErrorList {
		if len(h.exec.Command) == 0 {
			return field.ErrorList{field.Required(fp.Child("command"), "")}
		}
		return nil
	})
	one(h.httpGet != nil, "httpGet", func(fp *field.Path) field.ErrorList { return validateHTTPGet(h.httpGet, fp) })
	one(h.tcpSocket != nil, "tcpSocket", func(fp *field.Path) field.ErrorList {
		return ValidatePortNumOrName(h.tcpSocket.Port, fp.Child("port"))
	})
	one(h.grpc != nil, "grpc", func(fp *field.Path) field.ErrorList {
		return ValidatePortNumOrName(intstr.FromInt32(h.grpc.Port), fp.Child("port"))
	})
	one(h.sleep != nil, "sleep", func(fp *field.Path) field.ErrorList {
		// A missing grace period is reported elsewhere.
		if g := cc.gracePeriod; g != nil && (h.sleep.Seconds < 0 || h.sleep.Seconds > *g) {
			return field.ErrorList{field.Invalid(fp, h.sleep.Seconds, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *g))}
		}
		return nil
	})
	if count == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGet(h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, ValidatePortNumOrName(h.Port, p.Child("port"))...)
	if !supportedHTTPSchemes.Has(h.Scheme) {
		errs = append(errs, field.NotSupported(p.Child("scheme"), h.Scheme, sets.List(supportedHTTPSchemes)))
	}
	for _, header := range h.HTTPHeaders {
		for _, msg := range validation.IsHTTPHeaderName(header.Name) {
			errs = append(errs, field.Invalid(p.Child("httpHeaders"), header.Name, msg))
		}
	}
	return errs
}

// Downward API paths environment variables and volume files may read.
var (
	envFieldPaths = sets.New("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
		"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
	resourceFieldPaths = sets.New("limits.cpu", "limits.memory", "limits.ephemeral-storage",
		"requests.cpu", "requests.memory", "requests.ephemeral-storage")
	hugePagesFieldPrefixes = []string{"requests.hugepages-", "limits.hugepages-"}
	// downwardAPILabels are the field labels of pods that v1 accepts.
	downwardAPILabels = sets.New("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
		"metadata.uid", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
		"status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
	byteDivisors = sets.New("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")
)

func validateEnv(vars []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		p := fldPath.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, validateEnvValueFrom(ev, p.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvValueFrom(ev corev1.EnvVar, p *field.Path) field.ErrorList {
	from := ev.ValueFrom
	if from == nil {
		return nil
	}
	var errs field.ErrorList
	sources := 0
	if from.FieldRef != nil {
		sources++
		errs = append(errs, validateObjectFieldSelector(from.FieldRef, envFieldPaths, p.Child("fieldRef"))...)
	}
	if from.ResourceFieldRef != nil {
		sources++
		errs = append(errs, validateResourceFieldSelector(from.ResourceFieldRef, false, p.Child("resourceFieldRef"))...)
	}
	if from.ConfigMapKeyRef != nil {
		sources++
		errs = append(errs, validateKeySelector(from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if from.SecretKeyRef != nil {
		sources++
		errs = append(errs, validateKeySelector(from.SecretKeyRef.Name, from.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	if from.FileKeyRef != nil {
		sources++
		errs = append(errs, validateFileKeySelector(from.FileKeyRef, p.Child("fileKeyRef"))...)
	}
	switch {
	case sources == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	case sources > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fieldPath string) (path, key string, ok bool) {
	s, found := strings.CutSuffix(fieldPath, "']")
	if !found {
		return fieldPath, "", false
	}
	path, key, found = strings.Cut(s, "['")
	if !found || path == "" {
		return fieldPath, "", false
	}
	return path, key, true
}

func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, allowed sets.Set[string], p *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(p.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(p.Child("fieldPath"), "")}
	}
	// Convert as the v1 field labels of pods do; spec.host is the old
	// name of spec.nodeName.
	label := fs.FieldPath
	var convErr error
	if fs.APIVersion != "v1" {
		convErr = fmt.Errorf("unsupported pod version: %s", fs.APIVersion)
	} else if path, _, ok := splitSubscript(label); ok {
		if path != "metadata.annotations" && path != "metadata.labels" {
			convErr = fmt.Errorf("field label does not support subscript: %s", label)
		}
	} else if label == "spec.host" {
		label = "spec.nodeName"
	} else if !downwardAPILabels.Has(label) {
		convErr = fmt.Errorf("field label not supported: %s", label)
	}
	if convErr != nil {
		return field.ErrorList{field.Invalid(p.Child("fieldPath"), fs.FieldPath, fmt.Sprintf("error converting fieldPath: %v", convErr))}
	}
	if path, key, ok := splitSubscript(label); ok {
		if path == "metadata.annotations" {
			return ValidateQualifiedName(strings.ToLower(key), p)
		}
		return ValidateQualifiedName(key, p)
	}
	if !allowed.Has(label) {
		return field.ErrorList{field.NotSupported(p.Child("fieldPath"), label, sets.List(allowed))}
	}
	return nil
}

// validateResourceFieldSelector validates a downward API reference to a
// container's resources; volume files must name the container.
func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, volume bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(p.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(p.Child("resource"), ""))
	case !resourceFieldPaths.Has(fs.Resource) && !hasHugePagesFieldPrefix(fs.Resource):
		errs = append(errs, field.NotSupported(p.Child("resource"), fs.Resource, sets.List(resourceFieldPaths)))
	}
	return append(errs, validateResourceDivisor(fs.Resource, fs.Divisor, p)...)
}

func hasHugePagesFieldPrefix(resourcePath string) bool {
	for _, prefix := range hugePagesFieldPrefixes {
		if strings.HasPrefix(resourcePath, prefix) {
			return true
		}
	}
	return false
}

func validateResourceDivisor(name string, divisor resource.Quantity, p *field.Path) field.ErrorList {
	if divisor.Cmp(resource.Quantity{}) == 0 {
		return nil
	}
	d := divisor.String()
	const bytes = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei"
	var errs field.ErrorList
	switch name {
	case "limits.cpu", "requests.cpu":
		if d != "1m" && d != "1" {
			errs = append(errs, field.Invalid(p.Child("divisor"), name, "only divisor's values 1m and 1 are supported with the cpu resource"))
		}
	case "limits.memory", "requests.memory":
		if !byteDivisors.Has(d) {
			errs = append(errs, field.Invalid(p.Child("divisor"), name, "only divisor's values "+bytes+" are supported with the memory resource"))
		}
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		if !byteDivisors.Has(d) {
			errs = append(errs, field.Invalid(p.Child("divisor"), name, "only divisor's values "+bytes+" are supported with the local ephemeral storage resource"))
		}
	}
	if hasHugePagesFieldPrefix(name) && !byteDivisors.Has(d) {
		errs = append(errs, field.Invalid(p.Child("divisor"), name, "only divisor's values "+bytes+" are supported with the hugepages resource"))
	}
	return errs
}

// validateKeySelector validates a reference to a key of a ConfigMap or
// Secret. Upstream checks the name only when given.
func validateKeySelector(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name != "" {
		errs = append(errs, validateObjectName(name, p.Child("name"))...)
	}
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p.Child("key"), key, msg))
		}
	}
	return errs
}

func validateFileKeySelector(s *corev1.FileKeySelector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		for _, msg := range validation.IsRelaxedEnvVarName(s.Key) {
			errs = append(errs, field.Invalid(p.Child("key"), s.Key, msg))
		}
	}
	if s.VolumeName == "" {
		errs = append(errs, field.Required(p.Child("volumeName"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Label(s.VolumeName, p.Child("volumeName"))...)
	}
	if s.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	} else {
		errs = append(errs, validatePathNoBacksteps(s.Path, p.Child("path"))...)
	}
	return errs
}

func validateEnvFrom(sources []corev1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, src := range sources {
		p := fldPath.Index(i)
		if src.Prefix != "" {
			for _, msg := range validation.IsRelaxedEnvVarName(src.Prefix) {
				errs = append(errs, field.Invalid(p.Child("prefix"), src.Prefix, msg))
			}
		}
		count := 0
		if src.ConfigMapRef != nil {
			count++
			errs = append(errs, validateRequiredObjectName(src.ConfigMapRef.Name, p.Child("configMapRef", "name"))...)
		}
		if src.SecretRef != nil {
			count++
			errs = append(errs, validateRequiredObjectName(src.SecretRef.Name, p.Child("secretRef", "name"))...)
		}
		// Upstream reports these at the list.
		if count == 0 {
			errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if count > 1 {
			errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateRequiredObjectName validates the name of a referenced object: set,
// and a DNS subdomain.
func validateRequiredObjectName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return validateObjectName(name, p)
}

// validateObjectName validates a referenced object's name as a DNS subdomain.
func validateObjectName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

// validateVolumeMounts validates a container's volume mounts against the
// pod's volumes and the container's devices.
func validateVolumeMounts(mounts []corev1.VolumeMount, devices map[string]string, volumes map[string]corev1.VolumeSource, c *corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPaths := sets.New[string]()
	for i, m := range mounts {
		p := fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if _, ok := volumes[m.Name]; !ok {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		}
		if mountPaths.Has(m.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPaths.Insert(m.MountPath)
		if _, ok := devices[m.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, "must not already exist in volumeDevices"))
		}
		if pathIn(m.MountPath, devices) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must not already exist as a path in volumeDevices"))
		}
		// Upstream reports these two at the list, not the item.
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, fldPath.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, fldPath.Child("subPathExpr"))...)
		}
		if m.MountPropagation != nil {
			errs = append(errs, validateMountPropagation(*m.MountPropagation, c, fldPath.Child("mountPropagation"))...)
		}
		errs = append(errs, validateRecursiveReadOnly(m, fldPath.Child("recursiveReadOnly"))...)
	}
	return errs
}

func pathIn(path string, byName map[string]string) bool {
	for _, p := range byName {
		if p == path {
			return true
		}
	}
	return false
}

var supportedMountPropagations = sets.New(corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone)

func validateMountPropagation(mode corev1.MountPropagationMode, c *corev1.Container, p *field.Path) field.ErrorList {
	if !supportedMountPropagations.Has(mode) {
		return field.ErrorList{field.NotSupported(p, mode, sets.List(supportedMountPropagations))}
	}
	if c == nil {
		// Only the mode can be checked without the container.
		return nil
	}
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	if mode == corev1.MountPropagationBidirectional && !privileged {
		return field.ErrorList{field.Forbidden(p, "Bidirectional mount propagation is available only to privileged containers")}
	}
	return nil
}

var supportedRecursiveReadOnly = sets.New(corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyIfPossible, corev1.RecursiveReadOnlyEnabled)

func validateRecursiveReadOnly(m corev1.VolumeMount, p *field.Path) field.ErrorList {
	if m.RecursiveReadOnly == nil {
		return nil
	}
	rro := *m.RecursiveReadOnly
	switch rro {
	case corev1.RecursiveReadOnlyDisabled:
		return nil
	case corev1.RecursiveReadOnlyIfPossible, corev1.RecursiveReadOnlyEnabled:
		var errs field.ErrorList
		if !m.ReadOnly {
			errs = append(errs, field.Forbidden(p, "may only be specified when readOnly is true"))
		}
		if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
			errs = append(errs, field.Forbidden(p, "may only be specified when mountPropagation is None or not specified"))
		}
		return errs
	default:
		return field.ErrorList{field.NotSupported(p, rro, sets.List(supportedRecursiveReadOnly))}
	}
}

// validateVolumeDevices validates a container's raw block devices: unique
// names and paths, claims (persistent or ephemeral) as volumes, and no
// overlap with its mounts.
func validateVolumeDevices(devices []corev1.VolumeDevice, mounts map[string]string, volumes map[string]corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names, paths := sets.New[string](), sets.New[string]()
	for i, d := range devices {
		p := fldPath.Index(i)
		src, found := volumes[d.Name]
		if d.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must be unique"))
		}
		if found && src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !found {
			errs = append(errs, field.NotFound(p.Child("name"), d.Name))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(p.Child("devicePath"), ""))
		}
		if paths.Has(d.DevicePath) {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		if d.DevicePath != "" && len(validatePathNoBacksteps(d.DevicePath, p)) > 0 {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "can not contain backsteps ('..')"))
		} else {
			paths.Insert(d.DevicePath)
		}
		if _, ok := mounts[d.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must not already exist in volumeMounts"))
		}
		if pathIn(d.DevicePath, mounts) {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
		}
		if d.Name != "" {
			names.Insert(d.Name)
		}
	}
	return errs
}

func validateNonnegative(v int64, p *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(p, v, "must be greater than or equal to 0")}
	}
	return nil
}
