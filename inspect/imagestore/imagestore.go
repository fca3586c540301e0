// Package imagestore reads images where they already are on a machine: in
// containerd's content store (through containerd's socket, or straight
// from its files under a node's root without a running daemon) and in a
// Docker daemon. Each image is handed out as a go-containerregistry
// [v1.Image] whose layers stream from the store, so the image is never
// pulled again nor copied.
//
// Specs name the source: "containerd://REF", "docker://REF" or
// "docker-daemon:REF" (REF as `ctr images ls` or `docker images` print
// it). [Options.Source] makes a bare REF read from a source.
package imagestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Source says where an image is read from.
type Source string

// Sources.
const (
	// Containerd: containerd's content store (socket or files).
	Containerd Source = "containerd"
	// Docker: a Docker daemon's socket.
	Docker Source = "docker"
)

// Defaults.
const (
	DefaultContainerdAddress = "/run/containerd/containerd.sock"
	DefaultNamespace         = "k8s.io"
	// DefaultContainerdRoot is containerd's root directory on a node
	// (config.toml's root), relative to the node's root file system.
	DefaultContainerdRoot = "/var/lib/containerd"
	DefaultPlatform       = "linux/amd64"
)

// Spec is an image reference with the source it is read from.
type Spec struct {
	Source Source
	Ref    string
}

func (s Spec) String() string {
	if s.Source == Docker {
		return "docker-daemon:" + s.Ref
	}
	return string(s.Source) + "://" + s.Ref
}

// specPrefixes maps the prefixes of a target spec to their source.
var specPrefixes = []struct {
	prefix string
	source Source
}{
	{"containerd://", Containerd},
	{"docker-daemon:", Docker},
	{"docker://", Docker},
}

// ParseSpec recognises a spec that names its source ("containerd://REF",
// "docker://REF", "docker-daemon:REF"). A bare spec is read from
// defaultSource when that is set; ok is false otherwise (the spec is
// something else: a path or a registry reference).
func ParseSpec(spec string, defaultSource Source) (s Spec, ok bool, err error) {
	for _, p := range specPrefixes {
		if rest, found := strings.CutPrefix(spec, p.prefix); found {
			s = Spec{Source: p.source, Ref: rest}
			ok = true
			break
		}
	}
	if !ok {
		if defaultSource == "" {
			return Spec{}, false, nil
		}
		if err := defaultSource.Check(); err != nil {
			return Spec{}, false, err
		}
		s, ok = Spec{Source: defaultSource, Ref: spec}, true
	}
	if s.Ref == "" {
		return Spec{}, true, fmt.Errorf("%s: no image reference after the source", spec)
	}
	if strings.ContainsAny(s.Ref, " \t\n\x00") {
		return Spec{}, true, fmt.Errorf("%q: not an image reference", s.Ref)
	}
	return s, true, nil
}

// Check reports a source name that is not known.
func (s Source) Check() error {
	switch s {
	case "", Containerd, Docker:
		return nil
	}
	return fmt.Errorf("unknown image source %q (want %q or %q)", string(s), Containerd, Docker)
}

// Options say where the stores are. The zero value reads containerd's
// default socket in namespace k8s.io and Docker from DOCKER_HOST.
type Options struct {
	// Source reads bare references from this source (--source).
	Source Source
	// ContainerdAddress is containerd's socket; default
	// /run/containerd/containerd.sock.
	ContainerdAddress string
	// Namespace is the containerd namespace; default k8s.io (the one the
	// kubelet's CRI plugin uses).
	Namespace string
	// NodeRoot, when set, reads containerd's store from files under this
	// directory (a node's root file system, usually mounted read-only)
	// instead of through the socket: ContainerdRoot under it.
	NodeRoot string
	// ContainerdRoot is containerd's root directory inside NodeRoot;
	// default /var/lib/containerd, then k3s's
	// /var/lib/rancher/k3s/agent/containerd when that exists.
	ContainerdRoot string
	// DockerHost is the Docker daemon's address; default DOCKER_HOST, or
	// unix:///var/run/docker.sock.
	DockerHost string
	// Platform picks the image from a multi-platform index
	// ("os/arch[/variant]"); default linux/amd64.
	Platform string
	// TempDir holds a snapshot of containerd's metadata database (read
	// without a daemon) and a Docker daemon's export; default os.TempDir().
	TempDir string
	// MaxMetadata caps manifests, indexes and configurations (default
	// 8 MiB).
	MaxMetadata int64
}

