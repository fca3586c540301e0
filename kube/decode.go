package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/nsscope/nsscope/internal/jsonstyle"
)

// MaxManifestBytes caps one input (file or stream); larger inputs are
// rejected rather than read into memory.
const MaxManifestBytes = 256 << 20

// Source locates an object in the input.
type Source struct {
	File string `json:"file"`
	// Doc is the 1-based YAML document (0 for a JSON stream value).
	Doc int `json:"doc,omitempty"`
	// Line is the first line of that document.
	Line int `json:"line,omitempty"`
	// Item is the 0-based index inside a List, or -1.
	Item int `json:"item"`
}

func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.File)
	if s.Line > 0 {
		fmt.Fprintf(&b, ":%d", s.Line)
	}
	if s.Doc > 1 || (s.Doc == 1 && s.Line > 1) {
		fmt.Fprintf(&b, " (document %d)", s.Doc)
	}
	if s.Item >= 0 {
		fmt.Fprintf(&b, " items[%d]", s.Item)
	}
	return b.String()
}

// Workload is one pod (or pod template) found in the input, turned into the
// pod the kubelet would be given.
type Workload struct {
	Source Source `json:"source"`
	// Kind and Name are the object's own (Deployment "web"); for a Pod they
	// are "Pod" and the pod's name.
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Pod is the pod as the kubelet sees it. For workloads it is built from
	// the pod template: its name is the workload's (the real one carries a
	// generated suffix), StatefulSet pods get hostname <name>-0 and the
	// serviceName subdomain as the StatefulSet controller sets them.
	Pod *corev1.Pod `json:"-"`
	// Notes are assumptions made while building Pod.
	Notes []string `json:"notes,omitempty"`
}

// Ref is "<namespace>/<pod>", the pod part of a container's subject.
func (w *Workload) Ref() string { return w.Namespace + "/" + w.Pod.Name }

// ItemError is an object that could not be used; it names the object as
// precisely as the input allows.
type ItemError struct {
	Source Source
	Kind   string
	Name   string
	Err    error
}

