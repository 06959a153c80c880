"""matplotlib drawings: functions that take ``ax=None`` and return the Axes (matplotlib is imported only here)."""
