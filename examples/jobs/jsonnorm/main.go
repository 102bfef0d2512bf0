// Command jsonnorm is a Guild job: it reads one JSON document on stdin and writes
// it back normalised (object keys sorted, no insignificant whitespace, numbers as
// written) with the values of sensitive keys replaced by "[REDACTED]".
//
// The keys to redact are the arguments; without arguments a default list is used.
// Matching ignores case. Build: GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

var defaultKeys = []string{"password", "secret", "token", "api_key", "ssn", "credit_card"}

func main() {
	keys := os.Args[1:]
	if len(keys) == 0 {
		keys = defaultKeys
	}
	redact := map[string]bool{}
	for _, k := range keys {
		redact[strings.ToLower(k)] = true
	}
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		fmt.Fprintln(os.Stderr, "jsonnorm: bad input:", err)
		os.Exit(2)
	}
	if _, err := dec.Token(); err != io.EOF {
		fmt.Fprintln(os.Stderr, "jsonnorm: trailing data after the document")
		os.Exit(2)
	}
	var out bytes.Buffer
	n := write(&out, v, redact)
	out.WriteByte('\n')
	os.Stdout.Write(out.Bytes())
	fmt.Fprintf(os.Stderr, "jsonnorm: %d values redacted\n", n)
}

// write emits v canonically and returns how many values it redacted.
func write(w *bytes.Buffer, v any, redact map[string]bool) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				w.WriteByte(',')
			}
			writeString(w, k)
			w.WriteByte(':')
			if redact[strings.ToLower(k)] {
				writeString(w, "[REDACTED]")
				n++
				continue
			}
			n += write(w, x[k], redact)
		}
		w.WriteByte('}')
	case []any:
		w.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.WriteByte(',')
			}
			n += write(w, e, redact)
		}
		w.WriteByte(']')
	case string:
		writeString(w, x)
	case json.Number:
		w.WriteString(x.String())
	case bool:
		if x {
			w.WriteString("true")
		} else {
			w.WriteString("false")
		}
	case nil:
		w.WriteString("null")
	}
	return n
}

func writeString(w *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	w.Write(b)
}
