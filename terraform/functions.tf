# The four functions of CONTRACT.md section 1, from the one source archive.
# Each entry of local.functions holds one function's whole wiring: entry point,
# ingress, trigger, the topics it publishes to, its plain and secret
# environment (CONTRACT.md section 5). tools/deploycheck checks these against
# the Go code: every registered entry point is deployed, every variable a
# function reads is set here.

locals {
  # Function (and Cloud Run service) names: lowercase, as 2nd-gen functions need.
  function_names = { for key in keys(local.functions) : key => "${var.name_prefix}-${replace(key, "_", "-")}" }

  common_environment = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    WEB_BASE_URL         = var.web_base_url
  }

  # The run log (sync_runs): ExtractLoad writes every session there,
  # StartLogin and CompleteLogin record a login whose code never came, and
  # Logout adds its requests to the session's row. All four must name the
  # same table in the same location, or a write goes to a dataset that does
  # not exist (the defaults are
  # tiflux/sync_runs in US; a southamerica-east1 deployment is elsewhere).
  # CompleteLogin's time limit, which the lease on a pending login outlasts
  # (pubsub.tf).
  complete_login_timeout = 120

  run_log_environment = {
    BQ_DATASET    = google_bigquery_dataset.warehouse.dataset_id
    BQ_RUNS_TABLE = google_bigquery_table.sync_runs.table_id
    BQ_LOCATION   = google_bigquery_dataset.warehouse.location
  }

  # The seal key, and during a rotation the one before it (README.md, Rotating
  # the seal key): every function opens seals, so every function gets both.
  # Whether the previous key is set is no secret (its value is), and for_each
  # keys may not be sensitive.
  seal_key_previous_set = nonsensitive(var.token_seal_key_previous != null && var.token_seal_key_previous != "")

  seal_secrets = merge(
    { TOKEN_SEAL_KEY = "token-seal-key" },
    local.seal_key_previous_set ? { TOKEN_SEAL_KEY_PREVIOUS = "token-seal-key-previous" } : {},
  )

  # Secret variables: environment name → key of google_secret_manager_secret.secret.
  login_secrets = var.auth_mode == "otp" ? {
    WEB_EMAIL    = "web-email"
    WEB_PASSWORD = "web-password"
    } : {
    WEB_API_TOKEN = "web-api-token"
  }

  functions = {
    start_login = {
      entry_point   = "StartLogin"
      description   = "Starts a login to the web system and publishes the pending session (login-pending), or the ready one in api-token mode (session-ready)."
      ingress       = "ALLOW_INTERNAL_ONLY" # Cloud Scheduler only
      trigger_topic = null
      timeout       = 120
      max_instances = 1
      memory        = "256Mi"
      publishes     = ["login_pending", "session_ready"]
      # StartLogin first drains the pending logins that expired unseen
      # (login-pending-complete) and records each in sync_runs as failed, with
      # the pull mode it resolves as ExtractLoad would (FULL_REFRESH_HOURS; so
      # does CompleteLogin for the logins it drops).
      environment = merge(local.common_environment, local.run_log_environment, {
        WEB_LOGIN_PATH      = var.web_paths.login
        OTP_TTL_MINUTES     = tostring(var.otp_ttl_minutes)
        FULL_REFRESH_HOURS  = tostring(var.full_refresh_hours)
        SUB_LOGIN_PENDING   = google_pubsub_subscription.login_pending_complete.name
        TOPIC_LOGIN_PENDING = google_pubsub_topic.topic["login_pending"].name
        TOPIC_SESSION_READY = google_pubsub_topic.topic["session_ready"].name
      })
      secrets = merge(local.login_secrets, local.seal_secrets)
    }

    complete_login = {
      entry_point   = "CompleteLogin"
      description   = "Receives the signed one-time code from the Apps Script, finishes the pending login and publishes session-ready."
      ingress       = "ALLOW_ALL" # the Apps Script calls from outside; the signature guards it
      trigger_topic = null
      timeout       = local.complete_login_timeout
      max_instances = 3
      memory        = "256Mi"
      publishes     = ["session_ready"]
      environment = merge(local.common_environment, local.run_log_environment, {
        WEB_OTP_PATH        = var.web_paths.otp
        WEB_LOGOUT_PATH     = var.web_paths.logout
        OTP_TTL_MINUTES     = tostring(var.otp_ttl_minutes)
        FULL_REFRESH_HOURS  = tostring(var.full_refresh_hours)
        SUB_LOGIN_PENDING   = google_pubsub_subscription.login_pending_complete.name
        TOPIC_SESSION_READY = google_pubsub_topic.topic["session_ready"].name
      })
      secrets = merge(local.seal_secrets, {
        OTP_WEBHOOK_SECRET = "otp-webhook-secret"
      })
    }

    extract_load = {
      entry_point   = "ExtractLoad"
      description   = "Pulls the tickets of a ready session into BigQuery, continues long pulls through session-ready, and publishes load-finished."
      ingress       = "ALLOW_INTERNAL_ONLY" # Eventarc only
      trigger_topic = "session_ready"
      timeout       = 540 # the maximum for an event-driven function
      max_instances = 1   # one session at a time
      memory        = "512Mi"
      publishes     = ["session_ready", "load_finished"]
      environment = merge(local.common_environment, local.run_log_environment, {
        WEB_TICKETS_PATH      = var.web_paths.tickets
        MAX_EVENT_AGE_MINUTES = tostring(var.max_event_age_minutes)
        WINDOW_DAYS           = tostring(var.window_days)
        PAGE_LIMIT            = tostring(var.page_limit)
        RATE_LIMIT_PER_MINUTE = tostring(var.rate_limit_per_minute)
        FULL_REFRESH_HOURS    = tostring(var.full_refresh_hours)
        TIMEZONE              = var.report_time_zone
        EXTRACT_CHUNK_SECONDS = tostring(var.extract_chunk_seconds)
        BQ_TABLE              = google_bigquery_table.tickets.table_id
        TOPIC_SESSION_READY   = google_pubsub_topic.topic["session_ready"].name
        TOPIC_LOAD_FINISHED   = google_pubsub_topic.topic["load_finished"].name
      })
      secrets = local.seal_secrets
    }

    logout = {
      entry_point   = "Logout"
      description   = "Logs the session out of the web system once its load has finished."
      ingress       = "ALLOW_INTERNAL_ONLY" # Eventarc only
      trigger_topic = "load_finished"
      timeout       = 60
      max_instances = 2
      memory        = "256Mi"
      publishes     = []
      # Logout adds its requests to the session's sync_runs row, once.
      environment = merge(local.common_environment, local.run_log_environment, {
        WEB_LOGOUT_PATH       = var.web_paths.logout
        MAX_EVENT_AGE_MINUTES = tostring(var.max_event_age_minutes)
      })
      secrets = local.seal_secrets
    }
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = local.function_names[each.key]
  description = each.value.description

  build_config {
    runtime         = "go126" # go.mod: go 1.26
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.function[each.key].email
    ingress_settings               = each.value.ingress
    timeout_seconds                = each.value.timeout
    available_memory               = each.value.memory
    min_instance_count             = 0
    max_instance_count             = each.value.max_instances
    all_traffic_on_latest_revision = true
    environment_variables          = each.value.environment

    dynamic "secret_environment_variables" {
      for_each = each.value.secrets

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value].secret_id
        # Pinned, so that a new secret value rolls out a new revision.
        version = google_secret_manager_secret_version.secret[secret_environment_variables.value].version
      }
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.trigger_topic == null ? [] : [each.value.trigger_topic]

    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.topic[event_trigger.value].id
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.triggers.email
    }
  }

  # A function checks at deployment that its account can read its secrets, and
  # its build needs the build account's role.
  depends_on = [
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_source,
    google_secret_manager_secret_iam_member.accessor,
    terraform_data.propagation_wait,
  ]
}
