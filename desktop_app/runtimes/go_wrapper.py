"""The Go files Tidemill adds to a script to make a program of it.

The script (Windmill's form: `package inner` with `func main(x string, n int)
(interface{}, error)`) is compiled as package `inner` of a module with a generated
`package main`. `TidemillRun` calls `main` through reflection, decoding each argument's
JSON into the type of the parameter at its position, so any parameter type
encoding/json can decode (structs with tags, maps, slices, pointers) works without
reading the types from the source. Missing arguments get the zero value.

The program reads JOB_DIR/args.json ({"names": [...], "args": {...}}) and writes
JOB_DIR/result.json, or JOB_DIR/error.json ({"name", "message", "stack"}) for an error
returned by main, a panic, or a result encoding/json cannot encode.
"""

MODULE = "tidemill.job/script"

RUN_GO = r'''package inner

import (
	"encoding/json"
	"fmt"
	"reflect"
)

var tidemillErrorType = reflect.TypeOf((*error)(nil)).Elem()

func TidemillRun(names []string, raw map[string]json.RawMessage) (interface{}, error) {
	fn := reflect.ValueOf(main)
	t := fn.Type()
	in := make([]reflect.Value, t.NumIn())
	for i := range in {
		v := reflect.New(t.In(i))
		if i < len(names) {
			if data, ok := raw[names[i]]; ok && len(data) > 0 {
				if err := json.Unmarshal(data, v.Interface()); err != nil {
					return nil, fmt.Errorf("argument %q does not fit %s: %v", names[i], t.In(i), err)
				}
			}
		}
		in[i] = v.Elem()
	}
	out := fn.Call(in)
	var result interface{}
	var err error
	for i, v := range out {
		if t.Out(i) == tidemillErrorType {
			if !v.IsNil() {
				err = v.Interface().(error)
			}
		} else if i == 0 {
			result = v.Interface()
		}
	}
	return result, err
}
'''

MAIN_GO = r'''package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	inner "tidemill.job/script/inner"
)

type tidemillError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

func write(dir, name string, value interface{}) error {
	data, err := json.Marshal(value)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

func fail(dir string, e tidemillError) {
	fmt.Fprintln(os.Stderr, e.Name+": "+e.Message)
	if err := write(dir, "error.json", e); err != nil {
		fmt.Fprintln(os.Stderr, "cannot write error.json:", err)
		os.Exit(1)
	}
}

// userStack keeps the frames from the panic down, with the script's file as main.go.
func userStack(stack []byte) string {
	s := string(stack)
	if i := strings.Index(s, "\npanic("); i >= 0 {
		rest := s[i+1:]
		for n := 0; n < 2; n++ {
			if j := strings.Index(rest, "\n"); j >= 0 {
				rest = rest[j+1:]
			}
		}
		s = "goroutine 1 [running]:\n" + rest
	}
	return strings.ReplaceAll(s, "tidemill.job/script/inner/main.go", "main.go")
}

func main() {
	dir := os.Args[1]
	var spec struct {
		Names []string                   `json:"names"`
		Args  map[string]json.RawMessage `json:"args"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "args.json"))
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		fail(dir, tidemillError{Name: "ArgumentError", Message: err.Error()})
		return
	}
	defer func() {
		if r := recover(); r != nil {
			fail(dir, tidemillError{Name: "Panic", Message: fmt.Sprint(r), Stack: userStack(debug.Stack())})
		}
	}()
	result, err := inner.TidemillRun(spec.Names, spec.Args)
	os.Stdout.Sync()
	if err != nil {
		fail(dir, tidemillError{Name: "Error", Message: err.Error()})
		return
	}
	if err := write(dir, "result.json", result); err != nil {
		fail(dir, tidemillError{Name: "ResultNotSerializable", Message: err.Error()})
	}
}
'''
