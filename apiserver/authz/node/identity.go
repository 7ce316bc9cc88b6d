package node

import (
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"
)

// UserNamePrefix starts the user name of every node credential:
// system:node:<node name>.
const UserNamePrefix = "system:node:"

// Identity reports whether u is a node credential, and of which node: its
// name must start with system:node: and it must be in the system:nodes group.
// A node credential with nothing after the prefix is a node of unknown name
// (isNode true, name empty), which callers must refuse.
func Identity(u user.Info) (name string, isNode bool) {
	if u == nil {
		return "", false
	}
	userName := u.GetName()
	if !strings.HasPrefix(userName, UserNamePrefix) {
		return "", false
	}
	for _, g := range u.GetGroups() {
		if g == user.NodesGroup {
			return strings.TrimPrefix(userName, UserNamePrefix), true
		}
	}
	return "", false
}
