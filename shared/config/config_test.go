package config_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/config"
)

// Secret values distinctive enough that finding one in an error is a leak.
var (
	sealKey       = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA7}, 32))
	webhookSecret = "webhook-canary-7f3e9b1c"
	email         = "mailbox-canary@example.com"
	password      = "password-canary-Q8z!"
	apiToken      = "apitoken-canary-5d2a"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// minimalEnv is the least fn needs: its required variables and nothing else.
func minimalEnv(fn config.Function) map[string]string {
	env := map[string]string{
		"GOOGLE_CLOUD_PROJECT": "helpdesk-prod",
		"WEB_BASE_URL":         "https://api.tiflux.example/api/v2",
		"TOKEN_SEAL_KEY":       sealKey,
	}
	switch fn {
	case config.StartLogin:
		env["WEB_EMAIL"], env["WEB_PASSWORD"] = email, password
	case config.CompleteLogin:
		env["OTP_WEBHOOK_SECRET"] = webhookSecret
	}
	return env
}

// fullEnv sets every variable any function reads, all secrets included.
func fullEnv() map[string]string {
	env := minimalEnv(config.StartLogin)
	env["OTP_WEBHOOK_SECRET"] = webhookSecret
	env["WEB_API_TOKEN"] = apiToken
	return env
}

// MustLoad loads fn from env and fails tb on an error.
func MustLoad(tb testing.TB, fn config.Function, env map[string]string) *config.Config {
	tb.Helper()
	c, err := config.Load(fn, lookup(env))
	if err != nil {
		tb.Fatalf("Load(%s): %v", fn, err)
	}
	return c
}

