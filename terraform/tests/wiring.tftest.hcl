# The wiring of the deployment, planned and applied against a mock of the
# google provider: entry points, triggers, identities, secrets, schedules and
# the login-pending-complete subscription.

mock_provider "google" {}

variables {
  region            = "southamerica-east1"
  bigquery_location = "southamerica-east1"
}

run "functions" {
  command = apply

  assert {
    condition = {
      for k, f in google_cloudfunctions2_function.function : k => f.build_config[0].entry_point
      } == {
      start_login    = "StartLogin"
      complete_login = "CompleteLogin"
      extract_load   = "ExtractLoad"
      logout         = "Logout"
    }
    error_message = "The four functions must have the entry points StartLogin, CompleteLogin, ExtractLoad and Logout."
  }

  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.function : f.build_config[0].runtime == "go126"])
    error_message = "Every function must run on go126 (go.mod says go 1.26)."
  }

  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.function : f.build_config[0].service_account == google_service_account.build.id])
    error_message = "Every function must build with the build service account."
  }

  assert {
    condition = alltrue([
      for f in google_cloudfunctions2_function.function :
      f.build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name &&
      f.build_config[0].source[0].storage_source[0].bucket == google_storage_bucket.source.name
    ])
    error_message = "Every function must build from the uploaded archive."
  }

  assert {
    condition     = google_storage_bucket_object.source.name == "function-source-${filesha256("tests/fixtures/function-source.zip")}.zip"
    error_message = "The archive's object name must come from its content hash."
  }

  assert {
    condition = alltrue([
      for k, f in google_cloudfunctions2_function.function :
      f.service_config[0].service_account_email == google_service_account.function[k].email
    ])
    error_message = "Every function must run as its own service account."
  }

  assert {
    condition     = length(distinct([for sa in google_service_account.function : sa.account_id])) == 4
    error_message = "The four functions must have four distinct service accounts."
  }

  assert {
    condition = {
      for k, f in google_cloudfunctions2_function.function : k => f.service_config[0].ingress_settings
      } == {
      start_login    = "ALLOW_INTERNAL_ONLY"
      complete_login = "ALLOW_ALL"
      extract_load   = "ALLOW_INTERNAL_ONLY"
      logout         = "ALLOW_INTERNAL_ONLY"
    }
    error_message = "Only CompleteLogin may take traffic from outside."
  }

  assert {
    condition     = length(google_cloudfunctions2_function.function["start_login"].event_trigger) == 0 && length(google_cloudfunctions2_function.function["complete_login"].event_trigger) == 0
    error_message = "StartLogin and CompleteLogin are HTTP functions: no event trigger."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.function["extract_load"].event_trigger[0].pubsub_topic == google_pubsub_topic.topic["session_ready"].id &&
      google_cloudfunctions2_function.function["logout"].event_trigger[0].pubsub_topic == google_pubsub_topic.topic["load_finished"].id
    )
    error_message = "ExtractLoad must be triggered by session-ready, Logout by load-finished."
  }

  assert {
    condition = alltrue([
      for k in ["extract_load", "logout"] :
      google_cloudfunctions2_function.function[k].event_trigger[0].event_type == "google.cloud.pubsub.topic.v1.messagePublished" &&
      google_cloudfunctions2_function.function[k].event_trigger[0].retry_policy == "RETRY_POLICY_RETRY" &&
      google_cloudfunctions2_function.function[k].event_trigger[0].service_account_email == google_service_account.triggers.email &&
      google_cloudfunctions2_function.function[k].event_trigger[0].trigger_region == "southamerica-east1"
    ])
    error_message = "The Pub/Sub triggers must retry and deliver as the triggers' service account."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.function["extract_load"].service_config[0].timeout_seconds == 540 &&
      google_cloudfunctions2_function.function["extract_load"].service_config[0].max_instance_count == 1
    )
    error_message = "ExtractLoad must run at most 540 s, one instance at a time."
  }

  assert {
    condition = {
      for k, f in google_cloudfunctions2_function.function : k => join(" ", sort([for s in f.service_config[0].secret_environment_variables : s.key]))
      } == {
      start_login    = "TOKEN_SEAL_KEY WEB_EMAIL WEB_PASSWORD"
      complete_login = "OTP_WEBHOOK_SECRET TOKEN_SEAL_KEY"
      extract_load   = "TOKEN_SEAL_KEY"
      logout         = "TOKEN_SEAL_KEY"
    }
    error_message = "The secret environment variables of the functions are wrong."
  }

  assert {
    condition = alltrue(flatten([
      for f in google_cloudfunctions2_function.function : [
        for s in f.service_config[0].secret_environment_variables :
        s.version == google_secret_manager_secret_version.secret[trimprefix(s.secret, "tiflux-")].version
      ]
    ]))
    error_message = "Every secret variable must be pinned to the version this apply created."
  }

  assert {
    condition = alltrue([
      for k in keys(google_cloudfunctions2_function.function) :
      alltrue([for env in ["WEB_EMAIL", "WEB_PASSWORD", "WEB_API_TOKEN", "OTP_WEBHOOK_SECRET", "TOKEN_SEAL_KEY"] :
      !contains(keys(google_cloudfunctions2_function.function[k].service_config[0].environment_variables), env)])
    ])
    error_message = "No secret may be a plain environment variable."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.function["extract_load"].service_config[0].environment_variables["BQ_DATASET"] == "tiflux" &&
      google_cloudfunctions2_function.function["extract_load"].service_config[0].environment_variables["BQ_TABLE"] == "tickets" &&
      google_cloudfunctions2_function.function["extract_load"].service_config[0].environment_variables["BQ_RUNS_TABLE"] == "sync_runs" &&
      google_cloudfunctions2_function.function["extract_load"].service_config[0].environment_variables["BQ_LOCATION"] == "southamerica-east1" &&
      google_cloudfunctions2_function.function["extract_load"].service_config[0].environment_variables["TOPIC_LOAD_FINISHED"] == "load-finished" &&
      google_cloudfunctions2_function.function["complete_login"].service_config[0].environment_variables["SUB_LOGIN_PENDING"] == "login-pending-complete" &&
      google_cloudfunctions2_function.function["start_login"].service_config[0].environment_variables["TOPIC_LOGIN_PENDING"] == "login-pending" &&
      google_cloudfunctions2_function.function["start_login"].service_config[0].environment_variables["SUB_LOGIN_PENDING"] == "login-pending-complete" &&
      google_cloudfunctions2_function.function["extract_load"].service_config[0].environment_variables["EXTRACT_CHUNK_SECONDS"] == "360" &&
      alltrue([for f in google_cloudfunctions2_function.function : f.service_config[0].environment_variables["GOOGLE_CLOUD_PROJECT"] == "tiflux-test"])
    )
    error_message = "The functions' plain environment must name the project, the topics, the subscription and the tables."
  }

  # The run log is one table in one place for every function that writes it
  # (a southamerica-east1 dataset here; the Go defaults would say US).
  assert {
    condition = alltrue([
      for fn in ["start_login", "complete_login", "extract_load", "logout"] :
      google_cloudfunctions2_function.function[fn].service_config[0].environment_variables["BQ_DATASET"] == "tiflux" &&
      google_cloudfunctions2_function.function[fn].service_config[0].environment_variables["BQ_RUNS_TABLE"] == "sync_runs" &&
      google_cloudfunctions2_function.function[fn].service_config[0].environment_variables["BQ_LOCATION"] == "southamerica-east1"
    ])
    error_message = "All four functions must name the same sync_runs table and location (BQ_DATASET, BQ_RUNS_TABLE, BQ_LOCATION)."
  }
}

