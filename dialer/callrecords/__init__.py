"""Asterisk's own record of calls (CDR): what happened to a call, told by the PBX rather than by the dialer.

Recovery asks it about calls that ended while the service was away; ``dialer audit`` compares it with the
service's attempts. ``fate.py`` is pure (rows in, verdict out); ``reader.py`` reads the rows.
"""
