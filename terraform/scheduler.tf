# The schedules that start a session: a daily full pull and, optionally,
# incremental pulls in between. Each job POSTs {"mode": ...} to StartLogin on
# its run.app URL with an OIDC token for that URL: StartLogin's ingress is
# internal, and Cloud Scheduler's calls to run.app count as internal traffic.

locals {
  schedules = {
    for name, s in {
      full        = { schedule = var.full_sync_schedule, mode = "full" }
      incremental = { schedule = var.incremental_sync_schedule, mode = "incremental" }
    } : name => s if s.schedule != ""
  }

  start_login_url = google_cloudfunctions2_function.function["start_login"].service_config[0].uri
}

resource "google_cloud_scheduler_job" "sync" {
  for_each = local.schedules

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-${each.key}-sync"
  description = "Starts a ${each.value.mode} pull of the tickets (StartLogin, {\"mode\":\"${each.value.mode}\"})."
  schedule    = each.value.schedule
  time_zone   = var.schedule_time_zone

  # StartLogin answers once the login has been asked for; a retry after a
  # failure asks for a fresh code, which is what a person would do.
  attempt_deadline = "180s"
  retry_config {
    retry_count          = 1
    min_backoff_duration = "60s"
  }

  http_target {
    http_method = "POST"
    uri         = local.start_login_url
    body        = base64encode(jsonencode({ mode = each.value.mode }))
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.start_login_url
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker]
}