run "secrets" {
  command = apply

  assert {
    condition     = toset(keys(google_secret_manager_secret.secret)) == toset(["otp-webhook-secret", "token-seal-key", "web-email", "web-password"])
    error_message = "In otp mode the secrets are the webhook secret, the seal key, the e-mail and the password."
  }

  assert {
    condition     = nonsensitive(google_secret_manager_secret_version.secret["token-seal-key"].secret_data) == var.token_seal_key
    error_message = "The first apply must create each secret's version from its variable."
  }

  # Each secret is readable by exactly the functions that use it.
  assert {
    condition = {
      for k, m in google_secret_manager_secret_iam_member.accessor : k => m.member
      } == {
      "otp-webhook-secret/complete_login" = "serviceAccount:${google_service_account.function["complete_login"].email}"
      "token-seal-key/start_login"        = "serviceAccount:${google_service_account.function["start_login"].email}"
      "token-seal-key/complete_login"     = "serviceAccount:${google_service_account.function["complete_login"].email}"
      "token-seal-key/extract_load"       = "serviceAccount:${google_service_account.function["extract_load"].email}"
      "token-seal-key/logout"             = "serviceAccount:${google_service_account.function["logout"].email}"
      "web-email/start_login"             = "serviceAccount:${google_service_account.function["start_login"].email}"
      "web-password/start_login"          = "serviceAccount:${google_service_account.function["start_login"].email}"
    }
    error_message = "Secret accessors must be exactly the functions that read each secret."
  }

  assert {
    condition     = alltrue([for m in google_secret_manager_secret_iam_member.accessor : m.role == "roles/secretmanager.secretAccessor"])
    error_message = "Functions may only access secrets, not manage them."
  }
}

