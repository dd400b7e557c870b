// Command package writes the source archive that Terraform uploads for the
// four Cloud Functions.
//
//	go run ./functions/cmd/package [-o dist/function-source.zip] [-root .]
//
// The Cloud Functions Go buildpack builds the one Go package it finds at the
// root of the uploaded source, so the archive is laid out the way the buildpack
// wants it rather than the way the repository is:
//
//	go.mod, go.sum           the module, unchanged
//	*.go                     functions/*.go (package functions, the entry points)
//	shared/**                the packages the entry points import, with their embedded files
//
// Tests (_test.go), testdata directories, hidden files and functions/cmd/** are
// left out. The archive is deterministic: entries are sorted, stored
// uncompressed with a fixed modification time and mode, so the same source
// gives the same bytes (and the same object name in the bucket) on any machine
// and Go version.
package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// modTime is the modification time of every entry: the earliest an MS-DOS
// timestamp can hold, so that nothing about the build machine leaks in.
var modTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// entry is one file of the archive: its name in the archive and its path on disk.
type entry struct {
	name string
	path string
}

func main() {
	out := flag.String("o", filepath.Join("dist", "function-source.zip"), "where to write the archive")
	root := flag.String("root", ".", "the repository root (the directory holding go.mod)")
	flag.Parse()

	if err := run(*root, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

// run writes the archive of the repository at root to out and prints a summary.
func run(root, out string, stdout io.Writer) error {
	entries, err := collect(root)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := write(&buf, entries); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	// Write beside the target and rename, so an interrupted run never leaves a
	// truncated archive for Terraform to upload.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".function-source-*.zip")
	if err != nil {
		return fmt.Errorf("creating the archive: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the archive: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	fmt.Fprintf(stdout, "wrote %s: %d files, %d bytes, sha256 %s\n", out, len(entries), buf.Len(), hex.EncodeToString(sum[:]))
	return nil
}

// collect lists the files of the archive, sorted by name.
func collect(root string) ([]entry, error) {
	var entries []entry
	for _, name := range []string{"go.mod", "go.sum"} {
		p := filepath.Join(root, name)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("reading the module: %w", err)
		}
		entries = append(entries, entry{name: name, path: p})
	}

	// The entry points become the root package: functions/*.go only, not its
	// subdirectories (cmd/ holds the local commands, which are not deployed).
	fnDir := filepath.Join(root, "functions")
	files, err := os.ReadDir(fnDir)
	if err != nil {
		return nil, fmt.Errorf("reading the entry points: %w", err)
	}
	found := 0
	for _, f := range files {
		name := f.Name()
		if !f.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || hidden(name) {
			continue
		}
		entries = append(entries, entry{name: name, path: filepath.Join(fnDir, name)})
		found++
	}
	if found == 0 {
		return nil, fmt.Errorf("reading the entry points: no Go files in %s", fnDir)
	}

	sharedDir := filepath.Join(root, "shared")
	err = filepath.WalkDir(sharedDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != sharedDir && (name == "testdata" || hidden(name)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || hidden(name) || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		entries = append(entries, entry{name: filepath.ToSlash(rel), path: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the shared packages: %w", err)
	}

	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].name == entries[i-1].name {
			return nil, fmt.Errorf("two files would be %s in the archive", entries[i].name)
		}
	}
	return entries, nil
}

// hidden reports whether name is one the go command ignores and no deployment
// needs (editor and OS droppings, _-prefixed scratch directories).
func hidden(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// write writes entries as a zip archive to w.
func write(w io.Writer, entries []entry) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		if !fs.ValidPath(e.name) {
			return fmt.Errorf("archive name %q escapes the root", e.name)
		}
		data, err := os.ReadFile(e.path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", e.path, err)
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Store, Modified: modTime}
		h.SetMode(0o644)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("adding %s: %w", e.name, err)
		}
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("adding %s: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("closing the archive: %w", err)
	}
	return nil
}
