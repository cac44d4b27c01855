package timeline

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Offset is a time since the start of a drill, measured on the monotonic
// clock. In JSON it is a number of seconds.
type Offset time.Duration

// Duration returns o as a time.Duration.
func (o Offset) Duration() time.Duration { return time.Duration(o) }

// Seconds returns o in seconds.
func (o Offset) Seconds() float64 { return time.Duration(o).Seconds() }

// MarshalJSON writes o as seconds.
func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(o.Seconds()) }

// UnmarshalJSON reads seconds.
func (o *Offset) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("offset: want seconds as a number: %w", err)
	}
	if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > math.MaxInt64/float64(time.Second) {
		return fmt.Errorf("offset: %v seconds is out of range", s)
	}
	*o = Offset(math.Round(s * float64(time.Second)))
	return nil
}
