"""Writes and checks of the mail tools: the header viewer's input and phishing reports."""
from .analysis import analyse_message, check_message, time_zone, upload_bytes
from .reports import (
    phishing_report_create,
    phishing_report_resend,
    phishing_report_send,
    phishing_reports_requeue,
)

__all__ = ["analyse_message", "check_message", "phishing_report_create", "phishing_report_resend",
           "phishing_report_send", "phishing_reports_requeue", "time_zone", "upload_bytes"]
