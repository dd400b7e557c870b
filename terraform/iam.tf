# One service account per function, one for the scheduler, one for the Pub/Sub
# triggers and one for the builds; each holds only what its holder calls.
# The bindings on topics, the subscription, secrets and the dataset sit with
# those resources' own files; here are the accounts and the project-wide roles.

resource "google_service_account" "function" {
  for_each = local.functions

  project      = var.project_id
  account_id   = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  display_name = "${each.value.entry_point} function"
  description  = "Runs the ${each.value.entry_point} Cloud Function."

  depends_on = [google_project_service.service]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "Scheduler of StartLogin"
  description  = "Identity of the Cloud Scheduler jobs: the OIDC token they call StartLogin with."

  depends_on = [google_project_service.service]
}

resource "google_service_account" "triggers" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-triggers"
  display_name = "Pub/Sub triggers of ExtractLoad and Logout"
  description  = "Identity of the Eventarc triggers that deliver session-ready and load-finished."

  depends_on = [google_project_service.service]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "Builds of the functions"
  description  = "Cloud Build identity that turns the source archive into the functions' images."

  depends_on = [google_project_service.service]
}

locals {
  # The accounts as IAM members.
  function_members = { for key, sa in google_service_account.function : key => "serviceAccount:${sa.email}" }
  scheduler_member = "serviceAccount:${google_service_account.scheduler.email}"
  triggers_member  = "serviceAccount:${google_service_account.triggers.email}"
  build_member     = "serviceAccount:${google_service_account.build.email}"
}

# roles/run.builder ("Cloud Run Builder") is the role made for building
# functions: it reads the uploaded source, pushes the image to Artifact
# Registry and writes the build logs.
resource "google_project_iam_member" "build" {
  project = var.project_id
  role    = "roles/run.builder"
  member  = local.build_member
}

# The build reads the uploaded archive from the source bucket.
resource "google_storage_bucket_iam_member" "build_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = local.build_member
}

# The functions that write only sync_runs: StartLogin and CompleteLogin (a
# failed login), Logout (its requests, added to the session's row).
# ExtractLoad edits the whole dataset (bigquery.tf).
locals {
  run_log_writers = ["start_login", "complete_login", "logout"]
}

# ExtractLoad runs its load and MERGE as query jobs, StartLogin and
# CompleteLogin their MERGE of a failed login into sync_runs, and Logout its
# read and UPDATE of the session's row; jobs are project-wide
# (roles/bigquery.jobUser holds bigquery.jobs.create).
resource "google_project_iam_member" "bigquery_job_user" {
  for_each = toset(concat(["extract_load"], local.run_log_writers))

  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = local.function_members[each.key]
}

# Invocation rights of a 2nd-gen function are roles/run.invoker on its Cloud
# Run service: the scheduler calls StartLogin, the triggers deliver to
# ExtractLoad and Logout, and anyone may call CompleteLogin, which checks the
# webhook signature itself (README.md: domain-restricted sharing).
locals {
  invokers = {
    start_login    = local.scheduler_member
    complete_login = "allUsers"
    extract_load   = local.triggers_member
    logout         = local.triggers_member
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.invokers

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}
