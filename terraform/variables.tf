# --- Where ---------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "The ID of the Google Cloud project to deploy into; it may be empty (no APIs enabled yet)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a project ID (6 to 30 lowercase letters, digits or hyphens), not a project name or number."
  }
}

variable "region" {
  type        = string
  description = "The region of the functions, the scheduler jobs, the source bucket and the image repository."
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "The region must be a Google Cloud region such as us-central1 or southamerica-east1, not a zone or a multi-region."
  }
}

variable "bigquery_location" {
  type        = string
  description = "The location of the BigQuery dataset: the region itself, or the multi-region (US or EU) that contains it."
  default     = "US"

  validation {
    condition = (
      lower(var.bigquery_location) == var.region ||
      (var.bigquery_location == "US" && startswith(var.region, "us-")) ||
      (var.bigquery_location == "EU" && startswith(var.region, "europe-"))
    )
    error_message = "The bigquery_location must agree with region: either the same region, US for a us-* region or EU for a europe-* region."
  }
}

variable "name_prefix" {
  type        = string
  description = "The prefix of the names of the functions, service accounts, secrets, bucket and repository, so that two deployments can share a project."
  default     = "tiflux"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,12}[a-z0-9]$", var.name_prefix))
    error_message = "The name_prefix must be 2 to 14 lowercase letters, digits or hyphens, starting with a letter (service account IDs are at most 30 characters)."
  }
}

# --- The web system -------------------------------------------------------------

variable "web_base_url" {
  type        = string
  description = "The web system's API root, e.g. https://api.tiflux.com/api/v2 (WEB_BASE_URL)."

  validation {
    condition     = can(regex("^https://[^/?#\\s]+(/[^?#\\s]*)?$", var.web_base_url)) && !endswith(var.web_base_url, "/")
    error_message = "The web_base_url must be an https URL without a query, a fragment or a trailing slash."
  }
}

variable "web_paths" {
  type = object({
    login   = optional(string, "/login")
    otp     = optional(string, "/login/otp")
    tickets = optional(string, "/tickets")
    logout  = optional(string, "/logout")
  })
  description = "The endpoint paths under web_base_url (WEB_LOGIN_PATH, WEB_OTP_PATH, WEB_TICKETS_PATH, WEB_LOGOUT_PATH); unset ones keep the defaults."
  default     = {}

  validation {
    condition     = alltrue([for p in values(var.web_paths) : startswith(p, "/")])
    error_message = "Every path in web_paths must start with a slash."
  }
}

variable "auth_mode" {
  type        = string
  description = "How StartLogin logs in: \"otp\" (e-mail and password, then the code that the Apps Script relays) or \"api-token\" (the official API token, no code). Only the chosen mode's secrets are created and wired."
  default     = "otp"

  validation {
    condition     = contains(["otp", "api-token"], var.auth_mode)
    error_message = "The auth_mode must be \"otp\" or \"api-token\"."
  }
}

# --- Secrets (stored in Secret Manager; see README.md about the state) ------------

variable "web_email" {
  type        = string
  description = "The login e-mail of the web system (WEB_EMAIL); required when auth_mode is \"otp\", ignored otherwise."
  default     = null
  sensitive   = true

  validation {
    condition     = var.auth_mode != "otp" || try(length(trimspace(var.web_email)) > 0, false)
    error_message = "The web_email is required when auth_mode is \"otp\"."
  }
}

variable "web_password" {
  type        = string
  description = "The login password of the web system (WEB_PASSWORD); required when auth_mode is \"otp\", ignored otherwise."
  default     = null
  sensitive   = true

  validation {
    condition     = var.auth_mode != "otp" || try(length(var.web_password) > 0, false)
    error_message = "The web_password is required when auth_mode is \"otp\"."
  }
}

variable "web_api_token" {
  type        = string
  description = "The web system's official API token (WEB_API_TOKEN); required when auth_mode is \"api-token\", ignored otherwise."
  default     = null
  sensitive   = true

  validation {
    condition     = var.auth_mode != "api-token" || try(length(trimspace(var.web_api_token)) > 0, false)
    error_message = "The web_api_token is required when auth_mode is \"api-token\"."
  }
}

variable "otp_webhook_secret" {
  type        = string
  description = "The HMAC key that the Apps Script signs its webhook calls with (OTP_WEBHOOK_SECRET); the same value goes into the script property WEBHOOK_SECRET. Generate it with `openssl rand -hex 32`."
  sensitive   = true

  validation {
    condition     = length(var.otp_webhook_secret) >= 32
    error_message = "The otp_webhook_secret must be at least 32 characters long (openssl rand -hex 32)."
  }
}

