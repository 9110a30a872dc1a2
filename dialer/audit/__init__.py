"""``dialer audit``: the service's attempts and contacts judged against Asterisk's own call records.

``judge.py`` is pure (facts in, anomalies out); ``collect.py`` reads both sides; ``cli.py`` is the command.
"""
