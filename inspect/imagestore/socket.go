package imagestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/v2/core/content"
	contentproxy "github.com/containerd/containerd/v2/core/content/proxy"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// socketStore talks to a running containerd: its images service for
// names, its content service for blobs (containerd's own client proxies).
type socketStore struct {
	address string
	ns      string
	conn    *grpc.ClientConn
	images  imagesapi.ImagesClient
	content content.Store
}

// maxRecvMsg matches containerd's client default (16 MiB).
const maxRecvMsg = 16 << 20

func dialContainerd(ctx context.Context, opts Options) (store, error) {
	addr := strings.TrimPrefix(opts.ContainerdAddress, "unix://")
	st, err := os.Stat(addr)
	if err != nil {
		return nil, noDaemon("no containerd at unix://%s (%v); give --containerd-address, or read a node's files with --containerd-root",
			addr, errors.Unwrap(err))
	}
	if st.Mode().Type() != os.ModeSocket {
		return nil, noDaemon("no containerd at unix://%s: not a socket", addr)
	}
	conn, err := grpc.NewClient("unix://"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg)))
	if err != nil {
		return nil, fmt.Errorf("containerd at unix://%s: %w", addr, err)
	}
	s := &socketStore{address: addr, ns: opts.Namespace, conn: conn,
		images: imagesapi.NewImagesClient(conn), content: contentproxy.NewContentStore(conn)}
	// One cheap call, bounded: a socket nobody serves fails here with a
	// clear message rather than at the first layer.
	pctx, cancel := context.WithTimeout(s.nsctx(ctx), 30*time.Second)
	defer cancel()
	if _, err := s.images.List(pctx, &imagesapi.ListImagesRequest{Filters: []string{"name==nsscope.invalid/ping"}}); err != nil {
		conn.Close()
		return nil, s.wrap("", err)
	}
	return s, nil
}

func (s *socketStore) nsctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, s.ns)
}

func (s *socketStore) where() string {
	return fmt.Sprintf("containerd at unix://%s, namespace %s", s.address, s.ns)
}

func (s *socketStore) close() error { return s.conn.Close() }

// wrap turns a gRPC status into an error naming the daemon.
func (s *socketStore) wrap(what string, err error) error {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.NotFound:
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case codes.Unavailable:
		return noDaemon("no containerd answering at unix://%s: %s", s.address, st.Message())
	case codes.PermissionDenied:
		return fmt.Errorf("containerd at unix://%s: %s", s.address, st.Message())
	}
	if what != "" {
		return fmt.Errorf("containerd at unix://%s: %s: %w", s.address, what, err)
	}
	return fmt.Errorf("containerd at unix://%s: %w", s.address, err)
}

func recordOf(img *imagesapi.Image) Record {
	r := Record{Name: img.GetName()}
	if t := img.GetTarget(); t != nil {
		r.Digest, r.MediaType, r.Size = t.GetDigest(), t.GetMediaType(), t.GetSize()
	}
	return r
}

func (s *socketStore) resolve(ctx context.Context, name string) (Record, error) {
	resp, err := s.images.Get(s.nsctx(ctx), &imagesapi.GetImageRequest{Name: name})
	if err != nil {
		return Record{}, s.wrap(name, err)
	}
	return recordOf(resp.GetImage()), nil
}

func (s *socketStore) list(ctx context.Context) ([]Record, error) {
	resp, err := s.images.List(s.nsctx(ctx), &imagesapi.ListImagesRequest{})
	if err != nil {
		return nil, s.wrap("", err)
	}
	recs := make([]Record, 0, len(resp.GetImages()))
	for _, img := range resp.GetImages() {
		recs = append(recs, recordOf(img))
	}
	sortRecords(recs)
	return recs, nil
}

func (s *socketStore) open(ctx context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
	ctx = s.nsctx(ctx)
	info, err := s.content.Info(ctx, digestOf(d))
	if err != nil {
		if st, _ := status.FromError(err); st.Code() == codes.NotFound || strings.Contains(err.Error(), "not found") {
			return nil, 0, fmt.Errorf("%s in %s: %w", d, s.where(), ErrBlobMissing)
		}
		return nil, 0, s.wrap(d.String(), err)
	}
	ra, err := s.content.ReaderAt(ctx, ocispec.Descriptor{Digest: digestOf(d), Size: info.Size})
	if err != nil {
		return nil, 0, s.wrap(d.String(), err)
	}
	return readerAtCloser{io.NewSectionReader(ra, 0, info.Size), ra}, info.Size, nil
}

func digestOf(d v1.Hash) digest.Digest { return digest.Digest(d.String()) }

type readerAtCloser struct {
	io.Reader
	c io.Closer
}

func (r readerAtCloser) Close() error { return r.c.Close() }