// secretValues lists the values in env of every variable marked Secret.
func secretValues(env map[string]string) []string {
	var out []string
	for _, fn := range config.Functions {
		for _, v := range config.Vars(fn) {
			if s := strings.TrimSpace(env[v.Name]); v.Secret() && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// wantError fails tb unless err is a *config.Error naming name and holding
// none of the secret values in env.
func wantError(tb testing.TB, err error, name string, env map[string]string) *config.Error {
	tb.Helper()
	var e *config.Error
	if !errors.As(err, &e) {
		tb.Fatalf("got %v, want a *config.Error naming %s", err, name)
	}
	if e.Var != name {
		tb.Errorf("Var: got %q, want %q (error %q)", e.Var, name, err)
	}
	if msg := err.Error(); !strings.Contains(msg, name) {
		tb.Errorf("error %q does not name %s", msg, name)
	}
	for _, s := range secretValues(env) {
		if strings.Contains(err.Error(), s) {
			tb.Errorf("error %q holds the secret value %q", err, s)
		}
	}
	return e
}

// readBy is CONTRACT section 5's "read by" column.
var readBy = map[string][]config.Function{
	"GOOGLE_CLOUD_PROJECT": config.Functions,
	"WEB_BASE_URL":         config.Functions,
	"TOKEN_SEAL_KEY":       config.Functions,
	// Not in CONTRACT section 5 yet: opening seals made before a key rotation.
	"TOKEN_SEAL_KEY_PREVIOUS": config.Functions,
	"WEB_EMAIL":               {config.StartLogin},
	"WEB_PASSWORD":            {config.StartLogin},
	"WEB_API_TOKEN":           {config.StartLogin},
	"WEB_LOGIN_PATH":          {config.StartLogin},
	"WEB_OTP_PATH":            {config.CompleteLogin},
	"WEB_TICKETS_PATH":        {config.ExtractLoad},
	"WEB_LOGOUT_PATH":         {config.Logout},
	"OTP_WEBHOOK_SECRET":      {config.CompleteLogin},
	"OTP_TTL_MINUTES":         {config.StartLogin, config.CompleteLogin},
	"MAX_EVENT_AGE_MINUTES":   {config.ExtractLoad, config.Logout},
	"WINDOW_DAYS":             {config.ExtractLoad},
	"PAGE_LIMIT":              {config.ExtractLoad},
	"RATE_LIMIT_PER_MINUTE":   {config.ExtractLoad},
	"FULL_REFRESH_HOURS":      {config.ExtractLoad},
	"TIMEZONE":                {config.ExtractLoad},
	// StartLogin drains expired pending logins into sync_runs (issue 12);
	// CompleteLogin records the ones it drops there too.
	// Logout adds its requests to the session's row (issue 11).
	"BQ_DATASET":          {config.StartLogin, config.CompleteLogin, config.ExtractLoad, config.Logout},
	"BQ_TABLE":            {config.ExtractLoad},
	"BQ_RUNS_TABLE":       {config.StartLogin, config.CompleteLogin, config.ExtractLoad, config.Logout},
	"BQ_LOCATION":         {config.StartLogin, config.CompleteLogin, config.ExtractLoad, config.Logout},
	"TOPIC_LOGIN_PENDING": {config.StartLogin},
	"SUB_LOGIN_PENDING":   {config.StartLogin, config.CompleteLogin},
	"TOPIC_SESSION_READY": {config.StartLogin, config.CompleteLogin, config.ExtractLoad},
	"TOPIC_LOAD_FINISHED": {config.ExtractLoad},
}

// contractVars is CONTRACT section 5's default column ("" where required or unset).
var contractVars = map[string]struct {
	required, secret bool
	def              string
}{
	"GOOGLE_CLOUD_PROJECT":    {required: true},
	"WEB_BASE_URL":            {required: true},
	"WEB_EMAIL":               {secret: true},
	"WEB_PASSWORD":            {secret: true},
	"WEB_API_TOKEN":           {secret: true},
	"WEB_LOGIN_PATH":          {def: "/login"},
	"WEB_OTP_PATH":            {def: "/login/otp"},
	"WEB_TICKETS_PATH":        {def: "/tickets"},
	"WEB_LOGOUT_PATH":         {def: "/logout"},
	"OTP_WEBHOOK_SECRET":      {required: true, secret: true},
	"TOKEN_SEAL_KEY":          {required: true, secret: true},
	"TOKEN_SEAL_KEY_PREVIOUS": {secret: true},
	"OTP_TTL_MINUTES":         {def: "10"},
	"MAX_EVENT_AGE_MINUTES":   {def: "60"},
	"WINDOW_DAYS":             {def: "180"},
	"PAGE_LIMIT":              {def: "200"},
	"RATE_LIMIT_PER_MINUTE":   {def: "120"},
	"FULL_REFRESH_HOURS":      {def: "24"},
	"TIMEZONE":                {def: "America/Sao_Paulo"},
	"BQ_DATASET":              {def: "tiflux"},
	"BQ_TABLE":                {def: "tickets"},
	"BQ_RUNS_TABLE":           {def: "sync_runs"},
	"BQ_LOCATION":             {def: "US"},
	"TOPIC_LOGIN_PENDING":     {def: "login-pending"},
	"SUB_LOGIN_PENDING":       {def: "login-pending-complete"},
	"TOPIC_SESSION_READY":     {def: "session-ready"},
	"TOPIC_LOAD_FINISHED":     {def: "load-finished"},
	"PUBSUB_EMULATOR_HOST":    {},
	"BIGQUERY_EMULATOR_HOST":  {},
}

func names(vars []config.Var) []string {
	var out []string
	for _, v := range vars {
		out = append(out, v.Name)
	}
	return out
}

// Vars must agree with the contract: each function reads at least what the
// contract says, with the contract's defaults, flags and requirements.
func TestVarsMatchContract(t *testing.T) {
	for _, fn := range config.Functions {
		t.Run(string(fn), func(t *testing.T) {
			vars := config.Vars(fn)
			got := names(vars)

			seen := map[string]bool{}
			for _, n := range got {
				if seen[n] {
					t.Errorf("%s listed twice", n)
				}
				seen[n] = true
			}
			for name, fns := range readBy {
				if slices.Contains(fns, fn) && !seen[name] {
					t.Errorf("%s: got not read, want read (CONTRACT section 5)", name)
				}
			}
			for _, v := range vars {
				want, inContract := contractVars[v.Name]
				if !inContract {
					if v.Required || v.Secret() {
						t.Errorf("%s: outside the contract, got required=%v secret=%v, want optional and not secret", v.Name, v.Required, v.Secret())
					}
					continue
				}
				if v.Required != want.required || v.Secret() != want.secret || v.Default != want.def {
					t.Errorf("%s: got required=%v secret=%v default=%q, want %v %v %q",
						v.Name, v.Required, v.Secret(), v.Default, want.required, want.secret, want.def)
				}
				if v.Local() != strings.HasSuffix(v.Name, "_EMULATOR_HOST") {
					t.Errorf("%s: got Local=%v", v.Name, v.Local())
				}
			}
		})
	}
}

func TestVarsUnknownFunction(t *testing.T) {
	if got := config.Vars("Nope"); got != nil {
		t.Errorf("got %v, want nil", got)
	}
	_, err := config.Load("Nope", lookup(fullEnv()))

	var e *config.Error
	if err == nil || errors.As(err, &e) {
		t.Errorf("got %v, want a plain error for an unknown function", err)
	}
}

func TestLoadMinimal(t *testing.T) {
	for _, fn := range config.Functions {
		t.Run(string(fn), func(t *testing.T) {
			c := MustLoad(t, fn, minimalEnv(fn))

			if c.Project != "helpdesk-prod" || c.WebBaseURL != "https://api.tiflux.example/api/v2" {
				t.Errorf("got project %q base %q, want helpdesk-prod https://api.tiflux.example/api/v2", c.Project, c.WebBaseURL)
			}
			if want := bytes.Repeat([]byte{0xA7}, 32); !bytes.Equal(c.SealKey, want) {
				t.Errorf("SealKey: got %x, want %x", c.SealKey, want)
			}
		})
	}
}

func TestLoadRequired(t *testing.T) {
	for _, fn := range config.Functions {
		for _, v := range config.Vars(fn) {
			if !v.Required {
				continue
			}
			for _, unset := range []struct {
				name  string
				apply func(map[string]string)
			}{
				{"Unset", func(env map[string]string) { delete(env, v.Name) }},
				{"Empty", func(env map[string]string) { env[v.Name] = "" }},
				{"Blank", func(env map[string]string) { env[v.Name] = " \t\n" }},
			} {
				t.Run(string(fn)+"/"+v.Name+"/"+unset.name, func(t *testing.T) {
					env := minimalEnv(fn)
					unset.apply(env)

					c, err := config.Load(fn, lookup(env))

					if c != nil {
						t.Errorf("got config %+v, want nil", c)
					}
					e := wantError(t, err, v.Name, env)
					if !strings.Contains(e.Reason, "required") {
						t.Errorf("Reason: got %q, want it to say required", e.Reason)
					}
				})
			}
		}
	}
}

// A variable only another function reads is never required, and a malformed
// value there does not stop a function that does not read it.
func TestLoadIgnoresOtherFunctionsVars(t *testing.T) {
	malformed := map[string]string{
		"WEB_EMAIL": "", "WEB_PASSWORD": "", "OTP_WEBHOOK_SECRET": "short",
		"WEB_LOGIN_PATH": "login", "WEB_OTP_PATH": "otp", "WEB_TICKETS_PATH": "tickets", "WEB_LOGOUT_PATH": "logout",
		"OTP_TTL_MINUTES": "ten", "MAX_EVENT_AGE_MINUTES": "-1", "WINDOW_DAYS": "0", "PAGE_LIMIT": "500",
		"RATE_LIMIT_PER_MINUTE": "x", "FULL_REFRESH_HOURS": "1.5", "TIMEZONE": "Mars/Olympus_Mons",
		"BQ_DATASET": "my-dataset", "BQ_TABLE": "a b", "BQ_RUNS_TABLE": "runs;drop", "EXTRACT_CHUNK_SECONDS": "9999",
	}
	for _, fn := range config.Functions {
		reads := names(config.Vars(fn))
		for name, bad := range malformed {
			if slices.Contains(reads, name) {
				continue
			}
			t.Run(string(fn)+"/"+name, func(t *testing.T) {
				env := minimalEnv(fn)
				env[name] = bad

				MustLoad(t, fn, env)
			})
		}
	}
	t.Run("CompleteLoginWithoutLoginCredentials", func(t *testing.T) {
		env := minimalEnv(config.CompleteLogin)
		delete(env, "WEB_EMAIL")
		delete(env, "WEB_PASSWORD")

		c := MustLoad(t, config.CompleteLogin, env)

		if c.Email != "" || c.Password != "" {
			t.Errorf("got email %q password %q, want both unread", c.Email, c.Password)
		}
	})
	t.Run("OnlyStartLoginReadsCredentials", func(t *testing.T) {
		env := fullEnv()
		for _, fn := range []config.Function{config.CompleteLogin, config.ExtractLoad, config.Logout} {
			c := MustLoad(t, fn, env)

			if c.Email != "" || c.Password != "" || c.APIToken != "" {
				t.Errorf("%s: got credentials read, want them left to StartLogin", fn)
			}
		}
	})
	t.Run("OnlyCompleteLoginReadsWebhookSecret", func(t *testing.T) {
		for _, fn := range []config.Function{config.StartLogin, config.ExtractLoad, config.Logout} {
			c := MustLoad(t, fn, fullEnv())

			if c.WebhookSecret != nil {
				t.Errorf("%s: got the webhook secret read, want it left to CompleteLogin", fn)
			}
		}
	})
}

func TestLoadStartLoginCredentials(t *testing.T) {
	tests := []struct {
		name      string
		set       map[string]string
		wantVar   string // "" for success
		wantToken bool
	}{
		{"EmailAndPassword", map[string]string{"WEB_EMAIL": email, "WEB_PASSWORD": password}, "", false},
		{"TokenOnly", map[string]string{"WEB_API_TOKEN": apiToken}, "", true},
		{"TokenAndLogin", map[string]string{"WEB_API_TOKEN": apiToken, "WEB_EMAIL": email, "WEB_PASSWORD": password}, "", true},
		{"TokenAndEmailOnly", map[string]string{"WEB_API_TOKEN": apiToken, "WEB_EMAIL": email}, "", true},
		{"Nothing", map[string]string{}, "WEB_EMAIL", false},
		{"EmailOnly", map[string]string{"WEB_EMAIL": email}, "WEB_PASSWORD", false},
		{"PasswordOnly", map[string]string{"WEB_PASSWORD": password}, "WEB_EMAIL", false},
		{"BlankToken", map[string]string{"WEB_API_TOKEN": "  ", "WEB_PASSWORD": password}, "WEB_EMAIL", false},
		{"BlankPassword", map[string]string{"WEB_EMAIL": email, "WEB_PASSWORD": "\n"}, "WEB_PASSWORD", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv(config.StartLogin)
			delete(env, "WEB_EMAIL")
			delete(env, "WEB_PASSWORD")
			for k, v := range tt.set {
				env[k] = v
			}

			c, err := config.Load(config.StartLogin, lookup(env))

			if tt.wantVar != "" {
				e := wantError(t, err, tt.wantVar, env)
				if !strings.Contains(e.Reason, "WEB_API_TOKEN") {
					t.Errorf("Reason: got %q, want it to mention WEB_API_TOKEN", e.Reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if got := c.APITokenMode(); got != tt.wantToken {
				t.Errorf("APITokenMode: got %v, want %v", got, tt.wantToken)
			}
			if tt.wantToken && c.APIToken != apiToken {
				t.Errorf("APIToken: got %q, want %q", c.APIToken, apiToken)
			}
			if !tt.wantToken && (c.Email != email || c.Password != password) {
				t.Errorf("got email %q password %q, want %q %q", c.Email, c.Password, email, password)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	saoPaulo, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		fn   config.Function
		want config.Config
	}{
		{config.StartLogin, config.Config{Email: email, Password: password, LoginPath: "/login", OTPTTL: 10 * time.Minute,
			TopicLoginPending: "login-pending", TopicSessionReady: "session-ready", SubLoginPending: "login-pending-complete",
			FullRefresh: 24 * time.Hour, Dataset: "tiflux", RunsTable: "sync_runs", Location: "US"}},
		{config.CompleteLogin, config.Config{OTPPath: "/login/otp", LogoutPath: "/logout", WebhookSecret: []byte(webhookSecret),
			OTPTTL: 10 * time.Minute, SubLoginPending: "login-pending-complete", TopicSessionReady: "session-ready",
			FullRefresh: 24 * time.Hour, Dataset: "tiflux", RunsTable: "sync_runs", Location: "US"}},
		{config.ExtractLoad, config.Config{TicketsPath: "/tickets", MaxEventAge: 60 * time.Minute, WindowDays: 180, PageLimit: 200,
			RatePerMin: 120, FullRefresh: 24 * time.Hour, TimeZone: saoPaulo, Dataset: "tiflux", Table: "tickets",
			RunsTable: "sync_runs", Location: "US", TopicSessionReady: "session-ready", TopicLoadFinished: "load-finished",
			ChunkBudget: 360 * time.Second}},
		{config.Logout, config.Config{LogoutPath: "/logout", MaxEventAge: 60 * time.Minute,
			Dataset: "tiflux", RunsTable: "sync_runs", Location: "US"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fn), func(t *testing.T) {
			got := MustLoad(t, tt.fn, minimalEnv(tt.fn))

			if got.TimeZone.String() != tt.want.TimeZone.String() {
				t.Errorf("TimeZone: got %v, want %v", got.TimeZone, tt.want.TimeZone)
			}
			got.TimeZone, tt.want.TimeZone = nil, nil
			got.Project, got.WebBaseURL, got.SealKey = "", "", nil
			if !equalConfig(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func equalConfig(a, b config.Config) bool {
	eqBytes := bytes.Equal(a.WebhookSecret, b.WebhookSecret) && bytes.Equal(a.SealKey, b.SealKey)
	a.WebhookSecret, b.WebhookSecret, a.SealKey, b.SealKey = nil, nil, nil, nil
	aTZ, bTZ := a.TimeZone, b.TimeZone
	a.TimeZone, b.TimeZone = nil, nil
	return eqBytes && reflect.DeepEqual(a, b) && (aTZ == nil) == (bTZ == nil) && (aTZ == nil || aTZ.String() == bTZ.String())
}

func TestLoadOverrides(t *testing.T) {
	tests := []struct {
		name  string
		fn    config.Function
		set   map[string]string
		check func(*config.Config) (got, want any)
	}{
		{"BaseURLTrailingSlash", config.Logout, map[string]string{"WEB_BASE_URL": "http://localhost:8080/api/"},
			func(c *config.Config) (any, any) { return c.WebBaseURL, "http://localhost:8080/api" }},
		{"BaseURLPlainHTTPLoopbackV4", config.Logout, map[string]string{"WEB_BASE_URL": "http://127.0.0.1:9090"},
			func(c *config.Config) (any, any) { return c.WebBaseURL, "http://127.0.0.1:9090" }},
		{"BaseURLPlainHTTPLoopbackV6", config.Logout, map[string]string{"WEB_BASE_URL": "http://[::1]:9090"},
			func(c *config.Config) (any, any) { return c.WebBaseURL, "http://[::1]:9090" }},
		{"ValuesTrimmed", config.Logout, map[string]string{"GOOGLE_CLOUD_PROJECT": "  p1\n", "WEB_LOGOUT_PATH": " /out "},
			func(c *config.Config) (any, any) { return c.Project + c.LogoutPath, "p1/out" }},
		{"SealKeyTrailingNewline", config.Logout, map[string]string{"TOKEN_SEAL_KEY": sealKey + "\n"},
			func(c *config.Config) (any, any) { return len(c.SealKey), 32 }},
		{"Paths", config.CompleteLogin, map[string]string{"WEB_OTP_PATH": "/v2/auth/otp", "WEB_LOGOUT_PATH": "/v2/auth/logout"},
			func(c *config.Config) (any, any) {
				return c.OTPPath + " " + c.LogoutPath, "/v2/auth/otp /v2/auth/logout"
			}},
		{"LoginPath", config.StartLogin, map[string]string{"WEB_LOGIN_PATH": "/v2/auth"},
			func(c *config.Config) (any, any) { return c.LoginPath, "/v2/auth" }},
		{"TicketsPath", config.ExtractLoad, map[string]string{"WEB_TICKETS_PATH": "/v2/tickets"},
			func(c *config.Config) (any, any) { return c.TicketsPath, "/v2/tickets" }},
		{"OTPTTL", config.StartLogin, map[string]string{"OTP_TTL_MINUTES": "15"},
			func(c *config.Config) (any, any) { return c.OTPTTL, 15 * time.Minute }},
		{"OTPTTLMax", config.CompleteLogin, map[string]string{"OTP_TTL_MINUTES": "1440"},
			func(c *config.Config) (any, any) { return c.OTPTTL, 24 * time.Hour }},
		{"MaxEventAge", config.Logout, map[string]string{"MAX_EVENT_AGE_MINUTES": "5"},
			func(c *config.Config) (any, any) { return c.MaxEventAge, 5 * time.Minute }},
		{"WindowDays", config.ExtractLoad, map[string]string{"WINDOW_DAYS": "730"},
			func(c *config.Config) (any, any) { return c.WindowDays, 730 }},
		{"PageLimitMin", config.ExtractLoad, map[string]string{"PAGE_LIMIT": "1"},
			func(c *config.Config) (any, any) { return c.PageLimit, 1 }},
		{"PageLimitMax", config.ExtractLoad, map[string]string{"PAGE_LIMIT": "200"},
			func(c *config.Config) (any, any) { return c.PageLimit, 200 }},
		{"RateZeroMeansUnlimited", config.ExtractLoad, map[string]string{"RATE_LIMIT_PER_MINUTE": "0"},
			func(c *config.Config) (any, any) { return c.RatePerMin, 0 }},
		{"FullRefresh", config.ExtractLoad, map[string]string{"FULL_REFRESH_HOURS": "168"},
			func(c *config.Config) (any, any) { return c.FullRefresh, 168 * time.Hour }},
		{"TimeZoneUTC", config.ExtractLoad, map[string]string{"TIMEZONE": "UTC"},
			func(c *config.Config) (any, any) { return c.TimeZone.String(), "UTC" }},
		{"TimeZoneOther", config.ExtractLoad, map[string]string{"TIMEZONE": "Europe/Lisbon"},
			func(c *config.Config) (any, any) { return c.TimeZone.String(), "Europe/Lisbon" }},
		{"BigQuery", config.ExtractLoad, map[string]string{"BQ_DATASET": "helpdesk_2", "BQ_TABLE": "T1", "BQ_RUNS_TABLE": "runs", "BQ_LOCATION": "southamerica-east1"},
			func(c *config.Config) (any, any) {
				return c.Dataset + " " + c.Table + " " + c.RunsTable + " " + c.Location, "helpdesk_2 T1 runs southamerica-east1"
			}},
		{"Topics", config.StartLogin, map[string]string{"TOPIC_LOGIN_PENDING": "lp", "TOPIC_SESSION_READY": "sr"},
			func(c *config.Config) (any, any) { return c.TopicLoginPending + " " + c.TopicSessionReady, "lp sr" }},
		{"Subscription", config.CompleteLogin, map[string]string{"SUB_LOGIN_PENDING": "lp-sub"},
			func(c *config.Config) (any, any) { return c.SubLoginPending, "lp-sub" }},
		{"LoadFinishedTopic", config.ExtractLoad, map[string]string{"TOPIC_LOAD_FINISHED": "lf"},
			func(c *config.Config) (any, any) { return c.TopicLoadFinished, "lf" }},
		{"ChunkBudget", config.ExtractLoad, map[string]string{"EXTRACT_CHUNK_SECONDS": "60"},
			func(c *config.Config) (any, any) { return c.ChunkBudget, time.Minute }},
		{"Emulators", config.ExtractLoad, map[string]string{"PUBSUB_EMULATOR_HOST": "localhost:8085", "BIGQUERY_EMULATOR_HOST": "localhost:9050"},
			func(c *config.Config) (any, any) {
				return c.PubSubEmulatorHost + " " + c.BigQueryEmulatorHost, "localhost:8085 localhost:9050"
			}},
		{"BlankUsesDefault", config.ExtractLoad, map[string]string{"PAGE_LIMIT": " ", "TIMEZONE": "", "BQ_TABLE": "\t"},
			func(c *config.Config) (any, any) {
				return strconv.Itoa(c.PageLimit) + " " + c.TimeZone.String() + " " + c.Table, "200 America/Sao_Paulo tickets"
			}},
		{"WebhookSecretExactly16", config.CompleteLogin, map[string]string{"OTP_WEBHOOK_SECRET": "0123456789abcdef"},
			func(c *config.Config) (any, any) { return string(c.WebhookSecret), "0123456789abcdef" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv(tt.fn)
			for k, v := range tt.set {
				env[k] = v
			}

			got, want := tt.check(MustLoad(t, tt.fn, env))

			if got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestLoadMalformed(t *testing.T) {
	urlSafeKey := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xFB, 0xFF}, 16))
	tests := []struct {
		name  string
		fn    config.Function
		vr    string
		value string
	}{
		{"BaseURLNoScheme", config.Logout, "WEB_BASE_URL", "api.tiflux.example"},
		{"BaseURLFTP", config.Logout, "WEB_BASE_URL", "ftp://api.tiflux.example"},
		{"BaseURLNoHost", config.StartLogin, "WEB_BASE_URL", "https://"},
		{"BaseURLPathOnly", config.ExtractLoad, "WEB_BASE_URL", "http:///api"},
		{"BaseURLUnparsable", config.CompleteLogin, "WEB_BASE_URL", "http://[::1"},
		{"BaseURLRelative", config.Logout, "WEB_BASE_URL", "/api/v2"},
		{"BaseURLPlainHTTP", config.ExtractLoad, "WEB_BASE_URL", "http://api.tiflux.com/api/v2"},
		{"BaseURLPlainHTTPPrivateIP", config.StartLogin, "WEB_BASE_URL", "http://10.0.0.7:8080"},
		{"BaseURLPlainHTTPLocalhostSuffix", config.Logout, "WEB_BASE_URL", "http://localhost.evil.example"},
		{"SealKeyNotBase64", config.Logout, "TOKEN_SEAL_KEY", "not base64 at all!"},
		{"SealKeyHex", config.Logout, "TOKEN_SEAL_KEY", strings.Repeat("a7", 32)},
		{"SealKey16Bytes", config.StartLogin, "TOKEN_SEAL_KEY", base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"SealKey31Bytes", config.ExtractLoad, "TOKEN_SEAL_KEY", base64.StdEncoding.EncodeToString(make([]byte, 31))},
		{"SealKey33Bytes", config.CompleteLogin, "TOKEN_SEAL_KEY", base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"SealKey64Bytes", config.Logout, "TOKEN_SEAL_KEY", base64.StdEncoding.EncodeToString(make([]byte, 64))},
		{"SealKeyURLSafe", config.Logout, "TOKEN_SEAL_KEY", urlSafeKey},
		{"SealKeyUnpadded", config.Logout, "TOKEN_SEAL_KEY", strings.TrimRight(sealKey, "=")},
		{"WebhookSecretShort", config.CompleteLogin, "OTP_WEBHOOK_SECRET", "fifteen-chars!!"},
		{"WebhookSecretOneChar", config.CompleteLogin, "OTP_WEBHOOK_SECRET", "k"},
		{"LoginPathRelative", config.StartLogin, "WEB_LOGIN_PATH", "login"},
		{"LoginPathURL", config.StartLogin, "WEB_LOGIN_PATH", "https://x/login"},
		{"OTPPathRelative", config.CompleteLogin, "WEB_OTP_PATH", "login/otp"},
		{"LogoutPathRelativeCompleteLogin", config.CompleteLogin, "WEB_LOGOUT_PATH", "logout"},
		{"LogoutPathRelative", config.Logout, "WEB_LOGOUT_PATH", "logout"},
		{"TicketsPathRelative", config.ExtractLoad, "WEB_TICKETS_PATH", "tickets"},
		{"OTPTTLWord", config.StartLogin, "OTP_TTL_MINUTES", "ten"},
		{"OTPTTLZero", config.StartLogin, "OTP_TTL_MINUTES", "0"},
		{"OTPTTLOverADay", config.CompleteLogin, "OTP_TTL_MINUTES", "1441"},
		{"OTPTTLDuration", config.CompleteLogin, "OTP_TTL_MINUTES", "10m"},
		{"MaxEventAgeNegative", config.Logout, "MAX_EVENT_AGE_MINUTES", "-5"},
		{"MaxEventAgeFraction", config.ExtractLoad, "MAX_EVENT_AGE_MINUTES", "1.5"},
		{"MaxEventAgeOverflow", config.ExtractLoad, "MAX_EVENT_AGE_MINUTES", "99999999999999999999"},
		{"WindowDaysZero", config.ExtractLoad, "WINDOW_DAYS", "0"},
		{"WindowDaysHuge", config.ExtractLoad, "WINDOW_DAYS", "100000"},
		{"PageLimitZero", config.ExtractLoad, "PAGE_LIMIT", "0"},
		{"PageLimitOver200", config.ExtractLoad, "PAGE_LIMIT", "201"},
		{"PageLimitHex", config.ExtractLoad, "PAGE_LIMIT", "0x10"},
		{"RateNegative", config.ExtractLoad, "RATE_LIMIT_PER_MINUTE", "-1"},
		{"RateWord", config.ExtractLoad, "RATE_LIMIT_PER_MINUTE", "unlimited"},
		{"FullRefreshZero", config.ExtractLoad, "FULL_REFRESH_HOURS", "0"},
		{"FullRefreshSpaced", config.ExtractLoad, "FULL_REFRESH_HOURS", "2 4"},
		{"ChunkZero", config.ExtractLoad, "EXTRACT_CHUNK_SECONDS", "0"},
		{"ChunkOverLimit", config.ExtractLoad, "EXTRACT_CHUNK_SECONDS", "540"},
		{"TimeZoneUnknown", config.ExtractLoad, "TIMEZONE", "Mars/Olympus_Mons"},
		{"TimeZoneAbbreviation", config.ExtractLoad, "TIMEZONE", "BRT"},
		{"TimeZoneTraversal", config.ExtractLoad, "TIMEZONE", "../../etc/passwd"},
		{"TimeZoneAbsolute", config.ExtractLoad, "TIMEZONE", "/etc/localtime"},
		{"DatasetDash", config.ExtractLoad, "BQ_DATASET", "my-dataset"},
		{"TableDot", config.ExtractLoad, "BQ_TABLE", "ds.tickets"},
		{"RunsTableSpace", config.CompleteLogin, "BQ_RUNS_TABLE", "sync runs"},
		{"DatasetTooLong", config.ExtractLoad, "BQ_DATASET", strings.Repeat("d", 1025)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fullEnv()
			env[tt.vr] = tt.value

			c, err := config.Load(tt.fn, lookup(env))

			if c != nil {
				t.Errorf("got config, want nil")
			}
			e := wantError(t, err, tt.vr, env)
			if e.Reason == "" {
				t.Errorf("Reason: got empty, want why the value is refused")
			}
			if want := "config: " + tt.vr + ": " + e.Reason; err.Error() != want {
				t.Errorf("Error(): got %q, want %q", err, want)
			}
		})
	}
}

// Whatever is wrong, the error never holds the value of a secret, neither the
// one at fault nor another one set beside it.
func TestErrorNeverHoldsSecret(t *testing.T) {
	badKey := "seal-canary-not-base64-" + password
	tests := []struct {
		name string
		fn   config.Function
		vr   string
		env  map[string]string
	}{
		{"SealKeyNotBase64", config.StartLogin, "TOKEN_SEAL_KEY", map[string]string{"TOKEN_SEAL_KEY": badKey}},
		{"SealKeyWrongLength", config.CompleteLogin, "TOKEN_SEAL_KEY",
			map[string]string{"TOKEN_SEAL_KEY": base64.StdEncoding.EncodeToString([]byte("seal-canary-too-short"))}},
		{"WebhookSecretShort", config.CompleteLogin, "OTP_WEBHOOK_SECRET", map[string]string{"OTP_WEBHOOK_SECRET": "hook-canary-15c"}},
		{"PasswordMissing", config.StartLogin, "WEB_PASSWORD", map[string]string{"WEB_PASSWORD": "", "WEB_API_TOKEN": ""}},
		{"EmailMissing", config.StartLogin, "WEB_EMAIL", map[string]string{"WEB_EMAIL": " ", "WEB_API_TOKEN": ""}},
		{"OtherVarBad", config.StartLogin, "OTP_TTL_MINUTES", map[string]string{"OTP_TTL_MINUTES": password}},
		{"TimeZoneBad", config.ExtractLoad, "TIMEZONE", map[string]string{"TIMEZONE": "Nowhere/Land"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fullEnv()
			for k, v := range tt.env {
				env[k] = v
			}

			_, err := config.Load(tt.fn, lookup(env))

			wantError(t, err, tt.vr, env)
			for _, s := range []string{sealKey, webhookSecret, email, password, apiToken, badKey} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds the secret %q", err, s)
				}
			}
		})
	}
}

// After a key rotation TOKEN_SEAL_KEY_PREVIOUS holds the old key, so values
// sealed before it still open; unset, none is read; malformed, it is named.
func TestLoadPreviousSealKey(t *testing.T) {
	previous := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5C}, 32))
	for _, fn := range config.Functions {
		t.Run(string(fn), func(t *testing.T) {
			env := minimalEnv(fn)
			if c := MustLoad(t, fn, env); c.SealKeyPrevious != nil {
				t.Errorf("unset: got %d bytes, want none", len(c.SealKeyPrevious))
			}
			env["TOKEN_SEAL_KEY_PREVIOUS"] = previous
			if c := MustLoad(t, fn, env); !bytes.Equal(c.SealKeyPrevious, bytes.Repeat([]byte{0x5C}, 32)) {
				t.Errorf("got %x, want the previous key", c.SealKeyPrevious)
			}
			env["TOKEN_SEAL_KEY_PREVIOUS"] = "c2hvcnQ="
			_, err := config.Load(fn, lookup(env))
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != "TOKEN_SEAL_KEY_PREVIOUS" {
				t.Errorf("malformed: got %v, want an error naming TOKEN_SEAL_KEY_PREVIOUS", err)
			}
		})
	}
}
