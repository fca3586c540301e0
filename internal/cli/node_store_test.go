package cli

import "testing"

// nodeStoreMode: the socket on a live node or when asked for; the files
// under a node's root mounted elsewhere or when asked for.
func TestNodeStoreMode(t *testing.T) {
	for _, c := range []struct {
		root           string
		address, files bool
		socket, err    bool
	}{
		{root: "/", socket: true},
		{root: "/host", socket: false},
		{root: "/host", address: true, socket: true},
		{root: "/", files: true, socket: false},
		{root: "/", address: true, files: true, err: true},
	} {
		socket, err := nodeStoreMode(c.root, c.address, c.files)
		if socket != c.socket || (err != nil) != c.err {
			t.Errorf("nodeStoreMode(%q, %v, %v) = %v, %v", c.root, c.address, c.files, socket, err)
		}
	}
}
