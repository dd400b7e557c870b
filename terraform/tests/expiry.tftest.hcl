# A login whose code never came must be seen and recorded: the pending login
# stays on login-pending-complete until the next StartLogin drains it (or a
# CompleteLogin meets it), which logs login.expired and writes sync_runs; the
# session_failed alert counts that log entry.

mock_provider "google" {}

variables {
  region            = "southamerica-east1"
  bigquery_location = "southamerica-east1"
}

run "pending_login_outlives_the_gap_to_the_next_start" {
  command = plan

  # The full pull runs at least weekly (validated), so the next StartLogin
  # comes at most 7 days after a code expired.
  assert {
    condition = (
      tonumber(trimsuffix(google_pubsub_subscription.login_pending_complete.message_retention_duration, "s")) >=
      7 * 24 * 3600 + var.otp_ttl_minutes * 60
    )
    error_message = "login-pending-complete must keep a pending login for its OTP lifetime plus a week, the longest gap between two StartLogin runs."
  }

  # Pub/Sub refuses a subscription retention over 31 days.
  assert {
    condition     = tonumber(trimsuffix(google_pubsub_subscription.login_pending_complete.message_retention_duration, "s")) <= 31 * 24 * 3600
    error_message = "A subscription keeps messages at most 31 days."
  }

  assert {
    condition     = !google_pubsub_subscription.login_pending_complete.retain_acked_messages
    error_message = "A drained (acknowledged) pending login must not come back."
  }
}

run "longest_otp_lifetime" {
  command = plan

  variables {
    otp_ttl_minutes = 60
  }

  assert {
    condition     = google_pubsub_subscription.login_pending_complete.message_retention_duration == "${7 * 24 * 3600 + 3600 + 3600}s"
    error_message = "The retention follows OTP_TTL_MINUTES: 7 days + the lifetime + 1 hour."
  }
}

run "lease_outlasts_complete_login" {
  command = apply

  assert {
    condition = (
      google_pubsub_subscription.login_pending_complete.ack_deadline_seconds >=
      google_cloudfunctions2_function.function["complete_login"].service_config[0].timeout_seconds
    )
    error_message = "The ack deadline must outlast a CompleteLogin invocation, or a second one takes the login it is finishing."
  }

  assert {
    condition     = google_pubsub_subscription.login_pending_complete.ack_deadline_seconds < var.otp_ttl_minutes * 60
    error_message = "A lease lost to a crash must return while the code still works."
  }
}

run "start_login_drains_and_records" {
  command = apply

  assert {
    condition = (
      google_cloudfunctions2_function.function["start_login"].service_config[0].environment_variables["SUB_LOGIN_PENDING"] == google_pubsub_subscription.login_pending_complete.name &&
      google_cloudfunctions2_function.function["start_login"].service_config[0].environment_variables["OTP_TTL_MINUTES"] == "10" &&
      google_cloudfunctions2_function.function["start_login"].service_config[0].environment_variables["BQ_LOCATION"] == google_bigquery_dataset.warehouse.location
    )
    error_message = "StartLogin must know the pending subscription, the OTP lifetime and where sync_runs is."
  }

  assert {
    condition     = google_pubsub_subscription_iam_member.pending["start_login"].role == "roles/pubsub.subscriber"
    error_message = "StartLogin must be able to pull and acknowledge expired pending logins."
  }

  assert {
    condition = (
      google_bigquery_table_iam_member.run_log["start_login"].table_id == google_bigquery_table.sync_runs.table_id &&
      google_project_iam_member.bigquery_job_user["start_login"].role == "roles/bigquery.jobUser"
    )
    error_message = "StartLogin must be able to MERGE a failed login into sync_runs."
  }
}

run "expired_login_alert" {
  command = apply

  variables {
    alert_notification_channels = ["projects/tiflux-test/notificationChannels/123"]
  }

  # The functions that find an expired login log it; the metric counts their
  # login.expired entries at ERROR.
  assert {
    condition = alltrue([
      for part in [
        "resource.type=\"cloud_run_revision\"",
        "resource.labels.service_name=\"tiflux-start-login\"",
        "resource.labels.service_name=\"tiflux-complete-login\"",
        "severity>=ERROR",
        "jsonPayload.event=\"login.expired\"",
      ] : strcontains(google_logging_metric.session_failed.filter, part)
    ])
    error_message = "session_failed must count the login.expired entries of StartLogin and CompleteLogin."
  }

  assert {
    condition     = google_logging_metric.session_failed.label_extractors["event"] == "EXTRACT(jsonPayload.event)"
    error_message = "The alert tells login.expired from a failed load by the event label."
  }

  assert {
    condition = (
      length(google_monitoring_alert_policy.session_failed) == 1 &&
      strcontains(google_monitoring_alert_policy.session_failed[0].conditions[0].condition_threshold[0].filter, google_logging_metric.session_failed.name) &&
      google_monitoring_alert_policy.session_failed[0].conditions[0].condition_threshold[0].threshold_value == 0 &&
      strcontains(google_monitoring_alert_policy.session_failed[0].documentation[0].content, "login.expired")
    )
    error_message = "One expired login must raise the session_failed alert, whose text explains login.expired."
  }
}
