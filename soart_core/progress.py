"""Progress lines for long work: how far a job is and the time left, on the console
and in the job's log (a job's stderr is copied into its log: soart_core.script).

Quiet for short work: the first line comes only once the work has run `after`
seconds, the next ones at most every `every` seconds, so a small run prints nothing
and a long one a line every few seconds.
"""

import sys
import time


class Progress:
    """`what` (e.g. "workbook: sheet 'Y1 difference'") advancing over `total` `unit`s:
    call update(done) as they are done and finish() at the end."""

    def __init__(self, what, total, unit="items", after=5.0, every=10.0, stream=None,
                 clock=time.monotonic):
        self.what, self.total, self.unit = what, int(total), unit
        self.after, self.every, self.clock = after, every, clock
        self.stream = stream
        self.start = clock()
        self.last = None  # when the last line was printed (None: none yet)

    def line(self, done):
        """The progress text for `done` of the total: count, percent, time left."""
        elapsed = self.clock() - self.start
        text = f"soart: {self.what}: {done:,} of {self.total:,} {self.unit}"
        if self.total > 0:
            text += f" ({100 * done / self.total:.0f} %)"
        if 0 < done < self.total:
            left = elapsed * (self.total - done) / done
            text += f", about {_duration(left)} left"
        return text

    def update(self, done):
        now = self.clock()
        if now - self.start < self.after:
            return
        if self.last is not None and now - self.last < self.every:
            return
        self.last = now
        self._print(self.line(done))

    def finish(self):
        """A last line with the time taken, where lines were printed."""
        if self.last is not None:
            self._print(f"soart: {self.what}: all {self.total:,} {self.unit} done in "
                        f"{_duration(self.clock() - self.start)}")

    def _print(self, text):
        stream = self.stream or sys.stderr
        try:
            stream.write(text + "\n")
            stream.flush()
        except OSError:  # a full disk under the log: the line is lost, not the job
            pass


def _duration(seconds):
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 90:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
