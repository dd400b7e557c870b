package deploycheck_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/config"
	"github.com/helpdesk-bq/tiflux-pipeline/tools/deploycheck"
)

// The repository, seen from this package's directory.
var (
	functionsDir = filepath.Join("..", "..", "functions")
	terraformDir = filepath.Join("..", "..", "terraform")
)

const frameworkFunctions = "github.com/GoogleCloudPlatform/functions-framework-go/functions"

// authModes are the values of the auth_mode variable, with the credential
// variables each needs (CONTRACT.md sections 2 and 5): config.Table's
// entries that name an AuthMode.
var authModes = func() map[string][]string {
	out := map[string][]string{}
	for _, v := range config.Table {
		if v.AuthMode != "" {
			out[string(v.AuthMode)] = append(out[string(v.AuthMode)], v.Name)
		}
	}
	return out
}()

// switchedSecrets are the optional secrets Terraform sets only while a
// variable of its is set (null or empty: unset): environment name →
// Terraform variable, from config.Table's SwitchedBy. TOKEN_SEAL_KEY_PREVIOUS
// exists only during a key rotation (terraform/README.md, Rotating the seal key).
var switchedSecrets = func() map[string]string {
	out := map[string]string{}
	for _, v := range config.Table {
		if v.SwitchedBy != "" {
			out[v.Name] = v.SwitchedBy
		}
	}
	return out
}()

// sentinel is the value the check gives the Terraform variable (or object
// attribute) from: a variable set from it must arrive with this value.
func sentinel(from string) string { return "<var." + from + ">" }

// sentinelVars gives every Terraform variable that config.Table names as a
// source its sentinel value; an object variable ("web_paths.login") gets an
// object of its named attributes.
func sentinelVars() map[string]cty.Value {
	objects := map[string]map[string]cty.Value{}
	out := map[string]cty.Value{}
	for _, v := range config.Table {
		if v.Set != config.SetByVariable {
			continue
		}
		name, attr, isAttr := strings.Cut(v.From, ".")
		if !isAttr {
			out[name] = cty.StringVal(sentinel(v.From))
			continue
		}
		if objects[name] == nil {
			objects[name] = map[string]cty.Value{}
		}
		objects[name][attr] = cty.StringVal(sentinel(v.From))
	}
	for name, attrs := range objects {
		out[name] = cty.ObjectVal(attrs)
	}
	return out
}

// aSealKey is a well-formed seal key (base64 of 32 bytes).
const aSealKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// switchStates are the values each switched variable is checked with, and
// whether each turns its secret on.
var switchStates = []struct {
	name  string
	value cty.Value
	on    bool
}{
	{"unset", cty.NullVal(cty.String), false},
	{"empty", cty.StringVal(""), false},
	{"set", cty.StringVal(aSealKey), true},
}

// deployment is one way the configuration is applied: an auth mode and the
// state of the switched secrets' variables.
type deployment struct {
	name        string
	credentials []string
	vars        map[string]cty.Value
	on          map[string]bool // switched secret (environment name) → set
	state       string          // the switch state's name, for messages
}

func newDeployment(mode, state string) deployment {
	d := deployment{
		name:        mode + "/previous-key-" + state,
		credentials: authModes[mode],
		vars:        sentinelVars(),
		on:          map[string]bool{},
		state:       state,
	}
	d.vars["auth_mode"] = cty.StringVal(mode)
	found := false
	for _, st := range switchStates {
		if st.name != state {
			continue
		}
		found = true
		for env, variable := range switchedSecrets {
			d.vars[variable] = st.value
			d.on[env] = st.on
		}
	}
	if !found || authModes[mode] == nil {
		panic("no deployment " + mode + "/" + state)
	}
	return d
}

// deployments are every auth mode with every switch state.
func deployments() []deployment {
	var out []deployment
	for mode := range authModes {
		for _, st := range switchStates {
			out = append(out, newDeployment(mode, st.name))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// registration is one entry point registered in functions/.
type registration struct {
	name  string
	kind  string // "HTTP" or "CloudEvent"
	where string
}

// mustRegistrations finds the functions.HTTP("X", ...) and
// functions.CloudEvent("X", ...) calls in the non-test Go files of dir.
func mustRegistrations(tb testing.TB, dir string) []registration {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		tb.Fatal(err)
	}
	var regs []registration
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		local := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == frameworkFunctions {
				local = "functions"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		if local == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HTTP" && sel.Sel.Name != "CloudEvent") {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != local {
				return true
			}
			where := fset.Position(call.Pos()).String()
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				tb.Errorf("%s: the entry point name must be a string literal", where)
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			regs = append(regs, registration{name: s, kind: sel.Sel.Name, where: where})
			return true
		})
	}
	return regs
}

