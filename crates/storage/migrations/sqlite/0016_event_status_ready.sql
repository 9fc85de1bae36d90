-- Early builds marked an event handed to drafting as 'ready'; today's EventStatus has no such
-- value (it is 'new' until the drafting job has decided), and reading one is an error.
UPDATE events SET status = 'new' WHERE status = 'ready';
