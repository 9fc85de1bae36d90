-- PostgreSQL's 0006 enables row level security. SQLite has none: an embedded database
-- serves one installation, and the application's own `workspace_id = $1` stands alone.
-- This file keeps the two migration histories numbered alike.
SELECT 1;