variable "token_seal_key" {
  type        = string
  description = "The key that seals session tokens on the chain (TOKEN_SEAL_KEY): standard base64 of 32 random bytes. Generate it with `openssl rand -base64 32`."
  sensitive   = true

  validation {
    # Standard padded base64 of exactly 32 bytes is 43 symbols and one "=".
    # (base64decode cannot check it: it rejects bytes that are not UTF-8.)
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.token_seal_key))
    error_message = "The token_seal_key must be standard base64 of exactly 32 bytes (openssl rand -base64 32)."
  }
}

variable "token_seal_key_previous" {
  type        = string
  description = "The seal key before the last rotation (TOKEN_SEAL_KEY_PREVIOUS): the functions still open seals made with it, never make new ones. Set it only while rotating (README.md, Rotating the seal key); null or empty leaves it out."
  sensitive   = true
  default     = null

  validation {
    condition     = var.token_seal_key_previous == null ? true : (var.token_seal_key_previous == "" || can(regex("^[A-Za-z0-9+/]{43}=$", var.token_seal_key_previous)))
    error_message = "The token_seal_key_previous must be null, empty, or standard base64 of exactly 32 bytes (the token_seal_key before the rotation)."
  }
}

# --- Behaviour of the functions ------------------------------------------------------

variable "otp_ttl_minutes" {
  type        = number
  description = "How long a pending login waits for its code, in minutes (OTP_TTL_MINUTES); the login-pending-complete subscription keeps messages at least this long."
  default     = 10

  validation {
    condition     = var.otp_ttl_minutes >= 1 && var.otp_ttl_minutes <= 60 && floor(var.otp_ttl_minutes) == var.otp_ttl_minutes
    error_message = "The otp_ttl_minutes must be a whole number from 1 to 60."
  }
}

variable "max_event_age_minutes" {
  type        = number
  description = "An event older than this many minutes is given up (recorded as failed, logged out) instead of retried (MAX_EVENT_AGE_MINUTES)."
  default     = 60

  validation {
    condition     = var.max_event_age_minutes >= 10 && var.max_event_age_minutes <= 1440 && floor(var.max_event_age_minutes) == var.max_event_age_minutes
    error_message = "The max_event_age_minutes must be a whole number from 10 to 1440."
  }
}

variable "window_days" {
  type        = number
  description = "How many days back a full pull reaches (WINDOW_DAYS)."
  default     = 180

  validation {
    condition     = var.window_days >= 1 && floor(var.window_days) == var.window_days
    error_message = "The window_days must be a whole number of at least 1."
  }
}

variable "page_limit" {
  type        = number
  description = "The page size of the ticket list (PAGE_LIMIT), 1 to 200."
  default     = 200

  validation {
    condition     = var.page_limit >= 1 && var.page_limit <= 200 && floor(var.page_limit) == var.page_limit
    error_message = "The page_limit must be a whole number from 1 to 200."
  }
}

variable "rate_limit_per_minute" {
  type        = number
  description = "The request budget toward the web system per minute (RATE_LIMIT_PER_MINUTE); the web system allows 120 per user."
  default     = 120

  validation {
    condition     = var.rate_limit_per_minute >= 1 && floor(var.rate_limit_per_minute) == var.rate_limit_per_minute
    error_message = "The rate_limit_per_minute must be a whole number of at least 1 (0, no limit, is for local benchmarks only)."
  }
}

variable "full_refresh_hours" {
  type        = number
  description = "In auto mode, a full pull runs when the last successful full pull started more than this many hours (minus one) ago (FULL_REFRESH_HOURS)."
  default     = 24

  validation {
    condition     = var.full_refresh_hours >= 2 && floor(var.full_refresh_hours) == var.full_refresh_hours
    error_message = "The full_refresh_hours must be a whole number of at least 2."
  }
}

variable "extract_chunk_seconds" {
  type        = number
  description = "How long one ExtractLoad invocation fetches before it merges and continues in the next (EXTRACT_CHUNK_SECONDS); its limit is 540 s."
  default     = 360

  validation {
    condition     = var.extract_chunk_seconds >= 60 && var.extract_chunk_seconds <= 480 && floor(var.extract_chunk_seconds) == var.extract_chunk_seconds
    error_message = "The extract_chunk_seconds must be a whole number from 60 to 480 (the invocation ends at 540 s; the merge needs the rest)."
  }
}

variable "report_time_zone" {
  type        = string
  description = "The IANA time zone of the local DATETIME columns of the tickets table (TIMEZONE)."
  default     = "America/Sao_Paulo"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.report_time_zone))
    error_message = "The report_time_zone must be an IANA time zone name such as America/Sao_Paulo."
  }
}

