-- The posts of a thread its platform took so far (JSON list of `SentPost`), recorded one
-- by one before the next is sent: a publication cut off mid-thread resumes after them.
ALTER TABLE publications ADD COLUMN sent_posts TEXT NOT NULL DEFAULT '[]';
