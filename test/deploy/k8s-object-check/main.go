// k8s-object-check decodes Kubernetes manifests strictly into the API's own Go types, the way
// the API server's decoder does: an unknown field, a duplicate field or a value of the wrong
// type is an error. It covers the built-in kinds that have no OpenAPI document in shared/crds
// (core/v1, apps/v1, ...). It does not run the API server's semantic validation.
//
// Usage: k8s-object-check < manifests.yaml
// Prints "ok <apiVersion> <Kind>/<name>" per object, or "error <apiVersion> <Kind>/<name>: why";
// exits 1 when any object failed.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

func main() {
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	failed := false
	for {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Printf("error reading input: %v\n", err)
			os.Exit(2)
		}
		if len(bytes.TrimSpace(document)) == 0 {
			continue
		}
		raw, err := utilyaml.ToJSON(document)
		if err != nil {
			fmt.Printf("error not YAML: %v\n", err)
			failed = true
			continue
		}
		if string(raw) == "null" {
			continue
		}
		var header unstructured.Unstructured
		label := "unknown"
		if err := header.UnmarshalJSON(raw); err == nil {
			label = fmt.Sprintf("%s %s/%s", header.GetAPIVersion(), header.GetKind(), header.GetName())
		}
		if _, _, err := decoder.Decode(raw, nil, nil); err != nil {
			fmt.Printf("error %s: %v\n", label, err)
			failed = true
			continue
		}
		fmt.Printf("ok %s\n", label)
	}
	if failed {
		os.Exit(1)
	}
}
