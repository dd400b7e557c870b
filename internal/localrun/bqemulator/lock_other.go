//go:build !unix

package bqemulator

// lockFile is a no-op where flock is missing: concurrent builds then each
// write their own temporary file and the last rename wins.
func lockFile(path string) (unlock func(), err error) { return func() {}, nil }
