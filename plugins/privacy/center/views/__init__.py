"""My data and exports, data requests, the policy and sign-up."""