// deployed is one google_cloudfunctions2_function instance, evaluated.
type deployed struct {
	address   string
	kind      string // "HTTP" without an event trigger, "CloudEvent" with one
	plainEnv  []string
	secretEnv []string
	plain     map[string]cty.Value // plain environment name → value (unknown where it cannot be evaluated)
	secretOf  map[string]string    // secret environment name → the secret it comes from ("" unknown)
}

// mustDeployed evaluates the functions of the configuration as dep applies it.
func mustDeployed(tb testing.TB, c *deploycheck.Config, dep deployment) map[string]deployed {
	tb.Helper()
	ctx := c.EvalContext(dep.vars)
	out := map[string]deployed{}
	for _, blk := range c.Resources("google_cloudfunctions2_function") {
		instances, err := deploycheck.Instances(blk, ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for _, inst := range instances {
			address := "google_cloudfunctions2_function." + blk.Labels[1]
			if inst.Key != "" {
				address += "[" + strconv.Quote(inst.Key) + "]"
			}
			d := deployed{address: address, kind: "HTTP"}

			builds, bctx, err := deploycheck.Blocks(blk.Body, "build_config", inst.Ctx)
			if err != nil || len(builds) != 1 {
				tb.Fatalf("%s: want one build_config (%v)", address, err)
			}
			entry, err := deploycheck.String(builds[0], "entry_point", bctx[0])
			if err != nil {
				tb.Fatalf("%s: build_config.entry_point: %v", address, err)
			}

			triggers, _, err := deploycheck.Blocks(blk.Body, "event_trigger", inst.Ctx)
			if err != nil {
				tb.Fatalf("%s: event_trigger: %v", address, err)
			}
			if len(triggers) > 0 {
				d.kind = "CloudEvent"
			}

			services, sctx, err := deploycheck.Blocks(blk.Body, "service_config", inst.Ctx)
			if err != nil || len(services) != 1 {
				tb.Fatalf("%s: want one service_config (%v)", address, err)
			}
			if d.plain, err = deploycheck.Map(services[0], "environment_variables", sctx[0]); err != nil {
				tb.Fatalf("%s: service_config.environment_variables: %v", address, err)
			}
			for name := range d.plain {
				d.plainEnv = append(d.plainEnv, name)
			}
			sort.Strings(d.plainEnv)
			d.secretOf = map[string]string{}
			secrets, ectx, err := deploycheck.Blocks(services[0], "secret_environment_variables", sctx[0])
			if err != nil {
				tb.Fatalf("%s: secret_environment_variables: %v", address, err)
			}
			for i, s := range secrets {
				key, err := deploycheck.String(s, "key", ectx[i])
				if err != nil {
					tb.Fatalf("%s: secret_environment_variables.key: %v", address, err)
				}
				d.secretEnv = append(d.secretEnv, key)
				// The dynamic block's iterator value is the secret's name
				// (terraform/functions.tf: secrets = { ENV = "secret-name" }).
				if it, ok := ectx[i].Variables["secret_environment_variables"]; ok {
					if val := it.GetAttr("value"); val.IsKnown() && val.Type() == cty.String {
						d.secretOf[key] = val.AsString()
					}
				}
			}
			sort.Strings(d.secretEnv)

			if prev, dup := out[entry]; dup {
				tb.Errorf("entry point %s is deployed twice: %s and %s", entry, prev.address, address)
			}
			out[entry] = d
		}
	}
	return out
}

func mustLoad(tb testing.TB) *deploycheck.Config {
	tb.Helper()
	c, err := deploycheck.Load(terraformDir)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Every registered entry point is deployed, with the right kind of trigger,
// and every deployed one is registered.
func TestEntryPointsMatch(t *testing.T) {
	regs := mustRegistrations(t, functionsDir)
	if len(regs) == 0 {
		t.Fatalf("no functions.HTTP or functions.CloudEvent registrations in %s", functionsDir)
	}
	c := mustLoad(t)

	for _, dep := range deployments() {
		t.Run(dep.name, func(t *testing.T) {
			fns := mustDeployed(t, c, dep)
			registered := map[string]bool{}
			for _, r := range regs {
				registered[r.name] = true
				d, ok := fns[r.name]
				if !ok {
					t.Errorf("%s registers %s (%s), but no google_cloudfunctions2_function has that entry point", r.where, r.name, r.kind)
					continue
				}
				if d.kind != r.kind {
					t.Errorf("%s: %s is registered as %s, deployed as %s (an event_trigger makes a CloudEvent function)", d.address, r.name, r.kind, d.kind)
				}
			}
			for entry, d := range fns {
				if !registered[entry] {
					t.Errorf("%s has entry point %s, which functions/ does not register", d.address, entry)
				}
			}
		})
	}
}

// Every variable a function reads is set for it (CONTRACT.md section 5), in
// each auth mode and switch state; secrets from Secret Manager; nothing it
// does not read; a switched secret exactly when its variable is set.
func TestEnvironmentMatches(t *testing.T) {
	c := mustLoad(t)

	for _, dep := range deployments() {
		t.Run(dep.name, func(t *testing.T) {
			fns := mustDeployed(t, c, dep)
			for _, fn := range config.Functions {
				d, ok := fns[string(fn)]
				if !ok {
					t.Errorf("%s is not deployed", fn)
					continue
				}
				t.Run(string(fn), func(t *testing.T) {
					for _, p := range environmentProblems(fn, d, dep) {
						t.Error(p)
					}
				})
			}
		})
	}
}

// environmentProblems lists what is wrong with the environment d gives fn.
// Every variable fn reads that Terraform can set must be set: the
// required ones, and also the optional ones, whose Go default may not fit
// this deployment (BQ_LOCATION defaults to US; a southamerica-east1 dataset
// is not there). Only the local-only ones (emulator hosts) are left out, the
// credentials of the other auth mode, and a switched secret whose variable
// is unset.
func environmentProblems(fn config.Function, d deployed, dep deployment) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	vars := config.Vars(fn)
	if len(vars) == 0 {
		return []string{fmt.Sprintf("config.Vars(%s) lists no variables", fn)}
	}
	reads := map[string]config.Var{}
	for _, v := range vars {
		reads[v.Name] = v
	}
	for _, name := range d.plainEnv {
		if slices.Contains(d.secretEnv, name) {
			add("%s: %s is set both as plain and as secret environment", d.address, name)
		}
	}

	set := append(slices.Clone(d.plainEnv), d.secretEnv...)
	for _, name := range set {
		v, ok := reads[name]
		switch {
		case !ok:
			add("%s sets %s, which %s does not read", d.address, name, fn)
		case v.Local():
			add("%s sets %s, which is for local runs only", d.address, name)
		case v.Secret() && !slices.Contains(d.secretEnv, name):
			add("%s sets the secret %s as a plain environment variable; it belongs in secret_environment_variables", d.address, name)
		case !v.Secret() && slices.Contains(d.secretEnv, name):
			add("%s takes %s from Secret Manager, but it is no secret", d.address, name)
		case v.Set == config.SetBySecret && d.secretOf[name] != v.From:
			add("%s takes %s from the secret %q, want %q (config.Table)", d.address, name, d.secretOf[name], v.From)
		case v.Set == config.SetByVariable && !slices.Contains(d.secretEnv, name):
			got := d.plain[name]
			if !got.IsKnown() || got.IsNull() || got.Type() != cty.String || got.AsString() != sentinel(v.From) {
				add("%s sets %s from something else than var.%s (config.Table)", d.address, name, v.From)
			}
		}
	}

	for _, v := range vars {
		isSet := slices.Contains(set, v.Name)
		credential := v.AuthMode != ""
		variable, switched := switchedSecrets[v.Name]
		switch {
		case v.Local():
			// Emulator hosts: never set in the cloud.
		case credential:
			if want := slices.Contains(dep.credentials, v.Name); isSet != want {
				add("%s: %s set = %v, want %v in this auth mode", d.address, v.Name, isSet, want)
			}
		case switched:
			if v.Required || !v.Secret() {
				add("%s: %s is switched by var.%s, so it must be an optional secret (config: required %v, secret %v)", d.address, v.Name, variable, v.Required, v.Secret())
			}
			if want := dep.on[v.Name]; isSet != want {
				add("%s: %s set = %v, want %v with var.%s %s", d.address, v.Name, isSet, want, variable, dep.state)
			}
		case isSet:
		case v.Required:
			add("%s does not set %s, which %s requires", d.address, v.Name, fn)
		case v.Secret():
			add("%s does not set the secret %s, which %s reads", d.address, v.Name, fn)
		default:
			add("%s does not set %s, which %s reads (its default %q need not fit this deployment)", d.address, v.Name, fn, v.Default)
		}
	}
	return problems
}

// Rotating a secret replaces its version; the old one may only go once the
// functions are pinned to the new one (terraform/secrets.tf).
func TestSecretVersionsCreateBeforeDestroy(t *testing.T) {
	for _, p := range secretVersionProblems(t, mustLoad(t)) {
		t.Error(p)
	}
}

func secretVersionProblems(tb testing.TB, c *deploycheck.Config) []string {
	tb.Helper()
	blocks := c.Resources("google_secret_manager_secret_version")
	if len(blocks) == 0 {
		return []string{"no google_secret_manager_secret_version in the configuration"}
	}
	var problems []string
	for _, blk := range blocks {
		ok := false
		for _, lc := range blk.Body.Blocks {
			if lc.Type != "lifecycle" {
				continue
			}
			if attr, found := lc.Body.Attributes["create_before_destroy"]; found {
				v, diags := attr.Expr.Value(nil)
				ok = !diags.HasErrors() && v.Type() == cty.Bool && v.True()
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("google_secret_manager_secret_version.%s: lifecycle { create_before_destroy = true } is missing: a rotation would delete the version the running functions read before they move on", blk.Labels[1]))
		}
	}
	return problems
}

// planted loads a copy of the configuration with old replaced by new in
// file, once; old must be there exactly once.
func planted(tb testing.TB, file, old, new string) *deploycheck.Config {
	tb.Helper()
	dir := tb.TempDir()
	files, err := filepath.Glob(filepath.Join(terraformDir, "*.tf"))
	if err != nil {
		tb.Fatal(err)
	}
	found := false
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		text := string(src)
		if filepath.Base(name) == file {
			if n := strings.Count(text, old); n != 1 {
				tb.Fatalf("%s holds %q %d times, want once: update the planted omission", file, old, n)
			}
			text, found = strings.Replace(text, old, new, 1), true
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if !found {
		tb.Fatalf("no %s in %s", file, terraformDir)
	}
	c, err := deploycheck.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// The check fails on each kind of omission planted in a copy of the real
// configuration, naming the function and the variable.
func TestEnvironmentOmissionsFail(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		old, new  string
		mode      string
		previous  string // the switch state; "" is unset
		fn        config.Function
		wantWords []string
	}{
		{
			// The bug of issue 12: CompleteLogin's MERGE of a failed login
			// went to tiflux.sync_runs in US whatever the deployment said.
			name: "optional variable left at its Go default",
			file: "functions.tf",
			old: `      environment = merge(local.common_environment, local.run_log_environment, {
        WEB_OTP_PATH`,
			new: `      environment = merge(local.common_environment, {
        WEB_OTP_PATH`,
			mode: "otp", fn: config.CompleteLogin,
			wantWords: []string{"does not set BQ_LOCATION", "CompleteLogin"},
		},
		{
			name: "optional numeric setting",
			file: "functions.tf",
			old:  "        EXTRACT_CHUNK_SECONDS = tostring(var.extract_chunk_seconds)\n",
			new:  "",
			mode: "otp", fn: config.ExtractLoad,
			wantWords: []string{"does not set EXTRACT_CHUNK_SECONDS", "ExtractLoad"},
		},
		{
			name: "required variable",
			file: "functions.tf",
			old:  "    GOOGLE_CLOUD_PROJECT = var.project_id\n",
			new:  "",
			mode: "otp", fn: config.Logout,
			wantWords: []string{"does not set GOOGLE_CLOUD_PROJECT", "requires"},
		},
		{
			name: "secret variable",
			file: "functions.tf",
			old:  "        OTP_WEBHOOK_SECRET = \"otp-webhook-secret\"\n",
			new:  "",
			mode: "otp", fn: config.CompleteLogin,
			wantWords: []string{"does not set OTP_WEBHOOK_SECRET", "requires"},
		},
		{
			name: "credential of the otp mode",
			file: "functions.tf",
			old:  "    WEB_PASSWORD = \"web-password\"\n",
			new:  "",
			mode: "otp", fn: config.StartLogin,
			wantWords: []string{"WEB_PASSWORD set = false, want true"},
		},
		{
			name: "credential of the api-token mode",
			file: "functions.tf",
			old:  "    WEB_API_TOKEN = \"web-api-token\"\n",
			new:  "",
			mode: "api-token", fn: config.StartLogin,
			wantWords: []string{"WEB_API_TOKEN set = false, want true"},
		},
		{
			name: "optional variable of the logins' failed-run record",
			file: "functions.tf",
			old:  "        FULL_REFRESH_HOURS  = tostring(var.full_refresh_hours)\n        SUB_LOGIN_PENDING   = google_pubsub_subscription.login_pending_complete.name\n        TOPIC_LOGIN_PENDING",
			new:  "        SUB_LOGIN_PENDING   = google_pubsub_subscription.login_pending_complete.name\n        TOPIC_LOGIN_PENDING",
			mode: "api-token", fn: config.StartLogin,
			wantWords: []string{"does not set FULL_REFRESH_HOURS", "StartLogin"},
		},
		{
			name: "previous seal key withheld from one function",
			file: "functions.tf",
			old:  "secrets = merge(local.seal_secrets, {",
			new:  "secrets = merge({ TOKEN_SEAL_KEY = \"token-seal-key\" }, {",
			mode: "otp", previous: "set", fn: config.CompleteLogin,
			wantWords: []string{"TOKEN_SEAL_KEY_PREVIOUS set = false, want true", "complete_login"},
		},
		{
			name: "previous seal key set without its variable",
			file: "functions.tf",
			old:  "local.seal_key_previous_set ? { TOKEN_SEAL_KEY_PREVIOUS = \"token-seal-key-previous\" } : {}",
			new:  "{ TOKEN_SEAL_KEY_PREVIOUS = \"token-seal-key-previous\" }",
			mode: "otp", previous: "unset", fn: config.Logout,
			wantWords: []string{"TOKEN_SEAL_KEY_PREVIOUS set = true, want false", "unset"},
		},
		{
			name: "previous seal key set in clear",
			file: "functions.tf",
			old:  "        WEB_LOGOUT_PATH       = var.web_paths.logout\n",
			new:  "        WEB_LOGOUT_PATH       = var.web_paths.logout\n        TOKEN_SEAL_KEY_PREVIOUS = var.token_seal_key_previous\n",
			mode: "otp", previous: "set", fn: config.Logout,
			wantWords: []string{"TOKEN_SEAL_KEY_PREVIOUS", "both as plain and as secret"},
		},
		{name: "variable set from another Terraform variable", file: "functions.tf", mode: "otp", fn: config.ExtractLoad,
			old: "PAGE_LIMIT            = tostring(var.page_limit)", new: "PAGE_LIMIT            = tostring(var.window_days)",
			wantWords: []string{"PAGE_LIMIT", "var.page_limit"}},
		{name: "secret taken from another secret", file: "functions.tf", mode: "otp", fn: config.StartLogin,
			old: `WEB_PASSWORD = "web-password"`, new: `WEB_PASSWORD = "web-email"`,
			wantWords: []string{"WEB_PASSWORD", `"web-email", want "web-password"`}},
		{
			name: "secret set in clear",
			file: "functions.tf",
			old:  "        WEB_OTP_PATH        = var.web_paths.otp\n",
			new:  "        WEB_OTP_PATH        = var.web_paths.otp\n        OTP_WEBHOOK_SECRET  = var.otp_webhook_secret\n",
			mode: "otp", fn: config.CompleteLogin,
			wantWords: []string{"OTP_WEBHOOK_SECRET", "both as plain and as secret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := tt.previous
			if state == "" {
				state = "unset"
			}
			dep := newDeployment(tt.mode, state)
			c := planted(t, tt.file, tt.old, tt.new)
			d, ok := mustDeployed(t, c, dep)[string(tt.fn)]
			if !ok {
				t.Fatalf("%s is not deployed in the planted configuration", tt.fn)
			}
			problems := environmentProblems(tt.fn, d, dep)
			for _, p := range problems {
				if containsAll(p, tt.wantWords) {
					return
				}
			}
			t.Errorf("got problems %q, want one saying %q", problems, tt.wantWords)
		})
	}
}

func TestMissingCreateBeforeDestroyFails(t *testing.T) {
	c := planted(t, "secrets.tf", "    create_before_destroy = true\n", "    create_before_destroy = false\n")
	problems := secretVersionProblems(t, c)
	if len(problems) != 1 || !strings.Contains(problems[0], "create_before_destroy") {
		t.Errorf("got %q, want one problem about create_before_destroy", problems)
	}
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