run "api_token_mode" {
  command = plan

  variables {
    auth_mode     = "api-token"
    web_email     = null
    web_password  = null
    web_api_token = "tfx-0123456789"
  }

  assert {
    condition     = toset(keys(google_secret_manager_secret.secret)) == toset(["otp-webhook-secret", "token-seal-key", "web-api-token"])
    error_message = "In api-token mode only the token's secret (and the shared ones) may exist."
  }

  assert {
    condition     = join(" ", sort([for s in google_cloudfunctions2_function.function["start_login"].service_config[0].secret_environment_variables : s.key])) == "TOKEN_SEAL_KEY WEB_API_TOKEN"
    error_message = "In api-token mode StartLogin gets WEB_API_TOKEN and no e-mail or password."
  }
}

run "pubsub" {
  command = apply

  assert {
    condition     = toset([for t in google_pubsub_topic.topic : t.name]) == toset(["login-pending", "session-ready", "load-finished"])
    error_message = "The topics must be login-pending, session-ready and load-finished."
  }

  assert {
    condition = (
      google_pubsub_subscription.login_pending_complete.name == "login-pending-complete" &&
      google_pubsub_subscription.login_pending_complete.topic == google_pubsub_topic.topic["login_pending"].id
    )
    error_message = "login-pending-complete must subscribe to login-pending."
  }

  assert {
    condition     = google_pubsub_subscription.login_pending_complete.expiration_policy[0].ttl == ""
    error_message = "login-pending-complete must never expire."
  }

  assert {
    condition     = length(google_pubsub_subscription.login_pending_complete.push_config) == 0 && length(google_pubsub_subscription.login_pending_complete.dead_letter_policy) == 0
    error_message = "login-pending-complete is a pull subscription without dead-lettering."
  }

  assert {
    condition = (
      {
        for k, m in google_pubsub_subscription_iam_member.pending : k => m.member
        if m.subscription == google_pubsub_subscription.login_pending_complete.name && m.role == "roles/pubsub.subscriber"
        } == {
        start_login    = "serviceAccount:${google_service_account.function["start_login"].email}"
        complete_login = "serviceAccount:${google_service_account.function["complete_login"].email}"
      }
    )
    error_message = "CompleteLogin (the newest pending login) and StartLogin (draining expired ones) must be the subscribers of login-pending-complete, and only they."
  }

  assert {
    condition = toset(keys(google_pubsub_topic_iam_member.publisher)) == toset([
      "start_login/login_pending", "start_login/session_ready",
      "complete_login/session_ready",
      "extract_load/session_ready", "extract_load/load_finished",
    ])
    error_message = "Only the publishers of CONTRACT.md section 1 may publish, each only to its topics."
  }
}

