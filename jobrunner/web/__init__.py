"""The HTTP side of jobrunner: the dashboard (``jobrunner.web.dashboard``)."""
