-- Registrar bindings remember the digest account that registered them (PostgreSQL dialect).
-- An operator logs in by registering the operator position (for example `0`) with their own
-- account (`op1`); the account must survive a restart so the operator stays logged in as themselves.
-- NULL for bindings stored before this migration (the server then treats them as the aor's own).
-- Keep this file in step with ../sqlite/0002_binding_auth_user.sql.
ALTER TABLE bindings ADD COLUMN auth_user TEXT;
