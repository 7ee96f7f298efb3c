-- The confusable skeleton of each user's email (users.EmailSkeleton, Unicode UTS #39), unique
-- so that no account can be created or renamed to look like another one. The store computes
-- it in Go: on every write, and after migrating for rows that have none (rows older than this
-- column). It stays NULL only for the later of a look-alike pair that existed before.
ALTER TABLE users ADD COLUMN email_skeleton TEXT;
CREATE UNIQUE INDEX users_email_skeleton_key ON users (email_skeleton);
