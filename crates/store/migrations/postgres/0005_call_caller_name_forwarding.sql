-- What a call record says of hotel routing (PostgreSQL dialect): `caller_name` is the name staff
-- phones were shown for the caller (a room's guest, "8105 Dr Li Wei ★", or "Room 8105 (vacant)"),
-- `forwarded_to` the number rung instead when the dialled line's call forwarding applied (the
-- call's `callee` stays the number dialled, the original target), and `forward_reason` the condition that applied
-- (always, busy, no_answer). NULL for older rows and for calls where there is nothing to say.
-- Keep this file in step with ../sqlite/0005_call_caller_name_forwarding.sql.
ALTER TABLE calls ADD COLUMN caller_name TEXT;
ALTER TABLE calls ADD COLUMN forwarded_to TEXT;
ALTER TABLE calls ADD COLUMN forward_reason TEXT;
