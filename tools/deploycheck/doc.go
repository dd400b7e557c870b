// Package deploycheck holds the tests that hold the Go code and the Terraform
// configuration in terraform/ to each other (CONTRACT.md sections 1 and 5):
//
//   - every entry point registered with the Functions Framework in functions/
//     is a google_cloudfunctions2_function with that entry point, of the same
//     kind (HTTP, or CloudEvent with an event trigger), and vice versa;
//   - every environment variable a function reads (shared/config.Table, the
//     one description of each variable) is set for it as its entry says:
//     from the named Terraform variable, or from the named Secret Manager
//     secret, in each auth mode (AuthMode) and switch state (SwitchedBy),
//     except the local-only ones (emulator hosts): optional ones too, since
//     a Go default need not fit the deployment (BQ_LOCATION is US by
//     default); and nothing else is set. Each kind of omission, planted in a
//     copy of terraform/, makes the check fail (TestEnvironmentOmissionsFail);
//   - every secret version is replaced create-before-destroy, so a rotation
//     never deletes the version the running functions are pinned to.
//
// The configuration is read with the HCL parser and evaluated only as far as
// the names go: variables, resource attributes and Terraform functions that
// the evaluation does not know stay unknown values, so the test needs neither
// the tofu binary nor a provider.
package deploycheck
