package runtime

import (
	"github.com/skiff-dev/skiff/kubelet/crilog"
)

// LoggerArg is the first argument the shim passes to the logging binary
// when it starts it for a container; the second is the log file.
const LoggerArg = crilog.Arg

// RunLoggerIfInvoked turns the process into a container's log writer and
// never returns if its arguments are a logger invocation
// (`<binary> skiff-cri-logger <path>`); otherwise it returns at once.
// Programs that can act as Skiff's logger (the skiff executable, and tests
// in TestMain) call it first thing in main; see package crilog and
// cmd/skiff-cri-logger.
func RunLoggerIfInvoked() { crilog.RunIfInvoked() }
