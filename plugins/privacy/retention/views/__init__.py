"""Sign-in activity and closing, the retention schedule, cookie choices."""
