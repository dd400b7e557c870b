// Package bqemulator pins the BigQuery emulator (github.com/goccy/bigquery-emulator)
// that the tests and the local runner start as a separate process. It lives in the
// tools module so that the emulator never enters the deployed functions' dependency
// graph; build it with
//
//	go build -C tools -o BIN github.com/goccy/bigquery-emulator/cmd/bigquery-emulator
package bqemulator
