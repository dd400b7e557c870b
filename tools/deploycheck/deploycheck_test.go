package deploycheck_test

import (
	"go/ast"
	"go/parser"
	"go/token"
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
// variables each needs (CONTRACT.md sections 2 and 5).
var authModes = map[string][]string{
	"otp":       {"WEB_EMAIL", "WEB_PASSWORD"},
	"api-token": {"WEB_API_TOKEN"},
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
}

// mustDeployed evaluates the functions of the configuration with auth_mode set.
func mustDeployed(tb testing.TB, c *deploycheck.Config, authMode string) map[string]deployed {
	tb.Helper()
	ctx := c.EvalContext(map[string]cty.Value{"auth_mode": cty.StringVal(authMode)})
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
			if d.plainEnv, err = deploycheck.Keys(services[0], "environment_variables", sctx[0]); err != nil {
				tb.Fatalf("%s: service_config.environment_variables: %v", address, err)
			}
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

	for mode := range authModes {
		t.Run(mode, func(t *testing.T) {
			fns := mustDeployed(t, c, mode)
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
// each auth mode; secrets from Secret Manager; nothing it does not read.
func TestEnvironmentMatches(t *testing.T) {
	c := mustLoad(t)

	for mode, credentials := range authModes {
		t.Run(mode, func(t *testing.T) {
			fns := mustDeployed(t, c, mode)
			for _, fn := range config.Functions {
				d, ok := fns[string(fn)]
				if !ok {
					t.Errorf("%s is not deployed", fn)
					continue
				}
				t.Run(string(fn), func(t *testing.T) {
					checkEnvironment(t, fn, d, credentials)
				})
			}
		})
	}
}

func checkEnvironment(t *testing.T, fn config.Function, d deployed, credentials []string) {
	vars := config.Vars(fn)
	if len(vars) == 0 {
		t.Fatalf("config.Vars(%s) lists no variables", fn)
	}
	reads := map[string]config.Var{}
	for _, v := range vars {
		reads[v.Name] = v
	}
	for _, name := range d.plainEnv {
		if slices.Contains(d.secretEnv, name) {
			t.Errorf("%s: %s is set both as plain and as secret environment", d.address, name)
		}
	}

	set := append(slices.Clone(d.plainEnv), d.secretEnv...)
	for _, name := range set {
		v, ok := reads[name]
		switch {
		case !ok:
			t.Errorf("%s sets %s, which %s does not read", d.address, name, fn)
		case v.Local:
			t.Errorf("%s sets %s, which is for local runs only", d.address, name)
		case v.Secret && !slices.Contains(d.secretEnv, name):
			t.Errorf("%s sets the secret %s as a plain environment variable; it belongs in secret_environment_variables", d.address, name)
		case !v.Secret && slices.Contains(d.secretEnv, name):
			t.Errorf("%s takes %s from Secret Manager, but it is no secret", d.address, name)
		}
	}

	for _, v := range vars {
		isSet := slices.Contains(set, v.Name)
		credential := slices.Contains([]string{"WEB_EMAIL", "WEB_PASSWORD", "WEB_API_TOKEN"}, v.Name)
		switch {
		case v.Local:
			// Emulator hosts: never set in the cloud.
		case credential:
			if want := slices.Contains(credentials, v.Name); isSet != want {
				t.Errorf("%s: %s set = %v, want %v in this auth mode", d.address, v.Name, isSet, want)
			}
		case v.Required && !isSet:
			t.Errorf("%s does not set %s, which %s requires", d.address, v.Name, fn)
		case v.Default == "" && !isSet:
			t.Errorf("%s does not set %s, which has no default", d.address, v.Name)
		}
	}
}
