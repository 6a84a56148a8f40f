"""Late parcels: what the customer may choose and what the policy grants."""
