# Rotating a secret: a new value makes a new version (secret_data forces a
# replacement), and every function that reads it is pinned to the new one.
# The order of that replacement (create the new version, roll the functions,
# then delete the old one: lifecycle create_before_destroy) is not visible to
# assertions; tools/deploycheck checks that the lifecycle block is there.

mock_provider "google" {}

run "first_value" {
  command = apply

  assert {
    condition     = nonsensitive(google_secret_manager_secret_version.secret["token-seal-key"].secret_data) == var.token_seal_key
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