run "invokers" {
  command = apply

  assert {
    condition = {
      for k, m in google_cloud_run_v2_service_iam_member.invoker : k => m.member
      } == {
      start_login    = "serviceAccount:${google_service_account.scheduler.email}"
      complete_login = "allUsers"
      extract_load   = "serviceAccount:${google_service_account.triggers.email}"
      logout         = "serviceAccount:${google_service_account.triggers.email}"
    }
    error_message = "Invokers: the scheduler on StartLogin, everyone on CompleteLogin, the triggers on ExtractLoad and Logout."
  }

  assert {
    condition = alltrue([
      for k, m in google_cloud_run_v2_service_iam_member.invoker :
      m.role == "roles/run.invoker" && m.name == google_cloudfunctions2_function.function[k].service_config[0].service
    ])
    error_message = "Invocation rights must be roles/run.invoker on each function's Cloud Run service."
  }

  assert {
    condition = (
      google_project_iam_member.bigquery_job_user["extract_load"].role == "roles/bigquery.jobUser" &&
      google_project_iam_member.bigquery_job_user["extract_load"].member == "serviceAccount:${google_service_account.function["extract_load"].email}" &&
      google_bigquery_dataset_iam_member.extract_load.role == "roles/bigquery.dataEditor" &&
      google_bigquery_dataset_iam_member.extract_load.member == "serviceAccount:${google_service_account.function["extract_load"].email}"
    )
    error_message = "ExtractLoad must be a job user on the project and a data editor on the dataset."
  }

  assert {
    condition = alltrue([
      for fn in ["start_login", "complete_login", "logout"] :
      google_project_iam_member.bigquery_job_user[fn].member == "serviceAccount:${google_service_account.function[fn].email}" &&
      google_project_iam_member.bigquery_job_user[fn].role == "roles/bigquery.jobUser" &&
      google_bigquery_table_iam_member.run_log[fn].member == "serviceAccount:${google_service_account.function[fn].email}" &&
      google_bigquery_table_iam_member.run_log[fn].table_id == google_bigquery_table.sync_runs.table_id &&
      google_bigquery_table_iam_member.run_log[fn].role == "roles/bigquery.dataEditor"
    ])
    error_message = "StartLogin, CompleteLogin (failed logins) and Logout (its requests) may write sync_runs and run jobs, and nothing else in BigQuery."
  }

  assert {
    condition = (
      toset(keys(google_project_iam_member.bigquery_job_user)) == toset(["extract_load", "start_login", "complete_login", "logout"]) &&
      toset(keys(google_bigquery_table_iam_member.run_log)) == toset(["start_login", "complete_login", "logout"])
    )
    error_message = "Only ExtractLoad edits the dataset; the other three write sync_runs alone."
  }

  assert {
    condition = (
      google_project_iam_member.build.role == "roles/run.builder" &&
      google_project_iam_member.build.member == "serviceAccount:${google_service_account.build.email}" &&
      google_storage_bucket_iam_member.build_source.bucket == google_storage_bucket.source.name &&
      google_storage_bucket_iam_member.build_source.role == "roles/storage.objectViewer"
    )
    error_message = "The build account must hold roles/run.builder and read the source bucket."
  }
}

