//go:build !linux

package bqemulator

import "os/exec"

func setDeathSignal(cmd *exec.Cmd) {}
