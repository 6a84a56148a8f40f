"""Missing parcels: a "not received" report on a lost or delivered parcel opens a ticket."""
