package main

import (
	"archive/zip"
	"bytes"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../../.."

// mustWriteTree creates files (name → content) under a new temporary directory.
func mustWriteTree(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// mustArchive returns the archive of the repository at root.
func mustArchive(tb testing.TB, root string) []byte {
	tb.Helper()
	entries, err := collect(root)
	if err != nil {
		tb.Fatalf("collect(%s): %v", root, err)
	}
	var buf bytes.Buffer
	if err := write(&buf, entries); err != nil {
		tb.Fatalf("write: %v", err)
	}
	return buf.Bytes()
}

// fixture is a repository with one of each kind of file the packager must
// take, move or leave out.
var fixture = map[string]string{
	"go.mod":                               "module example.com/m\n\ngo 1.26\n",
	"go.sum":                               "",
	"README.md":                            "not deployed",
	"functions/start_login.go":             "package functions\n",
	"functions/extract_load.go":            "package functions\n",
	"functions/extract_load_test.go":       "package functions\n",
	"functions/.#start_login.go":           "editor lock",
	"functions/cmd/local/main.go":          "package main\n",
	"functions/cmd/package/main.go":        "package main\n",
	"functions/testdata/event.json":        "{}",
	"shared/config/config.go":              "package config\n",
	"shared/config/config_test.go":         "package config\n",
	"shared/config/testdata/env.txt":       "X=1",
	"shared/warehouse/schema/tickets.json": "[]",
	"shared/warehouse/warehouse.go":        "package warehouse\n",
	"shared/.DS_Store":                     "",
	"terraform/main.tf":                    "",
	"tools/go.mod":                         "module example.com/m/tools\n",
}

func TestCollect(t *testing.T) {
	root := mustWriteTree(t, fixture)

	entries, err := collect(root)
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, e := range entries {
		got = append(got, e.name)
	}
	want := []string{
		"extract_load.go",
		"go.mod",
		"go.sum",
		"shared/config/config.go",
		"shared/warehouse/schema/tickets.json",
		"shared/warehouse/warehouse.go",
		"start_login.go",
	}
	if !slices.Equal(got, want) {
		t.Errorf("archive entries:\ngot  %q\nwant %q", got, want)
	}
}

func TestCollectNeedsTheEntryPoints(t *testing.T) {
	files := map[string]string{"go.mod": "module example.com/m\n", "go.sum": "", "shared/x/x.go": "package x\n"}
	for name, tree := range map[string]map[string]string{
		"NoFunctionsDir":  files,
		"OnlyTests":       with(files, "functions/a_test.go", "package functions\n"),
		"NoGoSum":         with(without(files, "go.sum"), "functions/a.go", "package functions\n"),
		"NoSharedPackage": with(without(files, "shared/x/x.go"), "functions/a.go", "package functions\n"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := collect(mustWriteTree(t, tree)); err == nil {
				t.Errorf("collect: got no error, want one")
			}
		})
	}
}

func with(files map[string]string, name, content string) map[string]string {
	out := map[string]string{name: content}
	for k, v := range files {
		out[k] = v
	}
	return out
}

func without(files map[string]string, name string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		if k != name {
			out[k] = v
		}
	}
	return out
}

func TestArchiveIsDeterministic(t *testing.T) {
	root := mustWriteTree(t, fixture)
	first := mustArchive(t, root)

	// Same content, new modification times and permissions: same bytes.
	later := time.Now().Add(time.Hour)
	for _, name := range []string{"functions/start_login.go", "shared/config/config.go", "go.mod"} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	second := mustArchive(t, root)
	if !bytes.Equal(first, second) {
		t.Errorf("archive changed with modification times and modes alone (%d vs %d bytes)", len(first), len(second))
	}

	// Changed content: different bytes.
	if err := os.WriteFile(filepath.Join(root, "shared/config/config.go"), []byte("package config // changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if third := mustArchive(t, root); bytes.Equal(first, third) {
		t.Errorf("archive did not change with the source")
	}

	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !f.Modified.Equal(modTime) || f.Mode() != 0o644 || f.Method != zip.Store {
			t.Errorf("%s: modified %v, mode %v, method %d; want %v, 0644, stored", f.Name, f.Modified, f.Mode(), f.Method, modTime)
		}
	}
}

