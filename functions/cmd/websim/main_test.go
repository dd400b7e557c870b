package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"UnknownOrder", []string{"--order", "random"}},
		{"UnknownForbid", []string{"--forbid", "40302"}},
		{"BadFieldRateOverOne", []string{"--bad-field-rate", "1.5"}},
		{"NegativeChurn", []string{"--churn", "-0.1"}},
		{"UnknownFlag", []string{"--nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut testkit.Buffer
			if code := run(context.Background(), append(tt.args, "--addr", "127.0.0.1:0"), &out, &errOut); code != 2 {
				t.Fatalf("exit: got %d, want 2 (%s)", code, errOut.String())
			}
		})
	}
}

// TestServe runs the command with the new knobs and reads its answers.
func TestServe(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		path   string
		status int
		check  func(t *testing.T, body []byte, h http.Header)
	}{
		{"Forbid", []string{"--forbid", "40304"}, "/tickets?filter_by=all", 403, func(t *testing.T, body []byte, h http.Header) {
			if !strings.Contains(string(body), `"error_code":40304`) {
				t.Errorf("body %s: want error_code 40304", body)
			}
		}},
		{"OrderAndBadFields", []string{"--order", "number-asc", "--bad-field-rate", "1"}, "/tickets?filter_by=all&limit=5", 200, func(t *testing.T, body []byte, h http.Header) {
			var list []map[string]any
			if err := json.Unmarshal(body, &list); err != nil || len(list) != 5 {
				t.Fatalf("body %s: %v", body, err)
			}
			if a, b := list[0]["ticket_number"].(float64), list[1]["ticket_number"].(float64); a > b {
				t.Errorf("number-asc: #%v before #%v", a, b)
			}
			if h.Get("X-Total-Items") == "" {
				t.Error("X-Total-Items missing")
			}
		}},
		{"UnknownFilter", nil, "/tickets?filter_by=invalid", 422, func(t *testing.T, body []byte, h http.Header) {
			if !strings.Contains(string(body), `"error_code":42201`) {
				t.Errorf("body %s: want error_code 42201", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var out, errOut testkit.Buffer
			done := make(chan int, 1)
			args := append([]string{"--addr", "127.0.0.1:0", "--tickets", "50", "--api-token", "tok-123", "--rate-limit", "0"}, tt.args...)
			go func() { done <- run(ctx, args, &out, &errOut) }()
			addr := ""
			re := regexp.MustCompile(`listening on (http://\S+)`)
			for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if m := re.FindStringSubmatch(out.String()); m != nil {
					addr = m[1]
				}
			}
			if addr == "" {
				cancel()
				t.Fatalf("no address in %q %q", out.String(), errOut.String())
			}
			req, _ := http.NewRequest("GET", addr+tt.path, nil)
			req.Header.Set("Authorization", "Bearer tok-123")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d (%s)", resp.StatusCode, tt.status, body)
			} else {
				tt.check(t, body, resp.Header)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("exit: got %d, want 0 (%s)", code, errOut.String())
			}
		})
	}
}
