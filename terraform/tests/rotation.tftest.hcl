# Rotating a secret: a new value makes a new version (secret_data forces a
# replacement), and every function that reads it is pinned to the new one.
# The order of that replacement (create the new version, roll the functions,
# then delete the old one: lifecycle create_before_destroy) is not visible to
# assertions; tools/deploycheck checks that the lifecycle block is there.

mock_provider "google" {}

variables {
  project_id               = "tiflux-test"
  web_base_url             = "https://api.example.com/api/v2"
  web_email                = "robot@example.com"
  web_password             = "correct horse battery staple"
  otp_webhook_secret       = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  token_seal_key           = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
  source_zip               = "tests/fixtures/function-source.zip"
  propagation_wait_seconds = 0
}

run "first_value" {
  command = apply

  assert {
    condition     = nonsensitive(google_secret_manager_secret_version.secret["token-seal-key"].secret_data) == "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    error_message = "The first apply stores the first value."
  }
}

run "rotated_value" {
  command = apply

  variables {
    token_seal_key = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
  }

  assert {
    condition     = nonsensitive(google_secret_manager_secret_version.secret["token-seal-key"].secret_data) == "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    error_message = "A new value must become a new version."
  }

  assert {
    condition = alltrue([
      for fn in ["start_login", "complete_login", "extract_load", "logout"] : anytrue([
        for s in google_cloudfunctions2_function.function[fn].service_config[0].secret_environment_variables :
        s.key == "TOKEN_SEAL_KEY" && s.version == google_secret_manager_secret_version.secret["token-seal-key"].version
      ])
    ])
    error_message = "Every function must be pinned to the rotated version."
  }
}
