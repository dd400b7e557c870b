# The bundled terraform ruleset only: plugins would need a download.
plugin "terraform" {
  enabled = true
  preset  = "all"
}
