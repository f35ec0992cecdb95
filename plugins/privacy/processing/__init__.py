"""What the privacy plugin processes and for which purposes: the categories every feature
registers (read by the privacy center) and an account's restriction and objections."""
