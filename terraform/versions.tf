terraform {
  # The checks run OpenTofu 1.10; validation blocks that refer to other
  # variables need Terraform 1.9 or OpenTofu 1.8 at least.
  required_version = ">= 1.10.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.0, < 9.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
