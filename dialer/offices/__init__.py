"""Pickup offices, their appointment slots and the bookings agents, the IVR and the API share."""
