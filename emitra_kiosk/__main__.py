import sys

from emitra_kiosk.cli import main

sys.exit(main())
