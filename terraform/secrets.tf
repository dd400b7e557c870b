# The secrets of CONTRACT.md section 5, in Secret Manager, each readable only by
# the functions that use it. Only the chosen auth mode's credentials exist.
#
# A function whose secret has no version cannot start, so the first apply
# creates the versions from the sensitive variables. Their values therefore
# sit in the Terraform state: README.md says how to keep the state safe. (The
# write-only secret_data_wo argument would keep them out, but OpenTofu 1.10,
# which the checks run, does not support write-only arguments.)

locals {
  secret_names = toset(concat(
    ["otp-webhook-secret", "token-seal-key"],
    local.seal_key_previous_set ? ["token-seal-key-previous"] : [],
    var.auth_mode == "otp" ? ["web-email", "web-password"] : ["web-api-token"],
  ))

  secret_values = {
    "otp-webhook-secret"      = var.otp_webhook_secret
    "token-seal-key"          = var.token_seal_key
    "token-seal-key-previous" = var.token_seal_key_previous
    "web-email"               = var.web_email
    "web-password"            = var.web_password
    "web-api-token"           = var.web_api_token
  }

  # Who reads what: secret → function, from the functions' secret variables.
  secret_readers = merge([
    for fn, f in local.functions : {
      for env, secret in f.secrets : "${secret}/${fn}" => { secret = secret, function = fn }
    }
  ]...)
}

resource "google_secret_manager_secret" "secret" {
  for_each = local.secret_names

  project   = var.project_id
  secret_id = "${var.name_prefix}-${each.key}"

  replication {
    auto {}
  }

  depends_on = [google_project_service.service]
}

resource "google_secret_manager_secret_version" "secret" {
  for_each = local.secret_names

  secret      = google_secret_manager_secret.secret[each.key].id
  secret_data = local.secret_values[each.key]

  # A new value replaces the version (secret_data forces a new resource). By
  # default Terraform would destroy the old version first, while the running
  # revision is still pinned to it: every cold start in between fails to
  # read its secret. Create the new version, roll the functions onto it, and
  # only then delete the old one. (Provider docs, google_secret_manager_secret_version:
  # "The behavior of the secret_data field is force new ... To mitigate this,
  # use the create_before_destroy field within the lifecycle block";
  # https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/secret_manager_secret_version)
  lifecycle {
    create_before_destroy = true

    # The previous key equal to the current one would be no rotation at all:
    # most likely the new key was forgotten (README.md, Rotating the seal key).
    precondition {
      condition     = !local.seal_key_previous_set || nonsensitive(var.token_seal_key_previous != var.token_seal_key)
      error_message = "The token_seal_key_previous must differ from token_seal_key: set a new token_seal_key when rotating."
    }
  }
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secret_readers

  project   = var.project_id
  secret_id = google_secret_manager_secret.secret[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.function_members[each.value.function]
}