run "scheduler" {
  command = apply

  assert {
    condition     = toset(keys(google_cloud_scheduler_job.sync)) == toset(["full", "incremental"])
    error_message = "By default there are two jobs: the nightly full pull and the working-day incremental pulls."
  }

  assert {
    condition = (
      google_cloud_scheduler_job.sync["full"].schedule == "0 2 * * *" &&
      google_cloud_scheduler_job.sync["incremental"].schedule == "0 8,10,12,14,16,18 * * 1-5" &&
      alltrue([for j in google_cloud_scheduler_job.sync : j.time_zone == "America/Sao_Paulo" && j.region == "southamerica-east1"])
    )
    error_message = "The full pull runs nightly at 02:00 and the incremental ones every 2 hours 08-18 Monday to Friday, America/Sao_Paulo time."
  }

  assert {
    condition = alltrue([
      for mode, j in google_cloud_scheduler_job.sync :
      j.http_target[0].http_method == "POST" &&
      jsondecode(base64decode(j.http_target[0].body)) == { mode = mode } &&
      j.http_target[0].headers["Content-Type"] == "application/json"
    ])
    error_message = "Each job must POST {\"mode\": its mode} as JSON (CONTRACT.md section 3)."
  }

  assert {
    condition = alltrue([
      for j in google_cloud_scheduler_job.sync :
      j.http_target[0].uri == google_cloudfunctions2_function.function["start_login"].service_config[0].uri &&
      j.http_target[0].oidc_token[0].audience == google_cloudfunctions2_function.function["start_login"].service_config[0].uri &&
      j.http_target[0].oidc_token[0].service_account_email == google_service_account.scheduler.email
    ])
    error_message = "The scheduler must call StartLogin's run.app URL with an OIDC token for that URL, as the scheduler's service account."
  }
}

run "own_schedules" {
  command = apply

  variables {
    full_sync_schedule        = "30 1 * * 0"
    incremental_sync_schedule = "*/30 7-19 * * MON-SAT"
    schedule_time_zone        = "America/Manaus"
  }

  assert {
    condition = (
      google_cloud_scheduler_job.sync["full"].schedule == "30 1 * * 0" &&
      google_cloud_scheduler_job.sync["incremental"].schedule == "*/30 7-19 * * MON-SAT" &&
      alltrue([for j in google_cloud_scheduler_job.sync : j.time_zone == "America/Manaus"])
    )
    error_message = "The schedules and their time zone are the user's."
  }
}

run "no_incremental_schedule" {
  command = plan

  variables {
    incremental_sync_schedule = ""
  }

  assert {
    condition     = keys(google_cloud_scheduler_job.sync) == ["full"]
    error_message = "An empty incremental_sync_schedule leaves only the full pull."
  }
}

run "incremental_schedule_not_cron" {
  command = plan

  variables {
    incremental_sync_schedule = "every 2 hours"
  }

  expect_failures = [var.incremental_sync_schedule]
}

run "monthly_full_pull_refused" {
  command = plan

  variables {
    full_sync_schedule = "0 2 1 * *"
  }

  expect_failures = [var.full_sync_schedule]
}

run "warehouse" {
  command = apply

  assert {
    condition = (
      google_bigquery_dataset.warehouse.location == "southamerica-east1" &&
      google_bigquery_table.tickets.deletion_protection &&
      google_bigquery_table.sync_runs.deletion_protection
    )
    error_message = "The dataset is in bigquery_location and the tables are deletion-protected."
  }

  assert {
    condition = (
      google_bigquery_table.tickets.time_partitioning[0].type == "DAY" &&
      google_bigquery_table.tickets.time_partitioning[0].field == "criado_em_utc" &&
      join(",", google_bigquery_table.tickets.clustering) == "situacao,mesa,cliente"
    )
    error_message = "tickets is partitioned by day of criado_em_utc and clustered by situacao, mesa, cliente (CONTRACT.md section 6)."
  }

  assert {
    condition = (
      jsondecode(google_bigquery_table.tickets.schema) == jsondecode(file("../shared/warehouse/schema/tickets.json")) &&
      jsondecode(google_bigquery_table.sync_runs.schema) == jsondecode(file("../shared/warehouse/schema/sync_runs.json"))
    )
    error_message = "The tables' schemas must be the files the Go code embeds."
  }
}

run "outputs" {
  command = apply

  assert {
    condition     = output.complete_login_url == google_cloudfunctions2_function.function["complete_login"].service_config[0].uri
    error_message = "complete_login_url must be CompleteLogin's URL (the Apps Script's WEBHOOK_URL)."
  }

  assert {
    condition     = output.tickets_table_id == "tiflux-test.tiflux.tickets" && output.sync_runs_table_id == "tiflux-test.tiflux.sync_runs"
    error_message = "The table outputs must be project.dataset.table."
  }
}
