package model

import (
	"encoding/json"
	"math"
	"time"
)

// Seconds is a duration that JSON writes as a number of seconds (what
// time.Duration.Seconds returns) under a name ending in _seconds, and reads
// back rounded to the nanosecond. Every duration in nsscope's JSON
// documents has this type.
type Seconds time.Duration

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// Seconds returns s as a floating-point number of seconds.
func (s Seconds) Seconds() float64 { return time.Duration(s).Seconds() }

// String formats s as time.Duration does ("1.5s").
func (s Seconds) String() string { return time.Duration(s).String() }

// MarshalJSON writes s as a number of seconds.
func (s Seconds) MarshalJSON() ([]byte, error) { return json.Marshal(s.Seconds()) }

// UnmarshalJSON reads a number of seconds, rounded to the nanosecond.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*s = Seconds(FromSeconds(f))
	return nil
}

// Text is a file's content, which JSON writes as a string (bytes that are
// not UTF-8 become U+FFFD, as for any Go string) rather than base64.
type Text []byte

// MarshalJSON writes t as a JSON string.
func (t Text) MarshalJSON() ([]byte, error) { return json.Marshal(string(t)) }

// UnmarshalJSON reads a JSON string.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = Text(s)
	return nil
}

// FromSeconds is the inverse of time.Duration.Seconds, rounded to the
// nanosecond.
func FromSeconds(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }
