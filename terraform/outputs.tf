output "complete_login_url" {
  description = "The URL of CompleteLogin: the Apps Script's WEBHOOK_URL script property."
  value       = google_cloudfunctions2_function.function["complete_login"].service_config[0].uri
}

output "start_login_url" {
  description = "The URL of StartLogin, which the scheduler jobs call (internal ingress: reachable from Cloud Scheduler, not from the internet)."
  value       = google_cloudfunctions2_function.function["start_login"].service_config[0].uri
}

output "function_names" {
  description = "The deployed functions by entry point."
  value       = { for key, f in local.functions : f.entry_point => google_cloudfunctions2_function.function[key].name }
}

output "dataset_id" {
  description = "The BigQuery dataset, as project:dataset."
  value       = "${google_bigquery_dataset.warehouse.project}:${google_bigquery_dataset.warehouse.dataset_id}"
}

output "tickets_table_id" {
  description = "The tickets table, as project.dataset.table (for SQL)."
  value       = "${google_bigquery_table.tickets.project}.${google_bigquery_table.tickets.dataset_id}.${google_bigquery_table.tickets.table_id}"
}

output "sync_runs_table_id" {
  description = "The sync_runs table, as project.dataset.table (for SQL)."
  value       = "${google_bigquery_table.sync_runs.project}.${google_bigquery_table.sync_runs.dataset_id}.${google_bigquery_table.sync_runs.table_id}"
}

output "scheduler_jobs" {
  description = "The Cloud Scheduler jobs that start the sessions, by mode."
  value       = { for key, job in google_cloud_scheduler_job.sync : key => job.name }
}
