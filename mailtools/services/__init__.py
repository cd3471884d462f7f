"""Writes and checks of the mail tools: the header viewer's input and phishing reports."""
from .analysis import analyse_message, check_message, time_zone, upload_bytes
from .reports import phishing_report_create, phishing_report_send

__all__ = ["analyse_message", "check_message", "phishing_report_create", "phishing_report_send",
           "time_zone", "upload_bytes"]
