-- A reset link proves only the address it was mailed to: keep that address with the link.
ALTER TABLE password_resets ADD COLUMN email citext;
