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

output "dashboard_url" {
  description = "Opens Looker Studio on a new report over the v_tickets view (Linking API); 'Edit and share' saves it to the user's account."
  value       = "https://lookerstudio.google.com/reporting/create?${join("&", [for p in local.dashboard_parameters : "${p[0]}=${urlencode(p[1])}"])}"
}

output "view_ids" {
  description = "The views of CONTRACT section 9, by name, as project.dataset.view (for SQL)."
  value       = { for name, v in google_bigquery_table.view : name => "${v.project}.${v.dataset_id}.${v.table_id}" }
}
