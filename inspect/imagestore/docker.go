package imagestore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/client"
)

// pingTimeout bounds the first call to a Docker daemon: a socket whose
// owner does not answer is reported, not waited on.
const pingTimeout = 30 * time.Second

// openDocker reads an image from a Docker daemon with go-containerregistry's
// daemon package. The daemon exports the image once (docker save) into
// a file of nsscope's temporary directory; the layers are read from it.
func openDocker(ctx context.Context, spec Spec, opts Options) (*Image, error) {
	ref, err := name.ParseReference(spec.Ref)
	if err != nil {
		return nil, fmt.Errorf("%s: not an image reference: %w", spec.Ref, err)
	}
	copts := []client.Opt{client.FromEnv}
	if opts.DockerHost != "" {
		copts = append(copts, client.WithHost(opts.DockerHost))
	}
	cli, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	host := cli.DaemonHost()
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	_, err = cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	cancel()
	if err != nil {
		cli.Close()
		return nil, noDaemon("no Docker daemon at %s (%s)", host, rootCause(err))
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "nsscope-docker-")
	if err != nil {
		cli.Close()
		return nil, err
	}
	fc := &savedClient{Client: cli, ctx: ctx, path: filepath.Join(tmp, "image.tar")}
	closeAll := func() error { cli.Close(); return os.RemoveAll(tmp) }
	img, err := daemon.Image(ref, daemon.WithClient(fc), daemon.WithContext(ctx), daemon.WithUnbufferedOpener())
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("%s in the Docker daemon at %s: %w", ref, host, err)
	}
	out := &Image{Image: img, Spec: spec, Name: ref.String(), Where: "Docker daemon at " + host,
		LayersUncompressed: true, close: closeAll}
	if d, err := img.Digest(); err == nil {
		out.Digest = d.String()
	}
	return out, nil
}

// rootCause is the innermost message of an error chain: "dial unix
// /var/run/docker.sock: connect: no such file or directory" rather than
// the client's paragraph.
func rootCause(err error) string {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err.Error()
		}
		err = u.Unwrap()
	}
}

// savedClient exports an image from the daemon once into a file and
// serves every later export from that file: go-containerregistry's
// unbuffered opener asks for one export per blob read.
type savedClient struct {
	*client.Client
	ctx  context.Context
	path string
	once sync.Once
	err  error
}

func (s *savedClient) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	s.once.Do(func() { s.err = s.save(images, opts) })
	if s.err != nil {
		return nil, s.err
	}
	return os.Open(s.path)
}

func (s *savedClient) save(images []string, opts []client.ImageSaveOption) error {
	rc, err := s.Client.ImageSave(s.ctx, images, opts...)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("docker save: %w", err)
	}
	return f.Close()
}
