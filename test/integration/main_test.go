package integration

import (
	"fmt"
	"os"
	"testing"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// server is shared by every test of the package.
var server *testserver.TestServer

func TestMain(m *testing.M) {
	s, err := testserver.Start(testserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test server:", err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop test server:", err)
	}
	os.Exit(code)
}
