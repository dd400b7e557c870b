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

# CompleteLogin pulls the newest pending login from here when a code arrives.
# A pending login is worth keeping as long as its code can come
# (OTP_TTL_MINUTES); Pub/Sub keeps messages at least 10 minutes.
resource "google_pubsub_subscription" "login_pending_complete" {
  project = var.project_id
  name    = "login-pending-complete"
  topic   = google_pubsub_topic.topic["login_pending"].id

  ack_deadline_seconds       = 60
  message_retention_duration = "${max(600, var.otp_ttl_minutes * 60)}s"
  retain_acked_messages      = false

  # A pull subscription with no traffic for 31 days would otherwise be deleted
  # (say, while the schedules are paused); an empty ttl means never.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "complete_login" {
  project      = var.project_id
  subscription = google_pubsub_subscription.login_pending_complete.name
  role         = "roles/pubsub.subscriber"
  member       = local.function_members["complete_login"]
}
