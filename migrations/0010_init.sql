-- 0010: the first Maskroom project schema. Never edit once shipped; add 0020_… instead.
-- Timestamps are integer milliseconds since the Unix epoch, written by the application.

-- One row: the project's settings.
CREATE TABLE project (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  -- The image root: relative to the project folder when inside it, otherwise absolute.
  root             TEXT    NOT NULL,
  active_model_id  TEXT,
  -- Version of the project format the data was written for (the app's, not SQLite's).
  format_version   INTEGER NOT NULL,
  created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE images (
  id           INTEGER PRIMARY KEY,
  -- POSIX path relative to the project root; never absolute, never '..'.
  path         TEXT    NOT NULL UNIQUE,
  -- sha256 of the file content (hex); NULL only for images known from an imported COCO file but not on disk.
  sha256       TEXT,
  -- Size as displayed, i.e. after applying the EXIF orientation. Masks live in this frame.
  width        INTEGER NOT NULL CHECK (width > 0),
  height       INTEGER NOT NULL CHECK (height > 0),
  orientation  INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),
  status       TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'done', 'skipped')),
  missing      INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),
  file_size    INTEGER,
  mtime_ms     INTEGER,
  added_at     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX images_sha256 ON images (sha256) WHERE sha256 IS NOT NULL;

CREATE TABLE categories (
  id             INTEGER PRIMARY KEY,
  name           TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),
  color          TEXT    NOT NULL,
  supercategory  TEXT,
  -- Keyboard number 0-9 that picks this category, unique when set.
  hotkey         INTEGER UNIQUE CHECK (hotkey BETWEEN 0 AND 9)
) STRICT;

CREATE TABLE annotations (
  id             INTEGER PRIMARY KEY,
  image_id       INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  category_id    INTEGER NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
  -- COCO compressed RLE counts string and its size; NULL counts for box-only annotations.
  rle_counts     TEXT,
  rle_height     INTEGER NOT NULL,
  rle_width      INTEGER NOT NULL,
  bbox_x         REAL    NOT NULL,
  bbox_y         REAL    NOT NULL,
  bbox_w         REAL    NOT NULL,
  bbox_h         REAL    NOT NULL,
  area           REAL    NOT NULL,
  score          REAL,
  predicted_iou  REAL,
  source         TEXT    NOT NULL CHECK (source IN ('manual', 'auto', 'imported')),
  state          TEXT    NOT NULL DEFAULT 'accepted' CHECK (state IN ('proposed', 'accepted', 'rejected')),
  iscrowd        INTEGER NOT NULL DEFAULT 0 CHECK (iscrowd IN (0, 1)),
  -- A bbox-only annotation (e.g. imported from a detection dataset), waiting for box-to-mask conversion.
  box_only       INTEGER NOT NULL DEFAULT 0 CHECK (box_only IN (0, 1)),
  -- The box annotation this mask was made from.
  from_box_id    INTEGER REFERENCES annotations (id) ON DELETE SET NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  CHECK ((box_only = 1) = (rle_counts IS NULL))
) STRICT;
CREATE INDEX annotations_image ON annotations (image_id);
CREATE INDEX annotations_from_box ON annotations (from_box_id) WHERE from_box_id IS NOT NULL;

-- Edit history: one step per user action, holding the before/after rows it changed, so that undo and
-- redo survive a restart. Steps with undone = 1 form the redo stack.
CREATE TABLE history_steps (
  id          INTEGER PRIMARY KEY,
  label       TEXT    NOT NULL,
  undone      INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
  created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE history_changes (
  step_id     INTEGER NOT NULL REFERENCES history_steps (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  table_name  TEXT    NOT NULL CHECK (table_name IN ('annotations', 'categories', 'images')),
  row_id      INTEGER NOT NULL,
  -- JSON of the whole row before/after; NULL when the row did not exist.
  before_json TEXT,
  after_json  TEXT,
  PRIMARY KEY (step_id, seq)
) STRICT;

CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  params_json  TEXT    NOT NULL DEFAULT '{}',
  state        TEXT    NOT NULL DEFAULT 'queued'
                       CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
  done         INTEGER NOT NULL DEFAULT 0,
  total        INTEGER NOT NULL DEFAULT 0,
  error        TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
-- Items a job has finished, so a resumed job skips them.
CREATE TABLE job_items (
  job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  image_id     INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  state        TEXT    NOT NULL CHECK (state IN ('done', 'failed')),
  error        TEXT,
  finished_at  INTEGER NOT NULL,
  PRIMARY KEY (job_id, image_id)
) STRICT, WITHOUT ROWID;