func (e *ItemError) Error() string {
	var what string
	switch {
	case e.Kind != "" && e.Name != "":
		what = fmt.Sprintf("%s %q", e.Kind, e.Name)
	case e.Kind != "":
		what = e.Kind
	case e.Name != "":
		what = strconv.Quote(e.Name)
	}
	if what != "" {
		return fmt.Sprintf("%s: %s: %v", e.Source, what, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Source, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// Decoded is what Decode found in one input.
type Decoded struct {
	Workloads []*Workload
	// Errors are objects that could not be read; the others are still in
	// Workloads.
	Errors []*ItemError
	// Skipped lists objects of kinds that run no pods (Service, ConfigMap,
	// ...), one line each.
	Skipped []string
	// yield, when set, receives each workload instead of Workloads.
	yield func(*Workload)
}

// Decode reads Kubernetes objects from data: one or more YAML documents
// separated by "---", or JSON values, each a Pod, a workload (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob,
// PodTemplate) or a List of them (kubectl get -o json|yaml). name is used
// when citing the input. Broken objects are reported in Errors and the rest
// still decoded; Decode never panics on any input.
func Decode(name string, data []byte) *Decoded {
	return DecodeEach(name, data, nil)
}

// DecodeEach is Decode handing each workload to yield as soon as it is
// decoded (Workloads stays empty), so that a caller can check it and let
// it go before the next: the items of a List are decoded one at a time,
// never all at once, and memory stays flat per pod however long the list.
// A nil yield collects them in Workloads.
func DecodeEach(name string, data []byte, yield func(*Workload)) *Decoded {
	d := &Decoded{yield: yield}
	if len(data) > MaxManifestBytes {
		d.Errors = append(d.Errors, &ItemError{Source: Source{File: name, Item: -1},
			Err: fmt.Errorf("input is %d bytes, more than the %d accepted", len(data), MaxManifestBytes)})
		return d
	}
	if utilyaml.IsJSONBuffer(data) {
		dec := json.NewDecoder(bytes.NewReader(data))
		for i := 1; ; i++ {
			err := d.jsonValue(dec, Source{File: name, Doc: i, Item: -1})
			if err != nil {
				if !errors.Is(err, io.EOF) {
					d.Errors = append(d.Errors, &ItemError{Source: Source{File: name, Doc: i, Item: -1},
						Err: fmt.Errorf("malformed JSON: %w", err)})
				}
				break
			}
		}
		return d
	}
	for _, doc := range splitYAML(data) {
		src := Source{File: name, Doc: doc.n, Line: doc.line, Item: -1}
		if isBlankYAML(doc.text) {
			continue
		}
		if header, items, ok := splitYAMLList(doc.text); ok {
			d.yamlList(src, header, items)
			continue
		}
		js, err := sigsyaml.YAMLToJSON(doc.text)
		if err != nil {
			d.Errors = append(d.Errors, &ItemError{Source: src, Err: fmt.Errorf("malformed YAML: %w", fileLineError{err, doc.line - 1})})
			continue
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		d.document(src, js)
	}
	return d
}

// jsonValue decodes one top-level JSON value token by token: the items of
// a List are decoded one at a time as they are met.
func (d *Decoded) jsonValue(dec *json.Decoder, src Source) error {
	tok, err := dec.Token()
	if err != nil {
		return err // io.EOF here is the clean end of the stream
	}
	if err := d.jsonRest(dec, src, tok); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// jsonRest decodes the rest of a value whose first token is tok.
func (d *Decoded) jsonRest(dec *json.Decoder, src Source, tok json.Token) error {
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		if ok {
			if err := skipJSON(dec); err != nil {
				return err
			}
		}
		d.Errors = append(d.Errors, &ItemError{Source: src, Err: fmt.Errorf("not a Kubernetes object: %s", jsonKind(tok))})
		return nil
	}
	fields := map[string]json.RawMessage{}
	type pending struct {
		src Source
		raw json.RawMessage
	}
	var deferred []pending
	streamed, item := false, 0
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		if key != "items" || streamed {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			fields[key] = raw
			continue
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if t == nil {
			continue // "items": null
		}
		if delim, ok := t.(json.Delim); !ok || delim != '[' {
			d.Errors = append(d.Errors, &ItemError{Source: src, Err: errors.New("not a Kubernetes object: items is not a list")})
			if ok {
				if err := skipJSON(dec); err != nil {
					return err
				}
			}
			continue
		}
		streamed = true
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			isrc := src
			isrc.Item = item
			item++
			// A typed list's items name no kind: they wait for the list's
			// own kind, which kubectl writes after the items.
			if _, known := fields["kind"]; known || hasKind(raw) {
				d.object(isrc, raw, rawString(fields["apiVersion"]), strings.TrimSuffix(rawString(fields["kind"]), "List"))
			} else {
				deferred = append(deferred, pending{isrc, raw})
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	if !streamed {
		js, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		d.document(src, js)
		return nil
	}
	for _, p := range deferred {
		d.object(p.src, p.raw, rawString(fields["apiVersion"]), strings.TrimSuffix(rawString(fields["kind"]), "List"))
	}
	return nil
}

// skipJSON consumes the rest of a value whose opening delimiter was read.
func skipJSON(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if delim, ok := t.(json.Delim); ok {
			if delim == '{' || delim == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "a JSON array"
	case string:
		return "a JSON string"
	case nil:
		return "null"
	case bool:
		return "a JSON boolean"
	}
	return "a JSON number"
}

// hasKind reports whether a JSON object names its kind.
func hasKind(raw json.RawMessage) bool {
	var k struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(raw, &k) == nil && k.Kind != ""
}

// rawString is a JSON string's value, or "".
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// yamlItem is one item of a YAML List, dedented, with its first line.
type yamlItem struct {
	text []byte
	line int
}

// splitYAMLList cuts a YAML document that is a List written the way
// kubectl writes one (a top-level "items:" key followed by a sequence of
// "- " entries) into its other keys and its items, so that each item is
// parsed alone. ok is false for any other shape, which is then parsed
// whole.
func splitYAMLList(doc []byte) (header []byte, items []yamlItem, ok bool) {
	lines := bytes.SplitAfter(doc, []byte("\n"))
	var head bytes.Buffer
	in, col := false, -1
	var cur *yamlItem
	flush := func() {
		if cur != nil {
			items = append(items, *cur)
			cur = nil
		}
	}
	for i, l := range lines {
		t := bytes.TrimRight(l, "\r\n")
		trim := bytes.TrimLeft(t, " ")
		indent := len(t) - len(trim)
		switch {
		case !in && bytes.Equal(bytes.TrimRight(t, " "), []byte("items:")):
			in, ok = true, true
			continue
		case !in:
			head.Write(l)
			continue
		case len(trim) == 0 || trim[0] == '#':
			if cur != nil {
				cur.text = append(cur.text, '\n')
			}
			continue
		case col < 0 && trim[0] == '-':
			col = indent
		}
		isEntry := col >= 0 && indent == col && (bytes.HasPrefix(trim, []byte("- ")) || bytes.Equal(trim, []byte("-")))
		switch {
		case isEntry:
			flush()
			cur = &yamlItem{line: i + 1}
			cur.text = append(cur.text, bytes.TrimPrefix(bytes.TrimPrefix(trim, []byte("-")), []byte(" "))...)
			cur.text = append(cur.text, '\n')
		case col >= 0 && indent > col && cur != nil:
			cur.text = append(cur.text, t[min(len(t), col+2):]...)
			cur.text = append(cur.text, '\n')
		case indent == 0:
			// The next top-level key: the items are over.
			flush()
			in = false
			head.Write(l)
		default:
			return nil, nil, false
		}
	}
	flush()
	return head.Bytes(), items, ok && col >= 0
}

// yamlList decodes a List cut by splitYAMLList, one item at a time.
func (d *Decoded) yamlList(src Source, header []byte, items []yamlItem) {
	var h struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := sigsyaml.Unmarshal(header, &h); err != nil {
		d.Errors = append(d.Errors, &ItemError{Source: src, Err: fmt.Errorf("malformed YAML: %w", fileLineError{jsonstyle.Describe(err), src.Line - 1})})
		return
	}
	for i, it := range items {
		isrc := src
		isrc.Item, isrc.Line = i, src.Line+it.line-1
		js, err := sigsyaml.YAMLToJSON(it.text)
		if err != nil {
			d.Errors = append(d.Errors, &ItemError{Source: isrc, Err: fmt.Errorf("malformed YAML: %w", fileLineError{err, isrc.Line - 1})})
			continue
		}
		d.object(isrc, js, h.APIVersion, strings.TrimSuffix(h.Kind, "List"))
	}
}

// yamlLine finds the document-relative line in a YAML parser error.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// fileLineError rewrites a YAML error's "line N" (counted from the start of
// its document) to the line in the file.
type fileLineError struct {
	err    error
	offset int
}

func (e fileLineError) Error() string {
	return yamlLine.ReplaceAllStringFunc(e.err.Error(), func(m string) string {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if err != nil {
			return m
		}
		return fmt.Sprintf("line %d", n+e.offset)
	})
}

func (e fileLineError) Unwrap() error { return e.err }

type yamlDoc struct {
	n, line int
	text    []byte
}

// splitYAML cuts a YAML stream at document separator lines ("---" alone or
// followed by blanks or a comment), remembering where each document starts.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	cur := yamlDoc{n: 1, line: 1}
	start := 0
	line := 1
	for pos := 0; pos <= len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		var l []byte
		next := len(data) + 1
		if end < 0 {
			l = data[pos:]
		} else {
			l = data[pos : pos+end]
			next = pos + end + 1
		}
		if isSeparator(l) {
			cur.text = data[start:pos]
			docs = append(docs, cur)
			cur = yamlDoc{n: cur.n + 1, line: line + 1}
			start = min(next, len(data))
		}
		pos = next
		line++
	}
	cur.text = data[start:]
	docs = append(docs, cur)
	// Documents are numbered as a reader counts them: a leading separator
	// does not make an empty first document.
	if len(docs) > 1 && isBlankYAML(docs[0].text) {
		docs = docs[1:]
		for i := range docs {
			docs[i].n--
		}
	}
	return docs
}

func isSeparator(l []byte) bool {
	l = bytes.TrimRight(l, "\r")
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t'
}

// isBlankYAML reports a document with nothing but comments and blanks.
func isBlankYAML(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

// header is the part of any object read before choosing its type.
type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}

func (d *Decoded) document(src Source, js []byte) {
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		// Not an object at all (a scalar, an array) or metadata of the
		// wrong shape: name what we can.
		d.Errors = append(d.Errors, &ItemError{Source: src, Err: fmt.Errorf("not a Kubernetes object: %w", jsonstyle.Describe(err))})
		return
	}
	if strings.HasSuffix(h.Kind, "List") || (h.Kind == "" && h.Items != nil) {
		itemKind := strings.TrimSuffix(h.Kind, "List")
		for i, raw := range h.Items {
			isrc := src
			isrc.Item = i
			d.object(isrc, raw, h.APIVersion, itemKind)
		}
		return
	}
	d.object(src, js, "", "")
}

// object decodes one object with client-go's universal deserializer. When
// it comes from a typed list (PodList) whose items carry no apiVersion or
// kind, they are taken from the list.
func (d *Decoded) object(src Source, js []byte, listAPIVersion, listItemKind string) {
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		d.Errors = append(d.Errors, &ItemError{Source: src, Err: fmt.Errorf("not a Kubernetes object: %w", jsonstyle.Describe(err))})
		return
	}
	if h.Kind == "" && listItemKind != "" {
		var m map[string]any
		if err := json.Unmarshal(js, &m); err == nil && m != nil {
			m["kind"] = listItemKind
			if _, ok := m["apiVersion"]; !ok {
				m["apiVersion"] = listAPIVersion
			}
			if b, err := json.Marshal(m); err == nil {
				js = b
				h.Kind = listItemKind
			}
		}
	}
	ie := &ItemError{Source: src, Kind: h.Kind, Name: h.Metadata.Name}
	if h.Kind == "" {
		ie.Err = errors.New("kind is missing")
		d.Errors = append(d.Errors, ie)
		return
	}
	if h.APIVersion == "" && listAPIVersion == "" {
		ie.Err = errors.New("apiVersion is missing")
		d.Errors = append(d.Errors, ie)
		return
	}
	obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(js, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) {
			if knownNoPods(h.Kind) {
				d.Skipped = append(d.Skipped, fmt.Sprintf("%s: %s %q runs no pods", src, h.Kind, h.Metadata.Name))
				return
			}
			ie.Err = fmt.Errorf("unknown kind %s in %s (nsscope reads Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate and Lists of them)", h.Kind, h.APIVersion)
		} else {
			ie.Err = fmt.Errorf("cannot decode: %w", jsonstyle.Describe(err))
		}
		d.Errors = append(d.Errors, ie)
		return
	}
	w, err := workloadFrom(obj)
	if err != nil {
		ie.Err = err
		d.Errors = append(d.Errors, ie)
		return
	}
	if w == nil {
		d.Skipped = append(d.Skipped, fmt.Sprintf("%s: %s %q runs no pods", src, gvk.Kind, h.Metadata.Name))
		return
	}
	w.Source = src
	if err := w.check(); err != nil {
		ie.Err = err
		d.Errors = append(d.Errors, ie)
		return
	}
	if d.yield != nil {
		d.yield(w)
		return
	}
	d.Workloads = append(d.Workloads, w)
}

// knownNoPods lists kinds outside client-go's scheme that never run pods
// and are common in manifests next to workloads.
func knownNoPods(kind string) bool {
	switch kind {
	case "CustomResourceDefinition", "APIService", "Kustomization":
		return true
	}
	return false
}

// workloadFrom turns a decoded object into the pod the kubelet would get;
// nil, nil for kinds without a pod template.
func workloadFrom(obj runtime.Object) (*Workload, error) {
	tmpl := func(kind string, meta metav1.ObjectMeta, t *corev1.PodTemplateSpec) *Workload {
		return fromTemplate(kind, meta, t)
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		w := &Workload{Kind: "Pod", Name: o.Name, Namespace: o.Namespace, Pod: o.DeepCopy()}
		return w, nil
	case *corev1.PodTemplate:
		return tmpl("PodTemplate", o.ObjectMeta, &o.Template), nil
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, errors.New("spec.template is missing")
		}
		return tmpl("ReplicationController", o.ObjectMeta, o.Spec.Template), nil
	case *appsv1.Deployment:
		return tmpl("Deployment", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1.ReplicaSet:
		return tmpl("ReplicaSet", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1.DaemonSet:
		return tmpl("DaemonSet", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1.StatefulSet:
		return statefulSet(o.ObjectMeta, &o.Spec.Template, o.Spec.ServiceName), nil
	case *appsv1beta1.Deployment:
		return tmpl("Deployment", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1beta1.StatefulSet:
		return statefulSet(o.ObjectMeta, &o.Spec.Template, o.Spec.ServiceName), nil
	case *appsv1beta2.Deployment:
		return tmpl("Deployment", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1beta2.ReplicaSet:
		return tmpl("ReplicaSet", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1beta2.DaemonSet:
		return tmpl("DaemonSet", o.ObjectMeta, &o.Spec.Template), nil
	case *appsv1beta2.StatefulSet:
		return statefulSet(o.ObjectMeta, &o.Spec.Template, o.Spec.ServiceName), nil
	case *extv1beta1.Deployment:
		return tmpl("Deployment", o.ObjectMeta, &o.Spec.Template), nil
	case *extv1beta1.ReplicaSet:
		return tmpl("ReplicaSet", o.ObjectMeta, &o.Spec.Template), nil
	case *extv1beta1.DaemonSet:
		return tmpl("DaemonSet", o.ObjectMeta, &o.Spec.Template), nil
	case *batchv1.Job:
		return tmpl("Job", o.ObjectMeta, &o.Spec.Template), nil
	case *batchv1.CronJob:
		return tmpl("CronJob", o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template), nil
	case *batchv1beta1.CronJob:
		return tmpl("CronJob", o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template), nil
	}
	return nil, nil
}

func fromTemplate(kind string, meta metav1.ObjectMeta, t *corev1.PodTemplateSpec) *Workload {
	pod := &corev1.Pod{ObjectMeta: *t.ObjectMeta.DeepCopy(), Spec: *t.Spec.DeepCopy()}
	pod.Name = meta.Name
	pod.Namespace = meta.Namespace
	return &Workload{Kind: kind, Name: meta.Name, Namespace: meta.Namespace, Pod: pod,
		Notes: []string{fmt.Sprintf("pod built from the %s's template; its real name carries a generated suffix", kind)}}
}

func statefulSet(meta metav1.ObjectMeta, t *corev1.PodTemplateSpec, serviceName string) *Workload {
	w := fromTemplate("StatefulSet", meta, t)
	w.Pod.Name = meta.Name + "-0"
	w.Pod.Spec.Hostname = w.Pod.Name
	w.Pod.Spec.Subdomain = serviceName
	w.Notes = []string{"pod " + w.Pod.Name + " of the StatefulSet: the controller sets hostname to the pod name and subdomain to spec.serviceName"}
	return w
}

// check rejects objects the kubelet could never run and fills the defaults
// the API server would have applied to fields that matter here.
func (w *Workload) check() error {
	if w.Name == "" {
		return errors.New("metadata.name is missing")
	}
	if len(w.Pod.Spec.Containers) == 0 {
		return errors.New("no containers (spec.containers is empty or missing)")
	}
	for i, c := range w.Pod.Spec.Containers {
		if c.Name == "" {
			return fmt.Errorf("spec.containers[%d].name is missing", i)
		}
	}
	for i, c := range w.Pod.Spec.InitContainers {
		if c.Name == "" {
			return fmt.Errorf("spec.initContainers[%d].name is missing", i)
		}
	}
	if w.Namespace == "" {
		w.Namespace = "default"
		w.Pod.Namespace = "default"
		w.Notes = append(w.Notes, "metadata.namespace unset: the API server (and the kubelet, for a static pod) puts it in \"default\"")
	}
	return nil
}