func TestRunWritesTheArchive(t *testing.T) {
	root := mustWriteTree(t, fixture)
	out := filepath.Join(t.TempDir(), "dist", "function-source.zip")
	var stdout bytes.Buffer

	if err := run(root, out, &stdout); err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustArchive(t, root); !bytes.Equal(got, want) {
		t.Errorf("%s differs from the archive of %s", out, root)
	}
	if !strings.Contains(stdout.String(), "7 files") {
		t.Errorf("summary %q does not count 7 files", stdout.String())
	}
}

// The repository's own archive, unpacked and built the way the Cloud Functions
// Go buildpack (GoogleCloudPlatform/buildpacks, cmd/go/functions_framework)
// builds it: the source becomes serverless_function_source_code, the one
// package at its root is blank-imported by a generated main package
// functions.local/app inside the same module, `go mod tidy` runs, then
// `go build` of that main package.
func TestRepositoryArchiveBuildsLikeTheBuildpack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the deployment; skipped in -short mode")
	}
	src := filepath.Join(t.TempDir(), "serverless_function_source_code")
	mustUnzip(t, mustArchive(t, repoRoot), src)

	for _, name := range mustFileNames(t, src) {
		if strings.HasSuffix(name, "_test.go") || slices.Contains(strings.Split(filepath.ToSlash(name), "/"), "testdata") {
			t.Errorf("archive holds %s: no tests or test data may be deployed", name)
		}
		// The simulated web system, the emulator runner and the request
		// meter serve tests and local runs only.
		if strings.HasPrefix(filepath.ToSlash(name), "internal/") {
			t.Errorf("archive holds %s: local-only packages (internal/localrun) are never deployed", name)
		}
	}

	pkg, imports := mustRootPackage(t, src)
	if pkg == "main" {
		t.Fatalf("the root package is main; the buildpack needs a library package")
	}
	// The buildpack imports <module>/<pkg> instead of <module> when a directory
	// named after the package sits at the root.
	if fi, err := os.Stat(filepath.Join(src, pkg)); err == nil && fi.IsDir() {
		t.Errorf("a directory %s/ sits at the archive root: the buildpack would import it instead of the root package", pkg)
	}
	// With the functions package imported the buildpack picks its declarative
	// template (registration in init, no FUNCTION_TARGET symbol lookup).
	const frameworkFunctions = "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	if !imports[frameworkFunctions] {
		t.Errorf("the root package does not import %s: the buildpack would look up FUNCTION_TARGET as a Go symbol", frameworkFunctions)
	}

	mustGo(t, src, "list", "-m", "github.com/GoogleCloudPlatform/functions-framework-go")
	module := strings.TrimSpace(mustGo(t, src, "list", "-m"))
	if first, _, _ := strings.Cut(module, "/"); !strings.Contains(first, ".") {
		t.Errorf("module path %q: the buildpack needs a dot in its first element", module)
	}

	app := filepath.Join(src, "functions.local", "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(strings.ReplaceAll(declarativeMain, "{{.Package}}", module)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGo(t, src, "mod", "tidy")
	mustGo(t, src, "build", "-o", filepath.Join(t.TempDir(), "main"), "./functions.local/app")
}

// declarativeMain is the buildpack's main template for functions registered
// with the functions package (template_declarative.go).
const declarativeMain = `// Binary main file implements an HTTP server that loads and runs user's code
// on incoming HTTP requests.
package main

import (
	"log"
	"net/http"
	"os"

	_ "{{.Package}}"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %v\n", err)
	}
}
`

// mustGo runs the go command in dir, outside any workspace and with the local
// toolchain, and returns its standard output.
func mustGo(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func mustUnzip(tb testing.TB, archive []byte, dir string) {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range zr.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		// The buildpack refuses a read-only go.mod, so the files stay writable.
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func mustFileNames(tb testing.TB, dir string) []string {
	tb.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		names = append(names, rel)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

// mustRootPackage returns the package name of the Go files at dir's root and
// the set of paths they import, failing when the files disagree on the name
// (the buildpack's converter/get_package does the same).
func mustRootPackage(tb testing.TB, dir string) (string, map[string]bool) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Go files at the archive root (%v)", err)
	}
	pkg := ""
	imports := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			tb.Fatal(err)
		}
		if pkg != "" && f.Name.Name != pkg {
			tb.Fatalf("%s is package %s, others are package %s", filepath.Base(name), f.Name.Name, pkg)
		}
		pkg = f.Name.Name
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				tb.Fatal(err)
			}
			imports[path] = true
		}
	}
	return pkg, imports
}
