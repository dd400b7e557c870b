# The values every tofu test file starts from (OpenTofu loads *.tfvars of
# the test directory for tofu test only). None is a real credential: the
# webhook secret and the password say so, the seal key is the base64 of
# "0123456789abcdef" twice.
project_id               = "tiflux-test"
web_base_url             = "https://api.example.com/api/v2"
web_email                = "robot@example.com"
web_password             = "tofu-test-password-not-real"
otp_webhook_secret       = "tofu-test-webhook-secret-not-a-real-one"
token_seal_key           = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
source_zip               = "tests/fixtures/function-source.zip"
propagation_wait_seconds = 0