# --- Schedules --------------------------------------------------------------------
# Cloud Scheduler reads unix-cron: five fields (minute, hour, day of month,
# month, day of week) of digits, names (JAN, MON), "*", ranges, lists and
# steps; a day-of-month and a day-of-week that are both restricted combine by
# OR. ("Cron job format and time zone",
# https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules)

variable "full_sync_schedule" {
  type        = string
  description = "The cron schedule of the full pull (body {\"mode\":\"full\"}), in schedule_time_zone: nightly at 02:00 by default. It must run every week (day of month and month \"*\"): the next StartLogin records the logins whose code never came, and the pending subscription keeps them 7 days."
  default     = "0 2 * * *"

  validation {
    condition = (
      length(split(" ", trimspace(var.full_sync_schedule))) == 5 &&
      alltrue([for f in split(" ", trimspace(var.full_sync_schedule)) : can(regex("^[0-9A-Za-z*,/-]+$", f))])
    )
    error_message = "The full_sync_schedule must be a five-field cron expression, e.g. \"0 2 * * *\" (02:00 every night)."
  }

  validation {
    condition     = try(join(" ", slice(split(" ", trimspace(var.full_sync_schedule)), 2, 4)) == "* *", false)
    error_message = "The full_sync_schedule must run at least every week: its day-of-month and month fields must be \"*\" (choose days with the day-of-week field, e.g. \"0 2 * * 0\" for Sundays)."
  }
}

variable "incremental_sync_schedule" {
  type        = string
  description = "The cron schedule of the incremental pulls (body {\"mode\":\"incremental\"}), in schedule_time_zone: every 2 hours from 08:00 to 18:00, Monday to Friday, by default; empty for none."
  default     = "0 8,10,12,14,16,18 * * 1-5"

  validation {
    condition = var.incremental_sync_schedule == "" || (
      length(split(" ", trimspace(var.incremental_sync_schedule))) == 5 &&
      alltrue([for f in split(" ", trimspace(var.incremental_sync_schedule)) : can(regex("^[0-9A-Za-z*,/-]+$", f))])
    )
    error_message = "The incremental_sync_schedule must be empty or a five-field cron expression, e.g. \"0 8,10,12,14,16,18 * * 1-5\"."
  }
}

variable "schedule_time_zone" {
  type        = string
  description = "The IANA time zone the cron schedules are read in (Cloud Scheduler's time_zone)."
  default     = "America/Sao_Paulo"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.schedule_time_zone))
    error_message = "The schedule_time_zone must be an IANA time zone name such as America/Sao_Paulo."
  }
}

# --- BigQuery ----------------------------------------------------------------------

variable "dataset_id" {
  type        = string
  description = "The BigQuery dataset of the tables (BQ_DATASET)."
  default     = "tiflux"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.dataset_id))
    error_message = "The dataset_id may hold only letters, digits and underscores."
  }
}

variable "tickets_table_id" {
  type        = string
  description = "The table of tickets, one row per ticket (BQ_TABLE)."
  default     = "tickets"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.tickets_table_id))
    error_message = "The tickets_table_id may hold only letters, digits and underscores."
  }
}

variable "sync_runs_table_id" {
  type        = string
  description = "The table of sessions, one row per session (BQ_RUNS_TABLE)."
  default     = "sync_runs"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.sync_runs_table_id))
    error_message = "The sync_runs_table_id may hold only letters, digits and underscores."
  }
}

# --- Source and alerting ----------------------------------------------------------------

variable "source_zip" {
  type        = string
  description = "The function source archive written by `go run ./functions/cmd/package`, relative to this directory."
  default     = "../dist/function-source.zip"
}

variable "alert_notification_channels" {
  type        = list(string)
  description = "The Cloud Monitoring notification channels (projects/P/notificationChannels/N) of the alerts on a failed session and on no successful session in 26 hours; empty for no alert policies."
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each alert notification channel must be a full name: projects/PROJECT/notificationChannels/ID."
  }
}

variable "propagation_wait_seconds" {
  type        = number
  description = "How long the first apply waits, after enabling the APIs and granting the roles, before creating the functions (service agents and IAM grants take minutes to propagate on a new project). Needs a `sleep` command; 0 skips the wait."
  default     = 120

  validation {
    condition     = var.propagation_wait_seconds >= 0 && var.propagation_wait_seconds <= 1800
    error_message = "The propagation_wait_seconds must be from 0 to 1800."
  }
}
