package httpapi

import (
	"encoding/json"
	"testing"
)

// TestNotificationPayloadMatchesTheMapEncoding: the notification payload
// is encoded from a struct; its bytes are the ones the map it replaced
// gave (sorted keys, data only when given, the same escaping), so stored
// events and frames did not change.
func TestNotificationPayloadMatchesTheMapEncoding(t *testing.T) {
	cases := []struct {
		level, message string
		data           json.RawMessage
	}{
		{"info", "bench", nil},
		{"warning", `a <b> & "c" é 😀 \ line` + "\n", json.RawMessage(`{"t": 1, "x": [1, 2, {"y": "<z>"}]}`)},
		{"error", "m", json.RawMessage(`{}`)},
	}
	for _, tc := range cases {
		m := map[string]any{"level": tc.level, "message": tc.message}
		p := notificationPayload{Level: tc.level, Message: tc.message}
		if tc.data != nil {
			m["data"] = tc.data
			p.Data = tc.data
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("struct %s\n   map %s", got, want)
		}
	}
}
