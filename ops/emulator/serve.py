"""Start the ministack emulator with a faster schedule sweep (development only).

Run with the emulator's own interpreter (Python 3.13, see requirements/ministack.txt).
ministack fires due one-shot schedules on a background sweep, every 10 s by default; a
sweep every TELECAST_SCHEDULER_TICK seconds (default 1) brings local lateness near AWS's.
"""

import os

from ministack.app import main
from ministack.services import scheduler

scheduler._SCHEDULE_TICK_INTERVAL = float(os.environ.get("TELECAST_SCHEDULER_TICK", "1"))

if __name__ == "__main__":
    main()
