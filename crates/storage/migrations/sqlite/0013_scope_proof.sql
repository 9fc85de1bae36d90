-- PostgreSQL's 0013 makes the row level scope unforgeable by the application's own role
-- (a proof under a key only the tables' owner can read). SQLite has no roles and no row
-- level security: one embedded file serves one installation, and whoever can run SQL on
-- it can read the file anyway. This file keeps the two migration histories numbered alike.
SELECT 1;
