package config_test

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/config"
)

// allVars is every variable any function reads, each once, in a stable order.
func allVars() []config.Var {
	var out []config.Var
	seen := map[string]bool{}
	for _, fn := range config.Functions {
		for _, v := range config.Vars(fn) {
			if !seen[v.Name] {
				seen[v.Name] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// envOf turns the fuzzer's input into an environment: values holds one value
// per variable of allVars, separated by NUL (which no environment value can
// hold); a set bit of unset, or a missing value, leaves the variable unset.
func envOf(values string, unset uint64) map[string]string {
	parts := strings.Split(values, "\x00")
	env := map[string]string{}
	for i, v := range allVars() {
		if i < len(parts) && unset&(1<<i) == 0 {
			env[v.Name] = parts[i]
		}
	}
	return env
}

// fuzzInput is the inverse of envOf.
func fuzzInput(env map[string]string) (string, uint64) {
	var parts []string
	var unset uint64
	for i, v := range allVars() {
		s, ok := env[v.Name]
		if !ok {
			unset |= 1 << i
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\x00"), unset
}

// reasons are the only things an error may say about a value: none of them
// is built from it, except the time zone's, which is not a secret.
var reasons = []*regexp.Regexp{
	regexp.MustCompile(`^required but not set$`),
	regexp.MustCompile(`^required unless WEB_API_TOKEN is set$`),
	regexp.MustCompile(`^must be an absolute http\(s\) URL$`),
	regexp.MustCompile(`^must use https \(plain http only to a loopback host\)$`),
	regexp.MustCompile(`^must be at least 16 characters$`),
	regexp.MustCompile(`^must be standard base64 of exactly 32 bytes \(openssl rand -base64 32\)$`),
	regexp.MustCompile(`^must be a whole number from [01] to [0-9]+$`),
	regexp.MustCompile(`^must start with /$`),
	regexp.MustCompile(`^must be letters, digits and underscores$`),
}

func FuzzLoad(f *testing.F) {
	for i, fn := range config.Functions {
		values, unset := fuzzInput(minimalEnv(fn))
		f.Add(uint8(i), values, unset)
		values, unset = fuzzInput(fullEnv())
		f.Add(uint8(i), values, unset)
		f.Add(uint8(i), "", ^uint64(0))
	}
	for _, bad := range []map[string]string{
		{"TOKEN_SEAL_KEY": "not base64 " + password},
		{"TOKEN_SEAL_KEY": sealKey[:40]},
		{"OTP_WEBHOOK_SECRET": "short"},
		{"WEB_EMAIL": "", "WEB_API_TOKEN": " "},
		{"WEB_BASE_URL": "ftp://x"},
		{"PAGE_LIMIT": "201", "RATE_LIMIT_PER_MINUTE": "0"},
		{"TIMEZONE": "../" + password},
		{"WEB_LOGOUT_PATH": "logout", "WEB_TICKETS_PATH": "tickets"},
		{"BQ_DATASET": "a-b", "EXTRACT_CHUNK_SECONDS": "481"},
	} {
		env := fullEnv()
		for k, v := range bad {
			env[k] = v
		}
		values, unset := fuzzInput(env)
		for i := range config.Functions {
			f.Add(uint8(i), values, unset)
		}
	}

	f.Fuzz(func(t *testing.T, fnIndex uint8, values string, unset uint64) {
		fn := config.Functions[int(fnIndex)%len(config.Functions)]
		env := envOf(values, unset)

		c, err := config.Load(fn, lookup(env))

		if err != nil {
			checkError(t, fn, env, c, err)
			return
		}
		checkConfig(t, fn, env, c)
	})
}

func checkError(t *testing.T, fn config.Function, env map[string]string, c *config.Config, err error) {
	t.Helper()
	if c != nil {
		t.Errorf("got a config and the error %v", err)
	}
	var e *config.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *config.Error", err, err)
	}
	if !slices.Contains(names(config.Vars(fn)), e.Var) {
		t.Errorf("error names %s, which %s does not read", e.Var, fn)
	}
	msg := err.Error()
	fixed := "config: " + e.Var + ": " + e.Reason
	if msg != fixed {
		t.Errorf("Error(): got %q, want %q", msg, fixed)
	}

	tz := strconv.Quote(strings.TrimSpace(env["TIMEZONE"]))
	if e.Var == "TIMEZONE" && e.Reason == "unknown time zone "+tz {
		fixed = strings.TrimSuffix(fixed, tz)
	} else if !slices.ContainsFunc(reasons, func(r *regexp.Regexp) bool { return r.MatchString(e.Reason) }) {
		t.Errorf("Reason %q: want one of the fixed reasons, which hold no value", e.Reason)
	}
	for _, s := range secretValues(env) {
		if strings.Contains(msg, s) && !strings.Contains(fixed, s) && !strings.Contains(tz, s) {
			t.Errorf("error %q holds the secret value %q", msg, s)
		}
	}
}

func checkConfig(t *testing.T, fn config.Function, env map[string]string, c *config.Config) {
	t.Helper()
	reads := names(config.Vars(fn))
	if want := strings.TrimSpace(env["GOOGLE_CLOUD_PROJECT"]); c.Project == "" || c.Project != want {
		t.Errorf("Project: got %q, want %q", c.Project, want)
	}
	if !strings.HasPrefix(c.WebBaseURL, "http://") && !strings.HasPrefix(c.WebBaseURL, "https://") {
		t.Errorf("WebBaseURL: got %q, want an http(s) URL", c.WebBaseURL)
	}
	if len(c.SealKey) != 32 {
		t.Errorf("SealKey: got %d bytes, want 32", len(c.SealKey))
	}
	if fn == config.StartLogin && !c.APITokenMode() && (c.Email == "" || c.Password == "") {
		t.Errorf("StartLogin loaded without a token and with email %q, password set %v", c.Email, c.Password != "")
	}
	if fn != config.StartLogin && (c.Email != "" || c.Password != "" || c.APIToken != "") {
		t.Errorf("%s read the login credentials", fn)
	}
	if got := len(c.WebhookSecret); (fn == config.CompleteLogin) != (got >= 16) {
		t.Errorf("%s: WebhookSecret of %d bytes", fn, got)
	}
	for name, path := range map[string]string{"WEB_LOGIN_PATH": c.LoginPath, "WEB_OTP_PATH": c.OTPPath,
		"WEB_TICKETS_PATH": c.TicketsPath, "WEB_LOGOUT_PATH": c.LogoutPath} {
		if slices.Contains(reads, name) != strings.HasPrefix(path, "/") {
			t.Errorf("%s: %s = %q", fn, name, path)
		}
	}
	if fn == config.ExtractLoad {
		if c.TimeZone == nil || c.PageLimit < 1 || c.PageLimit > 200 || c.WindowDays < 1 || c.RatePerMin < 0 ||
			c.FullRefresh <= 0 || c.MaxEventAge <= 0 || c.ChunkBudget <= 0 || c.Dataset == "" || c.Table == "" {
			t.Errorf("ExtractLoad loaded out-of-range values: %+v", c)
		}
	}

	again, err := config.Load(fn, lookup(env))
	if err != nil || !equalConfig(*again, *c) {
		t.Errorf("second Load: got %+v, %v; want %+v", again, err, c)
	}
	if !reflect.DeepEqual(again.SealKey, c.SealKey) {
		t.Errorf("second Load: SealKey differs")
	}
}
