"""The outbound dialer: choose whom to call (hopper), how many (pacing), place calls (AMI Originate),
follow them (call tracking), route answered calls to agents (FastAGI), and recover after crashes."""
