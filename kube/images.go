package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
)

// Image is what is known about a container's image.
type Image struct {
	// NSSwitch and Hosts are the image's files; a zero Path means unknown.
	NSSwitch model.File
	Hosts    model.File
	// Programs are the programs to predict for (side by side).
	Programs []model.Program
	// Unknown, when set, says that the image's programs are not known and
	// which input would tell ("not inspected: no --image-scan"). Programs
	// is then empty and every check is made on [Hypotheses], each a
	// condition, never graded above a warning.
	Unknown string
	// Source says where these facts came from; Assumed lists guesses.
	Source  string
	Assumed []string
}

// ImageFunc returns what is known of container c's image.
type ImageFunc func(pod *corev1.Pod, c *corev1.Container) Image

// Hypotheses are the programs an image that was not inspected is checked
// as, each the condition of its verdict: a static Go binary of Go 1.15 or
// older (the incident's: it ignores /etc/hosts first when nsswitch.conf is
// missing). No C library is assumed: a libc that is not in the image is
// not the host's.
func Hypotheses() []model.Program {
	return []model.Program{
		{Label: "a static Go ≤ 1.15 binary", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 15)}},
	}
}

// ImageFacts is what inspecting an image yields for name resolution; it is
// what the image cache stores.
type ImageFacts struct {
	Key string `json:"key"`
	Ref string `json:"ref"`
	// NSSwitch is the image's /etc/nsswitch.conf, as read (Missing when the
	// image has none).
	NSSwitch model.File      `json:"nsswitch"`
	Programs []model.Program `json:"programs"`
	Source   string          `json:"source"`
}

// Image turns the facts into what the Analyzer uses. The nsswitch.conf is
// cited as REF:/etc/nsswitch.conf.
func (f *ImageFacts) Image() Image {
	img := Image{Programs: f.Programs, Source: f.Source, NSSwitch: f.NSSwitch}
	if img.NSSwitch.Path == "" {
		img.NSSwitch.Path = model.PathNSSwitch
	}
	if f.Ref != "" {
		img.NSSwitch.Origin = f.Ref + ":" + img.NSSwitch.Path
	}
	return img
}

// ImageSpec is what is said about every container's image without
// inspecting it (the program flags): the programs (nil: not said), the
// nsswitch.conf (nil: not said) and kube-apiserver's version.
type ImageSpec struct {
	Programs    []model.Program
	Source      string
	NSSwitch    *model.File
	KubeVersion model.Version
}

// Images returns the ImageFunc that uses the inspected facts (by ImageKey)
// first, then the spec; failed says why an image was not inspected (by
// key). An image with neither facts nor programs in the spec is Unknown.
func (s ImageSpec) Images(facts map[string]*ImageFacts, failed map[string]string) ImageFunc {
	return func(pod *corev1.Pod, c *corev1.Container) Image {
		key, ref := ImageKey(pod, c.Name)
		if f, ok := facts[key]; ok {
			img := f.Image()
			if len(img.Programs) == 0 {
				img.Source = "image " + ref + " inspected: no program that resolves host names"
			}
			return img
		}
		img := Image{Programs: s.Programs, Source: s.Source}
		if len(img.Programs) == 0 {
			why := "not inspected (no --image-scan or --image-source)"
			if f, ok := failed[key]; ok {
				why = "not inspected (" + f + ")"
			}
			img.Unknown = "image " + ref + " " + why
			img.Source = why + "; no --go/--libc"
		}
		switch {
		case s.NSSwitch != nil:
			img.NSSwitch = *s.NSSwitch
		case IsAPIServer(c):
			v := s.KubeVersion
			if v.IsZero() {
				v, _ = VersionFromImage(c.Image)
			}
			f, why := APIServerImageNSSwitch(c.Image, v)
			img.NSSwitch = f
			img.Assumed = append(img.Assumed, why)
		default:
			img.NSSwitch = model.File{Path: model.PathNSSwitch, Origin: ref + ":" + model.PathNSSwitch + " (assumed absent)", Missing: true}
			img.Assumed = append(img.Assumed, "image /etc/nsswitch.conf: assumed absent (image not inspected), the worst case; pass --nsswitch")
		}
		return img
	}
}

// APIServerImageNSSwitch says what an apiserver image's nsswitch.conf is
// when the image was not inspected: official images (registry.k8s.io,
// k8s.gcr.io) of 1.13 and later ship "hosts: files dns" (kubernetes PR
// #69238, then debian-base #70245 and distroless #99015); 1.12 and older
// were busybox without the file (#69195); any other image is unknown and
// taken to have none, the worst case (Alpine ≤ 3.15, scratch).
func APIServerImageNSSwitch(image string, v model.Version) (model.File, string) {
	official := false
	for _, p := range []string{"registry.k8s.io/", "k8s.gcr.io/", "gcr.io/google_containers/", "gcr.io/google-containers/"} {
		if strings.HasPrefix(image, p) {
			official = true
		}
	}
	switch {
	case official && !v.IsZero() && v.Less(model.V(1, 13, 0)):
		return model.File{Path: model.PathNSSwitch, Origin: image + ":/etc/nsswitch.conf (absent)", Missing: true}, "official image before 1.13: busybox base without /etc/nsswitch.conf (kubernetes#69195)"
	case official:
		return model.File{Path: model.PathNSSwitch, Origin: image + ":/etc/nsswitch.conf (assumed)", Data: []byte("hosts: files dns\n")},
			"official image from 1.13: /etc/nsswitch.conf with \"hosts: files dns\" (kubernetes PRs #69238, #70245, #99015) [assumed, not inspected]"
	}
	return model.File{Path: model.PathNSSwitch, Origin: image + ":/etc/nsswitch.conf (assumed absent)", Missing: true}, "image not inspected and not an official one: assumed without /etc/nsswitch.conf, the worst case (Alpine ≤ 3.15, scratch); pass --nsswitch"
}
