# The previous seal key (TOKEN_SEAL_KEY_PREVIOUS) during a key rotation
# (README.md, Rotating the seal key): unset, nothing of it exists; set, it is
# a secret of its own, readable by and pinned in every function; unset again,
# it is gone.

mock_provider "google" {}

run "unset" {
  command = plan

  assert {
    condition     = !contains(keys(google_secret_manager_secret.secret), "token-seal-key-previous") && !contains(keys(google_secret_manager_secret_version.secret), "token-seal-key-previous")
    error_message = "Without a previous key there must be no secret for it."
  }

  assert {
    condition = alltrue([
      for fn, f in google_cloudfunctions2_function.function : alltrue([
        for s in f.service_config[0].secret_environment_variables : s.key != "TOKEN_SEAL_KEY_PREVIOUS"
      ])
    ])
    error_message = "Without a previous key no function may read TOKEN_SEAL_KEY_PREVIOUS."
  }
}

run "empty_is_unset" {
  command = plan

  variables {
    token_seal_key_previous = ""
  }

  assert {
    condition     = !contains(keys(google_secret_manager_secret.secret), "token-seal-key-previous")
    error_message = "An empty previous key must count as unset."
  }
}

run "set_while_rotating" {
  command = apply

  variables {
    token_seal_key          = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    token_seal_key_previous = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
  }

  assert {
    condition     = google_secret_manager_secret.secret["token-seal-key-previous"].secret_id == "tiflux-token-seal-key-previous"
    error_message = "The previous key must be a secret of its own."
  }

  assert {
    condition     = nonsensitive(google_secret_manager_secret_version.secret["token-seal-key-previous"].secret_data) == var.token_seal_key_previous
    error_message = "The previous key's version must hold the previous key."
  }

  assert {
    condition = alltrue([
      for fn in ["start_login", "complete_login", "extract_load", "logout"] : anytrue([
        for s in google_cloudfunctions2_function.function[fn].service_config[0].secret_environment_variables :
        s.key == "TOKEN_SEAL_KEY_PREVIOUS" && s.version == google_secret_manager_secret_version.secret["token-seal-key-previous"].version
      ])
    ])
    error_message = "Every function must read TOKEN_SEAL_KEY_PREVIOUS, pinned to its version."
  }

  assert {
    condition = alltrue([
      for fn in ["start_login", "complete_login", "extract_load", "logout"] :
      contains(keys(google_secret_manager_secret_iam_member.accessor), "token-seal-key-previous/${fn}")
    ])
    error_message = "Every function's account must be able to read the previous key."
  }
}

run "dropped_after_rotation" {
  command = apply

  variables {
    token_seal_key = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
  }

  assert {
    condition     = !contains(keys(google_secret_manager_secret.secret), "token-seal-key-previous") && !contains(keys(google_secret_manager_secret_iam_member.accessor), "token-seal-key-previous/logout")
    error_message = "Dropping the previous key must remove its secret and its readers."
  }
}

run "malformed_previous_key" {
  command = plan

  variables {
    token_seal_key_previous = "not a key"
  }

  expect_failures = [var.token_seal_key_previous]
}

run "previous_key_equal_to_current" {
  command = plan

  variables {
    token_seal_key_previous = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
  }

  expect_failures = [google_secret_manager_secret_version.secret]
}
