"""Password reset: "Forgot password?", the emailed link, and resets an admin or operator makes."""