func (o Options) withDefaults() Options {
	if o.ContainerdAddress == "" {
		o.ContainerdAddress = DefaultContainerdAddress
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Platform == "" {
		o.Platform = DefaultPlatform
	}
	if o.MaxMetadata <= 0 {
		o.MaxMetadata = 8 << 20
	}
	return o
}

// Image is an image opened from a store. Close it when done: it holds
// the store open.
type Image struct {
	// Image reads the image; its layers stream from the store.
	Image v1.Image
	// Spec is what was asked for.
	Spec Spec
	// Name is the image's name in the store ("docker.io/library/alpine:3.19").
	Name string
	// Digest is the digest of the chosen manifest.
	Digest string
	// Where says which store was read: "containerd socket
	// /run/containerd/containerd.sock, namespace k8s.io", "containerd
	// files under /host/var/lib/containerd, namespace k8s.io", "docker
	// daemon unix:///var/run/docker.sock".
	Where string
	// LayersUncompressed: the layers are stored as plain tar (a Docker
	// daemon's export); read them with Uncompressed, not Compressed.
	LayersUncompressed bool
	// Notes are remarks for the user (a platform chosen, a store's quirk).
	Notes []string
	close func() error
}

// Close releases the store.
func (i *Image) Close() error {
	if i == nil || i.close == nil {
		return nil
	}
	c := i.close
	i.close = nil
	return c()
}

// Errors callers may test for with errors.Is.
var (
	// ErrNoDaemon: the daemon's socket is missing or nobody answers on it.
	ErrNoDaemon = errors.New("no daemon answering")
	// ErrNotFound: the store has no image of that name.
	ErrNotFound = errors.New("image not found")
	// ErrBlobMissing: a blob the image needs is not in the content store.
	ErrBlobMissing = errors.New("blob not in the content store")
	// ErrBadStore: the store's files are not what containerd writes.
	ErrBadStore = errors.New("not a containerd store")
)

// daemonError is a one-line message about a missing daemon that is
// ErrNoDaemon for errors.Is without repeating it.
type daemonError struct{ msg string }

func (e daemonError) Error() string        { return e.msg }
func (e daemonError) Is(target error) bool { return target == ErrNoDaemon }

func noDaemon(format string, args ...any) error {
	return daemonError{fmt.Sprintf(format, args...)}
}

// Open opens the image spec names.
func Open(ctx context.Context, spec Spec, opts Options) (*Image, error) {
	opts = opts.withDefaults()
	plat, err := v1.ParsePlatform(opts.Platform)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", opts.Platform, err)
	}
	switch spec.Source {
	case Containerd:
		st, err := openContainerd(ctx, opts)
		if err != nil {
			return nil, err
		}
		img, err := openFromStore(ctx, st, spec, *plat, opts.MaxMetadata)
		if err != nil {
			st.close()
			return nil, err
		}
		return img, nil
	case Docker:
		return openDocker(ctx, spec, opts)
	}
	return nil, spec.Source.Check()
}

// Record is one image listed by a store.
type Record struct {
	// Name as the store keeps it ("docker.io/library/alpine:3.19",
	// "sha256:…" for the kubelet's by-ID entries).
	Name      string `json:"name"`
	Digest    string `json:"digest"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
}

// List lists the images of containerd's namespace (through the socket, or
// from the files under Options.NodeRoot).
func List(ctx context.Context, opts Options) (recs []Record, where string, err error) {
	opts = opts.withDefaults()
	st, err := openContainerd(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	defer st.close()
	recs, err = st.list(ctx)
	return recs, st.where(), err
}

// store is one image store: names to descriptors, digests to blobs.
type store interface {
	resolve(ctx context.Context, name string) (Record, error)
	list(ctx context.Context) ([]Record, error)
	// open streams a blob; size is the stored size.
	open(ctx context.Context, d v1.Hash) (rc io.ReadCloser, size int64, err error)
	where() string
	close() error
}

func openContainerd(ctx context.Context, opts Options) (store, error) {
	if opts.NodeRoot != "" {
		return openFiles(opts)
	}
	return dialContainerd(ctx, opts)
}
