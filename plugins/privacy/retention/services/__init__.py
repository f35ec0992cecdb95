"""The schedule, activity and sign-ins, visitor logs, closure and cookie consent."""
