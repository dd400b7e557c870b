# The chain's topics and the one pull subscription (CONTRACT.md sections 1, 3).
# ExtractLoad and Logout get their push subscriptions from Eventarc
# (functions.tf); those take no dead-letter topic, so giving up is the
# function's decision (MAX_EVENT_AGE_MINUTES).

locals {
  topics = {
    login_pending = "login-pending"
    session_ready = "session-ready"
    load_finished = "load-finished"
  }

  # Who publishes where: function → topic keys.
  publishers = merge([
    for fn, f in local.functions : {
      for topic in f.publishes : "${fn}/${topic}" => { function = fn, topic = topic }
    }
  ]...)
}

resource "google_pubsub_topic" "topic" {
  for_each = local.topics

  project = var.project_id
  name    = each.value

  depends_on = [google_project_service.service]
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publishers

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = local.function_members[each.value.function]
}

# CompleteLogin pulls the newest pending login from here when a code arrives;
# StartLogin drains the ones that expired unseen before it starts a new one,
# and records each in sync_runs as failed (event login.expired, the alert in
# monitoring.tf).
#
# Retention: an expired pending login must still be here when the next
# StartLogin runs. The full pull runs at least once a week (full_sync_schedule
# is validated to run every week), so the longest wait is 7 days after the
# code expired: keep messages 7 days + OTP_TTL_MINUTES + 1 hour of slack
# (Pub/Sub allows 10 minutes to 31 days; unacknowledged messages kept over
# 24 hours are billed as storage, a few bytes here: "Subscription properties",
# message retention duration, https://cloud.google.com/pubsub/docs/subscription-properties).
#
# Ack deadline: CompleteLogin holds the newest pending login while it finishes
# the login with the web system; the lease must outlast its whole invocation
# (timeout_seconds), so no second CompleteLogin takes the same message. A lease
# lost to a crash returns after it, well within the code's lifetime; the Apps
# Script retries a 404 meanwhile (CONTRACT.md section 4).
locals {
  pending_retention_seconds = 7 * 24 * 3600 + var.otp_ttl_minutes * 60 + 3600
  pending_ack_deadline      = local.complete_login_timeout
  pending_subscribers       = ["start_login", "complete_login"]
}

resource "google_pubsub_subscription" "login_pending_complete" {
  project = var.project_id
  name    = "login-pending-complete"
  topic   = google_pubsub_topic.topic["login_pending"].id

  ack_deadline_seconds       = local.pending_ack_deadline
  message_retention_duration = "${local.pending_retention_seconds}s"
  retain_acked_messages      = false

  # A pull subscription with no traffic for 31 days would otherwise be deleted
  # (say, while the schedules are paused); an empty ttl means never.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "pending" {
  for_each = toset(local.pending_subscribers)

  project      = var.project_id
  subscription = google_pubsub_subscription.login_pending_complete.name
  role         = "roles/pubsub.subscriber"
  member       = local.function_members[each.key]
}

moved {
  from = google_pubsub_subscription_iam_member.complete_login
  to   = google_pubsub_subscription_iam_member.pending["complete_login"]
}
