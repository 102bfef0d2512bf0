package wasm

import (
	"errors"
	"fmt"
)

// Refusal codes of outcome class 4 (WIRE §6).
const (
	CodeImport    uint32 = 1
	CodeFeature   uint32 = 2
	CodeMemory    uint32 = 3
	CodeSize      uint32 = 4
	CodeMalformed uint32 = 5
)

// Outcome classes (WIRE §6).
const (
	ClassExit      uint8 = 0
	ClassTrap      uint8 = 1
	ClassOutOfFuel uint8 = 2
	ClassOverflow  uint8 = 3
	ClassRefused   uint8 = 4
)

// Trap codes of outcome class 1 (WIRE §6).
const (
	TrapUnreachable       uint32 = 1
	TrapDivideByZero      uint32 = 2
	TrapIntegerOverflow   uint32 = 3
	TrapInvalidConversion uint32 = 4
	TrapOutOfBounds       uint32 = 5
	TrapIndirectCallType  uint32 = 6
	TrapCallDepth         uint32 = 7
)

// AdmissionError is a refusal of a module at admission: outcome class 4 with Code.
// What names the import, feature or limit at fault, so a job author can fix it.
type AdmissionError struct {
	Code   uint32
	What   string // e.g. `env.foo`, `simd`, `memory minimum`, `module size`
	Detail string
}

func (e *AdmissionError) Error() string {
	kind := map[uint32]string{CodeImport: "import", CodeFeature: "feature", CodeMemory: "memory",
		CodeSize: "size", CodeMalformed: "malformed"}[e.Code]
	if e.Detail == "" {
		return fmt.Sprintf("module refused (%s, class 4 code %d): %s", kind, e.Code, e.What)
	}
	return fmt.Sprintf("module refused (%s, class 4 code %d): %s: %s", kind, e.Code, e.What, e.Detail)
}

// Is lets errors.Is match any AdmissionError against the sentinel of its code.
func (e *AdmissionError) Is(target error) bool {
	t, ok := target.(*AdmissionError)
	return ok && t.What == "" && t.Code == e.Code
}

// Sentinels for errors.Is: errors.Is(err, ErrRefusedImport) and so on.
var (
	ErrRefusedImport    = &AdmissionError{Code: CodeImport}
	ErrRefusedFeature   = &AdmissionError{Code: CodeFeature}
	ErrRefusedMemory    = &AdmissionError{Code: CodeMemory}
	ErrRefusedSize      = &AdmissionError{Code: CodeSize}
	ErrRefusedMalformed = &AdmissionError{Code: CodeMalformed}
)

func malformed(what string, args ...any) *AdmissionError {
	return &AdmissionError{Code: CodeMalformed, What: fmt.Sprintf(what, args...)}
}

func featureErr(feature, detail string) *AdmissionError {
	return &AdmissionError{Code: CodeFeature, What: feature, Detail: detail}
}

// ErrTimeout is returned when the local wall-clock safety net stopped a run. It is
// never an outcome: the caller must not commit to anything for this run.
var ErrTimeout = errors.New("job stopped by the local wall-clock safety net; no outcome")

// ErrEngineStackOverflow is returned if wazero's own stack limit is reached. The
// call-depth accounting is meant to make this impossible, so it is not an outcome.
var ErrEngineStackOverflow = errors.New("wazero native stack exhausted before the call-depth limit; no outcome")

// errAborted is what an abandoned run returns once the safety net has stopped
// it; nobody waits for that result any more.
var errAborted = errors.New("run stopped by the safety net")
