package input

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is a mistake in user input. File, Line and Field locate it when they
// are known; Error prints them as "file:line: field: message".
type Error struct {
	File  string // file the input came from, if any
	Line  int    // 1-based line in File, 0 when unknown
	Field string // dotted path of the offending field, if any
	Err   error  // what is wrong
}

// Errorf returns an *Error located at file, line and field with a formatted
// message. Pass "" and 0 for what is not known.
func Errorf(file string, line int, field, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	var s string
	if e.File != "" {
		s = e.File
		if e.Line > 0 {
			s += ":" + strconv.Itoa(e.Line)
		}
		s += ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	if e.Err == nil {
		return s + "invalid input"
	}
	return s + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether err, or any error it wraps, is an *Error.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
