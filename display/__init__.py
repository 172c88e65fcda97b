"""Hall screen (综合屏) and window screens (窗口屏) with voice calls (issue 5); pages in ``routes.py``."""
