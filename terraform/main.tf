# The pipeline (CONTRACT.md section 1): Cloud Scheduler starts a login
# (StartLogin), the Apps Script relays the e-mailed code (CompleteLogin), and
# Pub/Sub carries the session through ExtractLoad (BigQuery) to Logout.
#
# The resources are split by concern: apis and the source archive here,
# identities (iam.tf), secrets (secrets.tf), messaging (pubsub.tf), the
# functions (functions.tf), schedules (scheduler.tf), tables (bigquery.tf) and
# alerts (monitoring.tf).

locals {
  # Every API the deployment calls, enabled first so that the first apply on an
  # empty project goes through in one run.
  services = toset([
    "artifactregistry.googleapis.com", # build images of the functions
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com", # project IAM bindings
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com", # Pub/Sub triggers of ExtractLoad and Logout
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com", # 2nd-gen functions are Cloud Run services
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "service" {
  for_each = local.services

  project = var.project_id
  service = each.value

  # Turning an API off on destroy would break whatever else the project runs.
  disable_on_destroy = false
}

# The source archive, uploaded under a name derived from its content: a new
# archive is a new object, and the functions are rebuilt from it.
resource "google_storage_bucket" "source" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-source"
  location = upper(var.region)

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # It holds only archives that `go run ./functions/cmd/package` can rebuild.
  force_destroy = true

  depends_on = [google_project_service.service]
}

resource "google_storage_bucket_object" "source" {
  name   = "function-source-${filesha256(var.source_zip)}.zip"
  bucket = google_storage_bucket.source.name
  source = var.source_zip
}

# On a project where the APIs were just enabled, the service agents that
# Cloud Functions, Eventarc and Cloud Build act through, and the roles just
# granted, take a while to propagate; a function created before that fails
# ("Permission denied while using the Eventarc Service Agent", see
# https://github.com/hashicorp/terraform-provider-google/issues/25294). The
# google provider does not retry that, and the time provider is not used here,
# so the first apply waits once before the functions. Later applies do not.
resource "terraform_data" "propagation_wait" {
  count = var.propagation_wait_seconds > 0 ? 1 : 0

  provisioner "local-exec" {
    command = "sleep ${var.propagation_wait_seconds}"
  }

  depends_on = [
    google_project_service.service,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_source,
    google_secret_manager_secret_iam_member.accessor,
    google_pubsub_topic_iam_member.publisher,
  ]
}
