-- 0020: review. Who/when an annotation's state was last decided, a note for the reviewer, and the
-- indexes the review queue needs ("proposed annotations of this image", "images still to review").

ALTER TABLE annotations ADD COLUMN reviewed_at INTEGER;
ALTER TABLE annotations ADD COLUMN review_note TEXT;
ALTER TABLE images ADD COLUMN reviewed_at INTEGER;

-- Annotations written at 0010 that are already accepted or rejected were decided at their last update.
UPDATE annotations SET reviewed_at = updated_at WHERE state IN ('accepted', 'rejected');
-- Images marked done at 0010 count as reviewed when all their annotations are.
UPDATE images SET reviewed_at = (SELECT max(a.updated_at) FROM annotations a WHERE a.image_id = images.id)
  WHERE status = 'done';
UPDATE images SET reviewed_at = added_at WHERE status = 'done' AND reviewed_at IS NULL;

CREATE INDEX annotations_state_image ON annotations (state, image_id);
CREATE INDEX annotations_category ON annotations (category_id);
CREATE INDEX images_status ON images (status, id);
