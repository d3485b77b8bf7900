-- Calls the PBX places itself (SQLite dialect): `kind` says `placed` for them (`internal` for the
-- calls phones make, as every older row already says), `purpose` why the PBX placed the call (for
-- example `announcement`) and `digits` what the called party typed. NULL for older rows and for
-- calls where there is nothing to say.
-- Keep this file in step with ../postgres/0003_call_purpose_digits.sql.
ALTER TABLE calls ADD COLUMN purpose TEXT;
ALTER TABLE calls ADD COLUMN digits TEXT;
