# Bad inputs that are easy to type are refused at plan time, with a message
# that says what to do.

mock_provider "google" {}

run "defaults_are_valid" {
  command = plan

  assert {
    condition     = var.region == "us-central1" && var.bigquery_location == "US" && var.auth_mode == "otp"
    error_message = "The defaults changed: update README.md."
  }
}

run "seal_key_of_16_bytes" {
  command = plan

  variables {
    token_seal_key = "MDEyMzQ1Njc4OWFiY2RlZg=="
  }

  expect_failures = [var.token_seal_key]
}

run "seal_key_not_base64" {
  command = plan

  variables {
    token_seal_key = "this is not base64 but it is 44 characters!!"
  }

  expect_failures = [var.token_seal_key]
}

run "short_webhook_secret" {
  command = plan

  variables {
    otp_webhook_secret = "secret"
  }

  expect_failures = [var.otp_webhook_secret]
}

run "otp_mode_needs_a_password" {
  command = plan

  variables {
    web_password = null
  }

  expect_failures = [var.web_password]
}

run "api_token_mode_needs_the_token" {
  command = plan

  variables {
    auth_mode    = "api-token"
    web_email    = null
    web_password = null
  }

  expect_failures = [var.web_api_token]
}

run "unknown_auth_mode" {
  command = plan

  variables {
    auth_mode = "password"
  }

  expect_failures = [var.auth_mode]
}

run "bigquery_location_in_another_region" {
  command = plan

  variables {
    region            = "southamerica-east1"
    bigquery_location = "US"
  }

  expect_failures = [var.bigquery_location]
}

run "bigquery_eu_multi_region" {
  command = plan

  variables {
    region            = "europe-west1"
    bigquery_location = "EU"
  }
}

run "base_url_with_trailing_slash" {
  command = plan

  variables {
    web_base_url = "https://api.example.com/api/v2/"
  }

  expect_failures = [var.web_base_url]
}

run "bad_cron" {
  command = plan

  variables {
    full_sync_schedule = "every day at 6"
  }

  expect_failures = [var.full_sync_schedule]
}

run "page_limit_over_200" {
  command = plan

  variables {
    page_limit = 500
  }

  expect_failures = [var.page_limit]
}
