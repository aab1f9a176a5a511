-- A download belongs to the node that holds its files: the same torrent may be on several nodes'
-- disks (a film that moved when its node died), each with its own row, restored and swept by that
-- node only. Rows written before nodes had ids get '' here; at start, a node takes over those whose
-- folder lies in its own download folder.
ALTER TABLE downloads ADD COLUMN node_id text NOT NULL DEFAULT '';
ALTER TABLE downloads ALTER COLUMN node_id DROP DEFAULT;
ALTER TABLE downloads DROP CONSTRAINT downloads_pkey, ADD PRIMARY KEY (info_hash, node_id);
CREATE INDEX downloads_node ON downloads (node_id);
