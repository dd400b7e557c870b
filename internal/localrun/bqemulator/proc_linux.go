package bqemulator

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the emulator when the process that started it dies, so
// a crashed or interrupted test run leaves no emulator behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
