package runtime

// Labels Skiff puts on its containerd containers. They are the only record
// of what a container is, so a restarted kubelet can rebuild its view.
const (
	LabelKind          = "skiff.dev/kind" // KindSandbox or KindContainer
	LabelPodUID        = "skiff.dev/pod-uid"
	LabelPodName       = "skiff.dev/pod-name"
	LabelPodNamespace  = "skiff.dev/pod-namespace"
	LabelSandboxID     = "skiff.dev/sandbox-id"
	LabelContainerName = "skiff.dev/container-name"
	LabelContainerType = "skiff.dev/container-type"
	LabelRestartCount  = "skiff.dev/restart-count"
	LabelLogPath       = "skiff.dev/log-path"
	LabelImage         = "skiff.dev/image"
	LabelNetNS         = "skiff.dev/netns"
	LabelPodIPs        = "skiff.dev/pod-ips"
	LabelCgroupParent  = "skiff.dev/cgroup-parent"
	LabelHostname      = "skiff.dev/hostname"
	LabelSharePID      = "skiff.dev/share-pid"
	LabelStartedAt     = "skiff.dev/started-at"
	LabelFinishedAt    = "skiff.dev/finished-at"
	LabelExitCode      = "skiff.dev/exit-code"
	LabelReason        = "skiff.dev/reason"
	LabelMessage       = "skiff.dev/message"
	LabelStdio         = "skiff.dev/stdio" // StdioLogger or StdioFIFO
	LabelStdin         = "skiff.dev/stdin"
	LabelStdinOnce     = "skiff.dev/stdin-once"
	LabelTTY           = "skiff.dev/tty"

	KindSandbox   = "sandbox"
	KindContainer = "container"
)

// ContainerType says which list of the pod spec a container comes from.
type ContainerType string

// Container types.
const (
	ContainerTypeInit    ContainerType = "init"
	ContainerTypeSidecar ContainerType = "sidecar" // init container with restartPolicy Always
	ContainerTypeRegular ContainerType = "regular"
)
