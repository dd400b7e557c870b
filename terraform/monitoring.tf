# Alerts on the sessions, from the functions' structured logs: ExtractLoad
# writes one "sync.finished" entry per session (outcome "ok" or "failed"), and
# a login whose code never came is logged as "login.expired" (at ERROR) by the
# function that finds it on login-pending-complete: CompleteLogin when the next
# code arrives, or the next StartLogin, which drains the expired ones before it
# starts (pubsub.tf keeps them until then). 2nd-gen functions log as their
# Cloud Run services: resource.type "cloud_run_revision", label service_name
# (Cloud Run functions, "Write and view logs"). The log-based
# metrics always exist (they cost nothing and chart the sessions); the alert
# policies only when there is a channel to notify.

locals {
  alerting = length(var.alert_notification_channels) > 0

  # 2nd-gen functions log as their Cloud Run services.
  function_logs = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "(${join(" OR ", [for name in values(local.function_names) : "resource.labels.service_name=\"${name}\""])})",
  ])
}

resource "google_logging_metric" "session_failed" {
  project     = var.project_id
  name        = "${var.name_prefix}_session_failed"
  description = "Sessions that failed: a load that ended with outcome failed, or a login whose code never came."
  filter = join(" AND ", [
    local.function_logs,
    "severity>=ERROR",
    "((jsonPayload.event=\"sync.finished\" AND jsonPayload.outcome=\"failed\") OR jsonPayload.event=\"login.expired\")",
  ])

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Failed sessions (${var.name_prefix})"

    labels {
      key         = "event"
      value_type  = "STRING"
      description = "sync.finished (the load failed) or login.expired (no code came)."
    }
  }
  label_extractors = {
    event = "EXTRACT(jsonPayload.event)"
  }

  depends_on = [google_project_service.service]
}

resource "google_logging_metric" "session_succeeded" {
  project     = var.project_id
  name        = "${var.name_prefix}_session_succeeded"
  description = "Sessions whose load ended with outcome ok."
  filter = join(" AND ", [
    local.function_logs,
    "jsonPayload.event=\"sync.finished\"",
    "jsonPayload.outcome=\"ok\"",
  ])

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Successful sessions (${var.name_prefix})"
  }

  depends_on = [google_project_service.service]
}

resource "google_monitoring_alert_policy" "session_failed" {
  count = local.alerting ? 1 : 0

  project      = var.project_id
  display_name = "Tiflux pipeline (${var.name_prefix}): a session failed"
  combiner     = "OR"

  conditions {
    display_name = "A session failed"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.session_failed.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.event"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A session of the ticket pipeline failed. `event` says where:
      `sync.finished` — ExtractLoad gave up on the load (see its `error` field in the logs);
      `login.expired` — a login's code never reached CompleteLogin before it expired; found by the next StartLogin or CompleteLogin and recorded in `sync_runs` as failed (check the Apps Script and the mailbox).
      Logs Explorer: `jsonPayload.event="sync.finished" OR jsonPayload.event="login.expired"`. The next scheduled run starts afresh.
    EOT
  }

  notification_channels = var.alert_notification_channels

  # A just-created log-based metric takes a while to be known to Cloud
  # Monitoring; a policy on it fails before that.
  depends_on = [terraform_data.propagation_wait]
}

# No successful session for 26 hours: the daily full pull plus two hours of
# slack. A metric-absence condition waits `duration` after the last aligned
# point, and an aligned point stands for `alignment_period` after the last
# entry, so the silence it needs is their sum: 2.5 h + 23.5 h = 26 h (each part
# within the limits Cloud Monitoring puts on alerting windows).
resource "google_monitoring_alert_policy" "no_success" {
  count = local.alerting ? 1 : 0

  project      = var.project_id
  display_name = "Tiflux pipeline (${var.name_prefix}): no successful session in 26 hours"
  combiner     = "OR"

  conditions {
    display_name = "No successful session in 26 hours"

    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.session_succeeded.name}\" AND resource.type=\"cloud_run_revision\""
      duration = "84600s"

      aggregations {
        alignment_period     = "9000s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      No session of the ticket pipeline has finished successfully for 26 hours.
      Look for failed sessions (the other alert), at the Cloud Scheduler job runs and at the functions' logs
      (`jsonPayload.event="sync.finished"`). The alert closes by itself after the next successful session.
    EOT
  }

  notification_channels = var.alert_notification_channels

  # A just-created log-based metric takes a while to be known to Cloud
  # Monitoring; a policy on it fails before that.
  depends_on = [terraform_data.propagation_wait]
}
