"""Human handoff: when to hand over (rules, anger), the waiting queue, the agent's summary, agent accounts."""
