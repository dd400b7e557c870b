# Alerts: none without a notification channel; with one, a failed session and
# 26 hours without a successful one, from the functions' structured logs.

mock_provider "google" {}

run "no_channel_no_alerts" {
  command = plan

  assert {
    condition     = length(google_monitoring_alert_policy.session_failed) == 0 && length(google_monitoring_alert_policy.no_success) == 0
    error_message = "Without notification channels there must be no alert policies."
  }
}

run "log_metrics" {
  command = plan

  assert {
    condition = alltrue([
      for part in [
        "resource.type=\"cloud_run_revision\"",
        "\"tiflux-extract-load\"",
        "severity>=ERROR",
        "jsonPayload.event=\"sync.finished\" AND jsonPayload.outcome=\"failed\"",
        "jsonPayload.event=\"login.expired\"",
      ] : strcontains(google_logging_metric.session_failed.filter, part)
    ])
    error_message = "session_failed must count failed loads and expired logins of the functions."
  }

  assert {
    condition = alltrue([
      for part in ["jsonPayload.event=\"sync.finished\"", "jsonPayload.outcome=\"ok\"", "\"tiflux-extract-load\""] :
      strcontains(google_logging_metric.session_succeeded.filter, part)
    ])
    error_message = "session_succeeded must count loads that ended ok."
  }
}

run "alerts" {
  command = apply

  variables {
    alert_notification_channels = ["projects/tiflux-test/notificationChannels/123"]
  }

  assert {
    condition = (
      toset(google_monitoring_alert_policy.session_failed[0].notification_channels) == toset(["projects/tiflux-test/notificationChannels/123"]) &&
      toset(google_monitoring_alert_policy.no_success[0].notification_channels) == toset(["projects/tiflux-test/notificationChannels/123"])
    )
    error_message = "Both alert policies must notify the given channels."
  }

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.session_failed[0].conditions[0].condition_threshold[0].filter, "logging.googleapis.com/user/${google_logging_metric.session_failed.name}") &&
      google_monitoring_alert_policy.session_failed[0].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT" &&
      google_monitoring_alert_policy.session_failed[0].conditions[0].condition_threshold[0].threshold_value == 0
    )
    error_message = "A single failed session must raise the alert."
  }

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.no_success[0].conditions[0].condition_absent[0].filter, "logging.googleapis.com/user/${google_logging_metric.session_succeeded.name}") &&
      tonumber(trimsuffix(google_monitoring_alert_policy.no_success[0].conditions[0].condition_absent[0].duration, "s")) +
      tonumber(trimsuffix(google_monitoring_alert_policy.no_success[0].conditions[0].condition_absent[0].aggregations[0].alignment_period, "s")) == 26 * 3600
    )
    error_message = "The absence alert must fire after 26 hours without a successful session."
  }
}

run "bad_channel" {
  command = plan

  variables {
    alert_notification_channels = ["123"]
  }

  expect_failures = [var.alert_notification_channels]
}
