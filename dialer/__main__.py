import sys

from dialer.cli import main

sys.exit(main())
