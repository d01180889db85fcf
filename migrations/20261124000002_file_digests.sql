-- The sha256 of local files as last hashed, with the file's size, modification time and inode
-- then (as DVC's state database): a file whose three are unchanged is not hashed again.
CREATE TABLE file_digests (
    path       TEXT PRIMARY KEY,   -- absolute
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    inode      INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    hashed_at  TEXT NOT NULL
);
