"""The company's policy: ticket deadlines, offers (policy/policy.yml) and abuse limits (policy/limits.yml)."""
